-- deepslate PostgreSQL schema, version 1: what the SQLite schema holds at its version 5, in
-- PostgreSQL's types. Append new numbered files; never edit an applied one. The tables live in
-- the store's own schema (PostgresStore's ``schema``, "deepslate" by default), found through
-- each connection's search_path.

-- a random id per store, so idempotency keys from two deployments never collide; also the
-- highest queue/lock/wait-group/item ids of deleted trees (freed_*), never handed out again
CREATE TABLE store_info (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO store_info VALUES ('store_id', replace(gen_random_uuid()::text, '-', ''));

CREATE TABLE programs (
    hash        BYTEA PRIMARY KEY,
    body        BYTEA NOT NULL,             -- deepslate.compiler.serial.program_to_bytes
    created_at  DOUBLE PRECISION NOT NULL
);

-- fillfactor: room on each page, so a step that leaves the indexed columns alone is a HOT
-- update (no index entry written)
CREATE TABLE isolates (
    id           BIGINT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    flow         TEXT NOT NULL,
    program_hash BYTEA NOT NULL,
    parent_id    BIGINT,
    root_id      BIGINT,                    -- the spawned isolate at the top of its create_task tree
    status       TEXT NOT NULL,             -- running sleeping waiting done failed cancelled
    snapshot     BYTEA,                     -- the latest one only: storage does not grow with steps
    wake_at      DOUBLE PRECISION,
    waiting_on   TEXT NOT NULL DEFAULT '',
    result       BYTEA,
    error        TEXT,
    steps        BIGINT NOT NULL DEFAULT 0,
    children     BIGINT NOT NULL DEFAULT 0,
    log_seq      BIGINT NOT NULL DEFAULT 0,
    owner        TEXT,                      -- node holding the lease
    epoch        BIGINT NOT NULL DEFAULT 0, -- that node's lease epoch: every write is fenced on both
    created_at   DOUBLE PRECISION NOT NULL,
    updated_at   DOUBLE PRECISION NOT NULL,
    detached     BOOLEAN NOT NULL DEFAULT false,  -- a create_task child that outlives its parent
    args_hash    BYTEA                      -- digest of a spawn's arguments (runtime/isolate.py)
) WITH (fillfactor = 80);
CREATE INDEX isolates_status ON isolates (status);
CREATE INDEX isolates_parent ON isolates (parent_id);
-- by status too: ending a tree of many finished isolates looks up only its live ones
CREATE INDEX isolates_root ON isolates (root_id, status);
-- what a node runs: its own unfinished isolates (a node claiming others' will look here too)
CREATE INDEX isolates_owner ON isolates (owner, epoch) WHERE status IN ('running', 'sleeping', 'waiting');

-- bounded: the store keeps the last log_keep lines per isolate. Bytes (UTF-8, lone surrogates
-- kept): a flow may print any str, and a TEXT column holds neither NUL nor a surrogate.
CREATE TABLE isolate_log (
    isolate_id BIGINT NOT NULL,
    seq        BIGINT NOT NULL,
    line       BYTEA NOT NULL,
    PRIMARY KEY (isolate_id, seq)
);

-- http_listen deliveries, committed before the 202; consumed in a step's transaction. A message
-- sent to any isolate of a tree may be taken by whichever isolate of it listens on its route.
CREATE TABLE inbox (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    isolate_id BIGINT NOT NULL,
    root_id    BIGINT,
    method     TEXT NOT NULL,
    route      TEXT NOT NULL,
    body       BYTEA NOT NULL,
    headers    TEXT,                        -- JSON object of the request headers kept with the body
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX inbox_tree ON inbox (root_id, method, route, id);
-- delivery ids already accepted, so a repeat lands once; kept after the message is consumed,
-- deleted with the tree or once older than the ingress's dedupe window
CREATE TABLE inbox_seen (
    root_id    BIGINT NOT NULL,
    key        TEXT NOT NULL,
    inbox_id   BIGINT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (root_id, key)
);
CREATE INDEX inbox_seen_age ON inbox_seen (created_at);

-- queues, locks and wait groups belong to the isolate tree that made them (root_id) and are
-- deleted once that tree has ended
CREATE TABLE queues (
    id       BIGINT PRIMARY KEY,
    capacity BIGINT NOT NULL,               -- 0: unbounded
    elem     TEXT NOT NULL,
    root_id  BIGINT
);
CREATE INDEX queues_root ON queues (root_id);
CREATE TABLE queue_items (
    queue_id BIGINT NOT NULL,
    seq      BIGINT NOT NULL,               -- global put order
    value    BYTEA NOT NULL,                -- encode_value copy
    PRIMARY KEY (queue_id, seq)
);
CREATE TABLE locks (
    id      BIGINT PRIMARY KEY,
    holder  BIGINT,                         -- isolate id, NULL when free
    root_id BIGINT
);
CREATE INDEX locks_root ON locks (root_id);
CREATE TABLE waitgroups (
    id      BIGINT PRIMARY KEY,
    count   BIGINT NOT NULL,
    root_id BIGINT
);
CREATE INDEX waitgroups_root ON waitgroups (root_id);

-- one row per node that ever ran on this store. lease_until is the server's clock (seconds
-- since the epoch), so nodes on several machines compare leases against one clock; 0 means
-- fenced out: another node took over this node's isolates.
CREATE TABLE nodes (
    node_id     TEXT PRIMARY KEY,
    epoch       BIGINT NOT NULL,
    lease_until DOUBLE PRECISION NOT NULL
);
-- lease epochs, unique across the store's nodes
CREATE SEQUENCE node_epochs;

-- A batch is sent in one go (BEGIN, its statements, COMMIT) and its checks fail it inside the
-- server: a check that does not hold raises, and the whole transaction is rolled back. The
-- store reads the SQLSTATE: DSL01 the node's lease or an isolate's ownership is lost, DSR01 a
-- value of one commit is refused (store/postgres.py).
CREATE FUNCTION deepslate_refuse(code TEXT, message TEXT) RETURNS BIGINT LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message;
END
$$;
