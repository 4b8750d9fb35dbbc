-- deepslate SQLite schema, version 1. Append new numbered files; never edit an applied one.
CREATE TABLE programs (
    hash        BLOB PRIMARY KEY,
    body        BLOB NOT NULL,          -- deepslate.compiler.serial.program_to_bytes
    created_at  REAL NOT NULL
);

CREATE TABLE isolates (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    flow         TEXT NOT NULL,
    program_hash BLOB NOT NULL,
    parent_id    INTEGER,
    status       TEXT NOT NULL,         -- running sleeping waiting done failed cancelled
    snapshot     BLOB,                  -- the latest one only: storage does not grow with steps
    wake_at      REAL,
    waiting_on   TEXT NOT NULL DEFAULT '',
    result       BLOB,
    error        TEXT,
    steps        INTEGER NOT NULL DEFAULT 0,
    children     INTEGER NOT NULL DEFAULT 0,
    log_seq      INTEGER NOT NULL DEFAULT 0,
    owner        TEXT,                  -- node holding the lease
    epoch        INTEGER NOT NULL DEFAULT 0,
    created_at   REAL NOT NULL,
    updated_at   REAL NOT NULL
);
CREATE INDEX isolates_status ON isolates (status);
CREATE INDEX isolates_parent ON isolates (parent_id);

-- bounded: the runtime keeps the last N lines per isolate
CREATE TABLE isolate_log (
    isolate_id INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    line       TEXT NOT NULL,
    PRIMARY KEY (isolate_id, seq)
) WITHOUT ROWID;

-- http_listen deliveries, committed before the 202; consumed in a step's transaction
CREATE TABLE inbox (
    id         INTEGER PRIMARY KEY,
    isolate_id INTEGER NOT NULL,
    method     TEXT NOT NULL,
    route      TEXT NOT NULL,
    body       BLOB NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX inbox_route ON inbox (isolate_id, method, route, id);

CREATE TABLE queues (
    id       INTEGER PRIMARY KEY,
    capacity INTEGER NOT NULL,          -- 0: unbounded
    elem     TEXT NOT NULL
);
CREATE TABLE queue_items (
    queue_id INTEGER NOT NULL,
    seq      INTEGER NOT NULL,          -- global put order
    value    BLOB NOT NULL,             -- encode_value copy
    PRIMARY KEY (queue_id, seq)
) WITHOUT ROWID;

CREATE TABLE locks (
    id     INTEGER PRIMARY KEY,
    holder INTEGER                      -- isolate id, NULL when free
);

CREATE TABLE waitgroups (
    id    INTEGER PRIMARY KEY,
    count INTEGER NOT NULL
);

CREATE TABLE nodes (
    node_id     TEXT PRIMARY KEY,
    epoch       INTEGER NOT NULL,
    lease_until REAL NOT NULL
);

