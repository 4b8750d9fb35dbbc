"""Purging finished isolates, on SQLite and on PostgreSQL: whole trees only, everything they own
with them, ids never given out again, batches, dry runs, and the indexes that keep it cheap."""
import json

import pytest

from deepslate.store import Commit, IsolateRow, SQLiteStore
from deepslate.store.base import InboxPut, IsolateNew, LockNew, ProgramPut, QueueNew, QueuePut, WgNew
from deepslate.store.sqlite import _PURGE_ROOTS

NODE = "local"
ALL = ("done", "failed", "cancelled")
OLD, NOW = 1000.0, 5000.0           # when old and recent rows ended; purges cut at 3000
CUT = 3000.0
USED, ONLY_OLD = b"u" * 32, b"o" * 32   # a program live isolates use; one only purged ones use


class Trees:
    """Builds isolate trees through the store's own commits, then dates them."""

    def __init__(self, store, sut):
        self.s, self.sut = store, sut
        self.epoch = store.claim(NODE)
        self.next = 1

    def commit(self, *commits: Commit) -> None:
        self.s.commit_batch(NODE, self.epoch, list(commits))

    def root(self, name: str, program: bytes = USED, ops=()) -> int:
        iid, self.next = self.next, self.next + 1
        row = IsolateRow(id=iid, name=name, flow="f", program_hash=program, snapshot=b"snap")
        self.commit(Commit(iid, "running", b"snap", 0, create=row,
                           ops=[ProgramPut(program, b"body-" + program[:1]), *ops]))
        return iid

    def child(self, parent: int, root: int, n: int, detached: bool = False, program: bytes = USED) -> int:
        iid, self.next = self.next, self.next + 1
        name = self.s.get_isolate_by_id(parent).name + f"/{n}"
        row = IsolateRow(id=iid, name=name, flow="f", program_hash=program, parent_id=parent, root_id=root,
                         snapshot=b"snap", detached=detached)
        self.commit(Commit(parent, "running", b"snap", 1, children=n, ops=[IsolateNew(row)]))
        return iid

    def end(self, iid: int, status: str, keep_snapshot: bool = False) -> None:
        self.commit(Commit(iid, status, None, 2, result=b"r" if status == "done" else None,
                           error=json.dumps({"message": "x"}) if status == "failed" else None,
                           log=["one", "two"], log_seq=2, keep_snapshot=keep_snapshot))

    def date(self, when: float, *ids: int) -> None:
        """Make rows that ended have ended at ``when``."""
        self.sut.sql(f"UPDATE isolates SET updated_at = ?, ended_at = ? WHERE ended_at IS NOT NULL "
                     f"AND id IN ({', '.join('?' * len(ids))})", (when, when, *ids))


def count(sut, table: str, where: str = "true", args=()) -> int:
    return sut.sql(f"SELECT count(*) FROM {table} WHERE {where}", args)[0][0]


@pytest.fixture
def store(any_store):
    return any_store.open()


@pytest.fixture
def trees(store, any_store):
    return Trees(store, any_store)


