-- The watchlist detail feed (Koscom /ws per-symbol subscriptions, koscom.md §6): a chosen set of
-- symbols with the tick10 price state and the quote10 10-level order book, one row per push (or
-- per snapshot answering a subscribe). Times as in 0001: ns since the epoch, exch_ts NULL when the
-- frame gave no time. A NULL value column = the frame did not carry that field.

-- tick10 (= the 14-field REST price preset, §5.4).
CREATE TABLE quotes (
  day        TEXT    NOT NULL,
  recv_ns    INTEGER NOT NULL,
  exch_ts    INTEGER,                 -- trdTm on the trading day
  market     TEXT    NOT NULL,
  symbol     TEXT    NOT NULL,
  price      INTEGER NOT NULL,        -- trdPrc, the last trade price
  open       INTEGER,
  high       INTEGER,
  low        INTEGER,
  trdvol     INTEGER,                 -- quantity of the last trade
  acc_volume INTEGER,
  acc_value  INTEGER,
  ask1       INTEGER,                 -- askordPrc_1: sent only when a trade and a best-quote change coincide
  bid1       INTEGER,
  src_seq    INTEGER NOT NULL
);
CREATE INDEX quotes_day ON quotes (day, symbol, recv_ns);

-- quote10 (= the order book, §5.5). The ten levels are plain columns, not JSON: a backtest reads
-- `ask1_price`, `bid3_qty` directly (and SQLite, Arrow and pandas keep them as typed integers);
-- the depth is fixed at 10 by the vendor, so the schema never has to grow. Every book field is
-- optional on the wire (v2 examples omit askStep4BstordRqty), hence nullable.
CREATE TABLE order_books (
  day        TEXT    NOT NULL,
  recv_ns    INTEGER NOT NULL,
  market     TEXT    NOT NULL,
  symbol     TEXT    NOT NULL,
  ask1_price INTEGER, ask2_price INTEGER, ask3_price INTEGER, ask4_price INTEGER, ask5_price INTEGER, ask6_price INTEGER, ask7_price INTEGER, ask8_price INTEGER, ask9_price INTEGER, ask10_price INTEGER,
  bid1_price INTEGER, bid2_price INTEGER, bid3_price INTEGER, bid4_price INTEGER, bid5_price INTEGER, bid6_price INTEGER, bid7_price INTEGER, bid8_price INTEGER, bid9_price INTEGER, bid10_price INTEGER,
  ask1_qty INTEGER, ask2_qty INTEGER, ask3_qty INTEGER, ask4_qty INTEGER, ask5_qty INTEGER, ask6_qty INTEGER, ask7_qty INTEGER, ask8_qty INTEGER, ask9_qty INTEGER, ask10_qty INTEGER,
  bid1_qty INTEGER, bid2_qty INTEGER, bid3_qty INTEGER, bid4_qty INTEGER, bid5_qty INTEGER, bid6_qty INTEGER, bid7_qty INTEGER, bid8_qty INTEGER, bid9_qty INTEGER, bid10_qty INTEGER,
  ask_total             INTEGER,      -- askordTotRqty
  bid_total             INTEGER,      -- bidordTotRqty
  after_hours_ask_total INTEGER,      -- pstoffhrAskTotOrdRqty (장후 시간외)
  after_hours_bid_total INTEGER,      -- pstoffhrBidTotOrdRqty
  expected_price        INTEGER,      -- deemTrdPrc (예상체결가)
  expected_qty          INTEGER,      -- deemTrdvol
  expected_acc_qty      INTEGER,      -- deemAccTrdvol
  acc_volume            INTEGER,      -- accTrdvol
  src_seq    INTEGER NOT NULL
);
CREATE INDEX order_books_day ON order_books (day, symbol, recv_ns);
