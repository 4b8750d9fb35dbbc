-- version 5: spawn conflicts. A digest of a spawned isolate's arguments (runtime/isolate.py
-- args_digest), so that spawning an existing name with other arguments is refused. Rows from
-- before have NULL: their arguments are unknown, and a spawn of the same flow matches them.
ALTER TABLE isolates ADD COLUMN args_hash BLOB;