def test_a_finished_tree_goes_whole_with_all_it_owns(store, trees, any_store):
    keep = trees.root("keep")
    trees.end(keep, "done")
    # failed keeping its snapshot: its tree may still be retried, so its objects were kept
    a = trees.root("a", program=ONLY_OLD, ops=[QueueNew(1, 0, "int", 2), LockNew(1, 2), WgNew(1, 2)])
    trees.commit(Commit(a, "running", b"snap", 1, ops=[QueuePut(1, 1, b"item")]))
    kid = trees.child(a, a, 1, program=ONLY_OLD)
    trees.commit(Commit(a, "", None, 0, row=False, ops=[InboxPut(a, "POST", "/x", b"body", key="delivery-1")]))
    trees.end(kid, "done")
    trees.end(a, "failed", keep_snapshot=True)
    trees.date(OLD, a, kid)
    trees.date(NOW, keep)
    for table in ("queues", "queue_items", "locks", "waitgroups", "inbox", "inbox_seen"):
        assert count(any_store, table) == 1, table

    report = {}
    assert store.purge(ALL, CUT, 100, report=report) == 2
    assert report["roots"] == [a] and report["trees"] == 1
    assert (report["log_lines"], report["queues"], report["locks"], report["waitgroups"], report["inbox"],
            report["inbox_seen"], report["programs"]) == (4, 1, 1, 1, 1, 1, 1)
    assert store.get_isolate("a") is None and store.get_isolate("a/1") is None
    for table in ("queues", "queue_items", "locks", "waitgroups", "inbox", "inbox_seen"):
        assert count(any_store, table) == 0, table
    assert count(any_store, "isolate_log", "isolate_id IN (?, ?)", (a, kid)) == 0
    assert count(any_store, "isolate_log", "isolate_id = ?", (keep,)) == 2
    # the program only the purged tree used is gone; the one still used stays
    assert store.get_program(ONLY_OLD) is None and store.get_program(USED) is not None
    # no id is given out again (idempotency keys are made of isolate ids), though the
    # largest ones were deleted
    shared = store.load_shared()
    assert kid > a > keep and shared.next_ids["isolate"] == kid + 1 and shared.next_ids["queue"] == 2
    assert shared.next_ids["lock"] == 2 and shared.next_ids["wg"] == 2 and shared.next_ids["seq"] == 2
    assert store.purge(ALL, CUT, 100) == 0


def test_a_child_never_vanishes_under_a_tree_that_still_runs(store, trees):
    running = trees.root("running")
    done_kid = trees.child(running, running, 1)
    trees.end(done_kid, "done")                     # its root runs on
    parent = trees.root("parent")
    sleeper = trees.child(parent, parent, 1, detached=True)
    trees.end(parent, "done")                       # ended, but its detached child sleeps on
    trees.date(OLD, running, done_kid, parent, sleeper)
    assert store.purge(ALL, CUT, 100) == 0
    assert {r.name for r in store.list_isolates()} == {"running", "running/1", "parent", "parent/1"}
    trees.end(sleeper, "cancelled")
    trees.date(OLD, sleeper)
    assert store.purge(ALL, CUT, 100) == 2         # the tree is finished now: both go
    assert {r.name for r in store.list_isolates()} == {"running", "running/1"}


def test_only_the_statuses_and_ages_asked_for(store, trees):
    ids = {}
    for name, status in (("d", "done"), ("f", "failed"), ("c", "cancelled"), ("young", "done")):
        ids[name] = trees.root(name)
        trees.end(ids[name], status)
    trees.date(OLD, ids["d"], ids["f"], ids["c"])
    trees.date(NOW, ids["young"])
    # a tree with a failed child of a done root is not all "done"
    mixed = trees.root("mixed")
    kid = trees.child(mixed, mixed, 1)
    trees.end(kid, "failed")
    trees.end(mixed, "done")
    trees.date(OLD, mixed, kid)
    assert store.purge(("done",), CUT, 100) == 1
    assert {r.name for r in store.list_isolates()} == {"f", "c", "young", "mixed", "mixed/1"}
    assert store.purge("failed,done", CUT, 100) == 3      # a comma-separated text works too
    assert {r.name for r in store.list_isolates()} == {"c", "young"}
    assert store.purge(ALL, NOW, 100) == 1                 # before NOW, not at it
    assert store.purge(ALL, NOW + 1, 100) == 1
    assert store.list_isolates() == []


def test_batches_and_dry_runs(store, trees, any_store):
    roots = [trees.root(f"r{i}") for i in range(5)]
    for r in roots:
        trees.end(r, "done")
    trees.date(OLD, *roots)
    report = {}
    assert store.purge(ALL, CUT, 1 << 62, dry_run=True, report=report) == 5
    assert report["trees"] == 5 and report["log_lines"] == 10
    assert len(store.list_isolates()) == 5 and count(any_store, "isolate_log") == 10    # nothing removed
    assert [store.purge(ALL, CUT, 2) for _ in range(4)] == [2, 2, 1, 0]
    assert store.list_isolates() == []


