-- version 2: what the SQLite schema gained at its versions 6 and 7 (operations, the inspector).

-- requests filed by any process (deepslate cancel / retry / send) for the engine that holds the
-- store. An identity is never given out twice, so a waiter never reads another's outcome.
CREATE TABLE requests (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    verb       TEXT NOT NULL,               -- cancel retry send
    name       TEXT NOT NULL,               -- the isolate's name
    args       TEXT NOT NULL,               -- JSON object (send: method, route, body_b64; retry: failed_at)
    created_at DOUBLE PRECISION NOT NULL,
    done_at    DOUBLE PRECISION,            -- NULL while pending
    outcome    TEXT                         -- JSON object {"ok": bool, "message": str, ...} once applied
);
-- the engine's poll reads only the pending ones
CREATE INDEX requests_pending ON requests (id) WHERE done_at IS NULL;
CREATE INDEX requests_done ON requests (done_at) WHERE done_at IS NOT NULL;

-- when an isolate last ended (done, failed, cancelled); NULL while it may run. Retention finds
-- old finished trees by it; written only by the commit that ends an isolate.
ALTER TABLE isolates ADD COLUMN ended_at DOUBLE PRECISION;
UPDATE isolates SET ended_at = updated_at WHERE status IN ('done', 'failed', 'cancelled');
CREATE INDEX isolates_ended ON isolates (ended_at) WHERE ended_at IS NOT NULL;
-- is a program still used by some isolate? (program_hash never changes)
CREATE INDEX isolates_program ON isolates (program_hash);

-- the inspector's isolate list, most recently updated first: one covering index serves a page
-- under every filter and its keyset cursor (updated_at, id) from the index alone
CREATE INDEX isolates_recent ON isolates (updated_at, id, status, flow, name);
