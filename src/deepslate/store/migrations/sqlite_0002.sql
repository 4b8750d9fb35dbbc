-- version 2: a random id per store, so idempotency keys from two deployments never collide
CREATE TABLE store_info (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO store_info VALUES ('store_id', lower(hex(randomblob(16))));