def test_answered_requests_are_purged_with_age(store, any_store):
    first = store.file_request("cancel", "a", "{}")
    second = store.file_request("cancel", "b", "{}")
    pending = store.file_request("cancel", "c", "{}")
    store.finish_request(first, json.dumps({"ok": True, "message": "cancelled"}))
    store.finish_request(second, json.dumps({"ok": True, "message": "cancelled"}))
    any_store.sql("UPDATE requests SET done_at = ? WHERE id = ?", (OLD, first))
    report = {}
    assert store.purge(ALL, CUT, 100, report=report) == 0 and report["requests"] == 1
    assert store.get_request(first) is None
    assert store.get_request(second).done_at is not None and store.get_request(pending).done_at is None
    # a request id is never given out twice, even after the largest was deleted
    any_store.sql("DELETE FROM requests")
    assert store.file_request("cancel", "d", "{}") == pending + 1


def test_bad_arguments_are_refused_by_name(store):
    with pytest.raises(ValueError, match="statuses to purge must be some of done, failed, cancelled, not 'running'"):
        store.purge(("done", "running"), CUT, 10)
    with pytest.raises(ValueError, match="not none"):
        store.purge((), CUT, 10)
    with pytest.raises(ValueError, match="purge limit must be a positive int, not 0"):
        store.purge(ALL, CUT, 0)


def test_old_trees_are_found_through_the_index_of_when_they_ended(tmp_path):
    """On SQLite the roots are found through an index of ``ended_at``, a column no step writes:
    an index over status or updated_at would cost every step's UPDATE a look at it."""
    store = SQLiteStore(str(tmp_path / "s.db"))
    try:
        plan = store.db.execute("EXPLAIN QUERY PLAN SELECT " + _PURGE_ROOTS.format(marks="?").partition(" SELECT ")[2],
                                (CUT, "done", "done", CUT, 5)).fetchall()
        assert any("SEARCH r USING INDEX isolates_ended (ended_at<?)" in row[3] for row in plan), plan
        index = store.db.execute("SELECT sql FROM sqlite_master WHERE name = 'isolates_ended'").fetchone()[0]
        assert index.endswith("(ended_at) WHERE ended_at IS NOT NULL")
    finally:
        store.close()


def test_when_an_isolate_ended_is_written_by_its_end_alone(store, trees, any_store):
    a = trees.root("a")
    ended = lambda: any_store.sql("SELECT ended_at FROM isolates WHERE id = ?", (a,))[0][0]  # noqa: E731
    trees.commit(Commit(a, "sleeping", b"snap", 1, wake_at=1.0))
    assert ended() is None
    trees.end(a, "failed", keep_snapshot=True)
    assert ended() == store.get_isolate("a").updated_at
    assert store.adopt_failed(NODE, trees.epoch, a, "running")          # a retry: it may run again
    assert ended() is None
    trees.date(OLD, a)
    assert store.purge(ALL, CUT, 10) == 0


def test_every_shape_of_commit_that_ends_an_isolate_writes_when(store, trees, any_store):
    # a bare step, a batch of several isolates, and a spawn that ends in its first step: each
    # is written its own way on PostgreSQL
    a, b, c = trees.root("a"), trees.root("b"), trees.root("c")
    trees.commit(Commit(a, "done", None, 1, result=b"r"))
    trees.commit(Commit(b, "cancelled", None, 1), Commit(c, "sleeping", b"snap", 1, wake_at=1.0))
    row = IsolateRow(id=9, name="quick", flow="f", program_hash=USED, snapshot=b"snap")
    trees.commit(Commit(9, "done", None, 1, result=b"r", create=row))
    ended = dict(any_store.sql("SELECT name, ended_at FROM isolates"))
    assert ended["a"] == store.get_isolate("a").updated_at and ended["b"] == store.get_isolate("b").updated_at
    assert ended["quick"] == store.get_isolate("quick").updated_at and ended["c"] is None
    trees.date(OLD, a, b, 9)
    assert store.purge(ALL, CUT, 10) == 3 and [r.name for r in store.list_isolates()] == ["c"]
