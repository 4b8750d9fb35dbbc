-- version 4: HTTP delivery and child lifetimes.
-- A message sent to any isolate of a tree may be taken by whichever isolate of that tree
-- listens on its (method, route): the inbox is looked up by tree.
ALTER TABLE inbox ADD COLUMN root_id INTEGER;
UPDATE inbox SET root_id = (SELECT coalesce(i.root_id, i.id) FROM isolates i WHERE i.id = inbox.isolate_id);
-- JSON object of the request headers kept with the body (content type and the like)
ALTER TABLE inbox ADD COLUMN headers TEXT;
CREATE INDEX inbox_tree ON inbox (root_id, method, route, id);
-- delivery ids already accepted (webhook-id, X-GitHub-Delivery ...), so a repeat lands once;
-- kept after the message is consumed, deleted with the tree
CREATE TABLE inbox_seen (
    root_id    INTEGER NOT NULL,
    key        TEXT NOT NULL,
    inbox_id   INTEGER NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (root_id, key)
) WITHOUT ROWID;
-- ids older than the ingress's dedupe_seconds are let go, so a tree that listens for ever
-- does not keep every delivery id it was sent
CREATE INDEX inbox_seen_age ON inbox_seen (created_at);
-- 1: a create_task child that outlives its parent; 0 (the default): cancelled when it ends
ALTER TABLE isolates ADD COLUMN detached INTEGER NOT NULL DEFAULT 0;
