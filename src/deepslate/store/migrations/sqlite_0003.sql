-- version 3: queues, locks and wait groups belong to the isolate tree (a spawned isolate and
-- its create_task descendants) that made them; they are deleted once that tree has ended, so
-- storage does not grow with every finished flow that used them.
ALTER TABLE isolates ADD COLUMN root_id INTEGER;
WITH RECURSIVE tree (id, root) AS (
    SELECT id, id FROM isolates WHERE parent_id IS NULL
    UNION ALL
    SELECT i.id, t.root FROM isolates i JOIN tree t ON i.parent_id = t.id
)
UPDATE isolates SET root_id = (SELECT root FROM tree WHERE tree.id = isolates.id);
-- by status too: ending a tree of many finished isolates looks up only its live ones
CREATE INDEX isolates_root ON isolates (root_id, status);
-- rows made before version 3 keep a NULL root: nobody can tell their tree, so they stay
ALTER TABLE queues ADD COLUMN root_id INTEGER;
ALTER TABLE locks ADD COLUMN root_id INTEGER;
ALTER TABLE waitgroups ADD COLUMN root_id INTEGER;
CREATE INDEX queues_root ON queues (root_id);
CREATE INDEX locks_root ON locks (root_id);
CREATE INDEX waitgroups_root ON waitgroups (root_id);
