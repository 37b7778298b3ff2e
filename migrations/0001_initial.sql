-- The public schema that backtests query (README "Data model"). Times are integers, ns since the
-- epoch (exch_ts NULL when the feed gave no time); `day` is the KRX trading date, TEXT YYYY-MM-DD
-- (KST); prices and quantities are INTEGER (원, 주). src_seq = the frame's number among the frames
-- received on its channel that day (from 0), src_idx = position inside a packed frame: together with
-- the channel they tie every row to its raw frame, and a second capture of the same stream numbers
-- its frames the same.
--
-- Trades, the hot table (up to ~20 M rows a day), live in two tables behind the `trades` view:
-- `trades_live` takes the days being captured and has no index, because maintaining a (symbol,
-- time) index while ~2,600 symbols insert at once costs 10–20× in write speed (measured here:
-- ~0.5 M rows/s without, 25–40 k rows/s with, even with a 64 MB page cache: each commit rewrites
-- ~1,000 scattered index pages into the WAL). Sealing a day (SqliteSink.sealDay, at session end)
-- moves its rows into the indexed `trades_sealed`, sorted by (symbol, exch_ts), as kdb+ sorts its
-- day at end of day. Per-day partial indexes were measured too: with 100 of them inserts fall to
-- 39 k rows/s.
CREATE TABLE trades_live (
  day      TEXT    NOT NULL,
  market   TEXT    NOT NULL,          -- 'kospi' | 'kosdaq'
  symbol   TEXT    NOT NULL,          -- short code (isuSrtCd), e.g. '005930'
  exch_ts  INTEGER,                   -- trdTm on the trading day, ns since epoch; NULL if trdTm was 0
  price    INTEGER NOT NULL,
  qty      INTEGER NOT NULL,
  recv_ns  INTEGER NOT NULL,
  src_seq  INTEGER NOT NULL,
  src_idx  INTEGER NOT NULL
);
CREATE TABLE trades_sealed (
  day      TEXT    NOT NULL,
  market   TEXT    NOT NULL,
  symbol   TEXT    NOT NULL,
  exch_ts  INTEGER,
  price    INTEGER NOT NULL,
  qty      INTEGER NOT NULL,
  recv_ns  INTEGER NOT NULL,
  src_seq  INTEGER NOT NULL,
  src_idx  INTEGER NOT NULL
);
-- "One symbol, one day, in time order" and "one day, in receive order" on sealed days.
CREATE INDEX trades_sealed_symbol ON trades_sealed (day, symbol, exch_ts);
CREATE INDEX trades_sealed_recv ON trades_sealed (day, recv_ns);
-- What backtests query. SQLite merges the two arms (MERGE (UNION ALL)) using the indexes above.
CREATE VIEW trades AS
  SELECT day, market, symbol, exch_ts, price, qty, recv_ns, src_seq, src_idx FROM trades_sealed
  UNION ALL
  SELECT day, market, symbol, exch_ts, price, qty, recv_ns, src_seq, src_idx FROM trades_live;

-- Full-market REST snapshots: one row per symbol per snapshot (multiquote lists + ohlclists).
CREATE TABLE snapshots (
  day        TEXT    NOT NULL,
  taken_ns   INTEGER NOT NULL,        -- receive time of the snapshot (its second half)
  kind       TEXT    NOT NULL,        -- 'seed' | 'periodic' | 'close'
  market     TEXT    NOT NULL,
  symbol     TEXT    NOT NULL,
  price      INTEGER NOT NULL,
  open       INTEGER NOT NULL,        -- 0 when untraded
  high       INTEGER NOT NULL,
  low        INTEGER NOT NULL,
  acc_volume INTEGER NOT NULL,
  acc_value  INTEGER NOT NULL,
  src_seq    INTEGER NOT NULL
);
-- Appended in time order, so this index is cheap to maintain during capture.
CREATE INDEX snapshots_day ON snapshots (day, taken_ns);

