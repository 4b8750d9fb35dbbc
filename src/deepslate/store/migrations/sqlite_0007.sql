-- version 7: the inspector's isolate list, most recently updated first. One covering index serves
-- a page under every filter (status, flow, a substring of the name) and its keyset cursor
-- (updated_at, id) without reading the rows: 100 000 isolates, any page in under 1 ms, a name
-- search that matches nothing in 18 ms. Its price: a step's commit updates one more B-tree entry
-- (commit_batch of 100 random isolates of a 100 000-isolate store, synchronous=FULL: 8 855 -> 7 456
-- commits/s). Rejected: an index per filter ((status, updated_at), (flow, updated_at)): three
-- entries per step for what the covering one already answers in under 1 ms.
CREATE INDEX isolates_recent ON isolates (updated_at, id, status, flow, name);
