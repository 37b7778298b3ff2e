-- koscom.md §7 leaves open whether trdVol is the trade's quantity or the symbol's cumulative
-- volume. `trd_vol` keeps it as sent; `qty` is the trade's own quantity derived from it
-- (storage/trade-quantity.ts), and `trade_modes` records how each day and market was read. Block
-- trades (trdTm 51/61/71000000, 대량매매) are trades with their `kind`, not signals.
-- Rows stored before this migration have trd_vol NULL: their qty was trdVol as sent, and the view
-- shows it so (no rewrite of a large table).
ALTER TABLE trades_live ADD COLUMN trd_vol INTEGER;
ALTER TABLE trades_live ADD COLUMN kind TEXT NOT NULL DEFAULT 'regular';  -- 'regular' | 'block_pre' | 'block_intraday' | 'block_post'
ALTER TABLE trades_sealed ADD COLUMN trd_vol INTEGER;
ALTER TABLE trades_sealed ADD COLUMN kind TEXT NOT NULL DEFAULT 'regular';
DROP VIEW trades;
CREATE VIEW trades AS
  SELECT day, market, symbol, exch_ts, price, qty, recv_ns, src_seq, src_idx, COALESCE(trd_vol, qty) AS trd_vol, kind FROM trades_sealed
  UNION ALL
  SELECT day, market, symbol, exch_ts, price, qty, recv_ns, src_seq, src_idx, COALESCE(trd_vol, qty) AS trd_vol, kind FROM trades_live;

-- How trdVol was read, per day and market (symbol ''), and per symbol where the market's reading
-- did not fit it (a cumulative market in which the symbol's value did not rise: read per-trade).
CREATE TABLE trade_modes (
  day     TEXT    NOT NULL,
  market  TEXT    NOT NULL,
  symbol  TEXT    NOT NULL,           -- '' = the whole market
  mode    TEXT    NOT NULL,           -- 'per-trade' | 'cumulative'
  basis   TEXT    NOT NULL,           -- what decided it
  src_seq INTEGER NOT NULL,           -- the frame that decided it; -1 when none did (the default)
  PRIMARY KEY (day, market, symbol)
) WITHOUT ROWID;