-- LS BM_ sector investor flows (cumulative per sector and investor group).
CREATE TABLE sector_flows (
  day      TEXT    NOT NULL,
  recv_ns  INTEGER NOT NULL,
  exch_ts  INTEGER,                   -- tjjtime on the trading day, ns since epoch
  upcode   TEXT    NOT NULL,
  tjjcode  TEXT    NOT NULL,
  tjjtime  TEXT    NOT NULL,          -- HHMMSScc as sent
  msvolume INTEGER NOT NULL,
  mdvolume INTEGER NOT NULL,
  msvol    INTEGER NOT NULL,
  p_msvol  INTEGER NOT NULL,
  msvalue  INTEGER NOT NULL,
  mdvalue  INTEGER NOT NULL,
  msval    INTEGER NOT NULL,
  p_msval  INTEGER NOT NULL,
  src_seq  INTEGER NOT NULL
);
CREATE INDEX sector_flows_day ON sector_flows (day, recv_ns);

-- The symbol universe of a day (stock list). Keyed so that a list fetched twice stays one set.
CREATE TABLE symbols (
  day    TEXT NOT NULL,
  market TEXT NOT NULL,
  symbol TEXT NOT NULL,
  isin   TEXT NOT NULL,
  name   TEXT NOT NULL,
  abbr   TEXT NOT NULL,
  PRIMARY KEY (day, market, symbol)
) WITHOUT ROWID;

-- Frames (or parts of frames) that failed to decode: kept with the reason, never dropped.
CREATE TABLE quarantine (
  day     TEXT    NOT NULL,
  recv_ns INTEGER NOT NULL,
  source  TEXT    NOT NULL,           -- channel name, e.g. 'koscom.trades.kospi'
  raw     TEXT    NOT NULL,
  reason  TEXT    NOT NULL,
  src_seq INTEGER NOT NULL
);
CREATE INDEX quarantine_day ON quarantine (day, recv_ns);

-- Session signals carried in the Koscom trade stream's trdTm (31000000 정규장마감, …).
CREATE TABLE signals (
  day     TEXT    NOT NULL,
  recv_ns INTEGER NOT NULL,
  market  TEXT    NOT NULL,
  symbol  TEXT    NOT NULL,
  code    INTEGER NOT NULL,
  src_seq INTEGER NOT NULL
);
CREATE INDEX signals_day ON signals (day, recv_ns);

-- One row per collector session: what was captured and how complete it is.
CREATE TABLE sessions (
  id             INTEGER PRIMARY KEY,
  day            TEXT    NOT NULL,
  collector      TEXT    NOT NULL DEFAULT '',
  started_ns     INTEGER NOT NULL,
  ended_ns       INTEGER,
  status         TEXT    NOT NULL,    -- e.g. 'running' | 'complete' | 'partial' | 'failed'
  counts         TEXT    NOT NULL DEFAULT '{}',  -- JSON: per channel {frames, bytes, rows, quarantined}
  reconnects     INTEGER NOT NULL DEFAULT 0,
  downtime_ms    INTEGER NOT NULL DEFAULT 0,
  gaps           TEXT    NOT NULL DEFAULT '[]',  -- JSON: gaps found
  reconciliation TEXT    NOT NULL DEFAULT '{}'   -- JSON: streamed vs snapshot volume per symbol
);
CREATE INDEX sessions_day ON sessions (day);

-- How far each sink has stored each journal, written in the same transaction as the rows.
CREATE TABLE checkpoints (
  sink    TEXT    NOT NULL,           -- 'sqlite'
  journal TEXT    NOT NULL,           -- journal file name relative to <data-dir>/journal
  offset  INTEGER NOT NULL,           -- end byte offset covered
  seq     INTEGER NOT NULL,           -- records covered (next seq)
  PRIMARY KEY (sink, journal)
) WITHOUT ROWID;

-- Days whose trades have been moved into trades_sealed (SqliteSink.sealDay).
CREATE TABLE sealed_days (
  day       TEXT    PRIMARY KEY,
  sealed_ns INTEGER NOT NULL
) WITHOUT ROWID;
