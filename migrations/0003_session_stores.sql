-- The stores follow the journal from their own threads: each session records how far behind the
-- journal each store was when it ended, and the receive clock's anchoring and steps.
ALTER TABLE sessions ADD COLUMN stores TEXT NOT NULL DEFAULT '[]';  -- JSON: per store {store, frames, bytes, seconds, caughtUp, sealed, errors, lastError}
ALTER TABLE sessions ADD COLUMN clock TEXT NOT NULL DEFAULT '{}';   -- JSON: {offsetMs (wall − receive clock at the anchor), steps: [{atMs, stepMs}]}
