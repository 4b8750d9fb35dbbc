-- version 6: operations. Requests filed by any process (deepslate cancel / retry / send) for the
-- engine that holds the store, and the indexes retention needs to find and delete old trees.
-- AUTOINCREMENT: a request id is never given out twice, so a waiter never reads another's outcome.
CREATE TABLE requests (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    verb       TEXT NOT NULL,           -- cancel retry send
    name       TEXT NOT NULL,           -- the isolate's name
    args       TEXT NOT NULL,           -- JSON object (send: method, route, body_b64; retry: failed_at)
    created_at REAL NOT NULL,
    done_at    REAL,                    -- NULL while pending
    outcome    TEXT                     -- JSON object {"ok": bool, "message": str, ...} once applied
);
-- the engine's poll reads only the pending ones
CREATE INDEX requests_pending ON requests (id) WHERE done_at IS NULL;
CREATE INDEX requests_done ON requests (done_at) WHERE done_at IS NOT NULL;
-- when an isolate last ended (done, failed, cancelled); NULL while it may run. Retention finds
-- old finished trees by it. Its own column, written only by the commit that ends an isolate:
-- an index over status or updated_at, which every step rewrites, cost each step's UPDATE
-- 10-15% more on the database thread (measured with a partial one), even for running rows
ALTER TABLE isolates ADD COLUMN ended_at REAL;
UPDATE isolates SET ended_at = updated_at WHERE status IN ('done', 'failed', 'cancelled');
CREATE INDEX isolates_ended ON isolates (ended_at) WHERE ended_at IS NOT NULL;
-- is a program still used by some isolate? (written once per isolate: program_hash never changes)
CREATE INDEX isolates_program ON isolates (program_hash);
