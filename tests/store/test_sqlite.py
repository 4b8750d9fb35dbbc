"""The SQLite store against real files: schema, the step transaction, fencing, bad files."""
import os
import sqlite3
import subprocess
import sys
import threading

import pytest

from deepslate.store.base import (CommitRejected, InboxTake, IsolateNew, LockNew, LockSet, ProgramPut, QueueNew,
                                  QueuePut, QueueTake, WgAdd, WgNew)
from deepslate.store import (Commit, IsolateRow, LeaseLost, NotADeepslateStore, SQLiteStore, StoreError,
                             StoreFull, StoreReadOnly)
from deepslate.store.migrations import migrations

NODE = "local"


@pytest.fixture
def opened():
    """``opened(path, **kw)`` is ``SQLiteStore(path, **kw)``, closed at teardown also when the test
    failed before closing it (closing a closed store does nothing)."""
    stores = []

    def open_store(*args, **kw):
        s = SQLiteStore(*args, **kw)
        stores.append(s)
        return s
    yield open_store
    for s in stores:
        s.close()


def spawn_commit(id, name, snapshot=b"snap", ops=()):
    row = IsolateRow(id=id, name=name, flow="f", program_hash=b"h" * 32, snapshot=snapshot)
    return Commit(isolate_id=id, status="running", snapshot=snapshot, steps=0, create=row,
                  ops=[ProgramPut(b"h" * 32, b"program-body"), *ops])


def test_fresh_file_gets_schema_and_wal(store):
    assert store.schema_version() == len(migrations("sqlite"))
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 2   # FULL


def test_reopen_is_idempotent(tmp_path, opened):
    p = str(tmp_path / "s.db")
    SQLiteStore(p).close()
    s = opened(p)
    assert s.schema_version() == len(migrations("sqlite"))
    s.close()


def test_store_id_is_random_per_store_and_stable(tmp_path, opened):
    a, b = opened(str(tmp_path / "a.db")), opened(str(tmp_path / "b.db"))
    ida, idb = a.store_id(), b.store_id()
    assert len(ida) == 32 and ida != idb
    a.close()
    b.close()
    assert opened(str(tmp_path / "a.db")).store_id() == ida


def old_store(path, version):
    """A connection to a new file holding the schema as version ``version`` left it."""
    from deepslate.store.sqlite import _statements
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA application_id = {0x64736C74}")
    db.execute("CREATE TABLE deepslate_schema (version INTEGER NOT NULL)")
    db.execute("INSERT INTO deepslate_schema VALUES (?)", (version,))
    for script in migrations("sqlite")[:version]:
        for stmt in _statements(script):
            db.execute(stmt)
    return db


def test_version_1_store_is_upgraded(tmp_path, opened):
    p = str(tmp_path / "s.db")
    db = old_store(p, 1)                  # a store as version 1 left it
    db.commit()
    db.close()
    s = opened(p)
    assert s.schema_version() == len(migrations("sqlite")) >= 2
    assert len(s.store_id()) == 32
    s.close()


def test_concurrent_migration_runners(tmp_path, opened):
    # many rounds: switching a new file to WAL meets another opener now and then (a few rounds
    # in a hundred), and SQLite answers that BUSY without waiting
    for round_ in range(40):
        p = str(tmp_path / f"s{round_}.db")
        errors, stores = [], []

        def open_it():
            try:
                stores.append(opened(p))
            except Exception as e:   # pragma: no cover - the assertion below reports it
                errors.append(e)
        ts = [threading.Thread(target=open_it) for _ in range(5)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert not errors, f"round {round_}: {errors[0]!r}"
        assert {s.schema_version() for s in stores} == {len(migrations("sqlite"))}
        for s in stores:
            s.close()


def test_newer_schema_is_refused(tmp_path, opened):
    p = str(tmp_path / "s.db")
    SQLiteStore(p).close()
    db = sqlite3.connect(p)
    db.execute("UPDATE deepslate_schema SET version = 99")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="schema version 99, newer"):
        opened(p)


def test_step_commit_roundtrip(store):
    epoch = store.claim(NODE)
    store.commit_batch(NODE, epoch, [spawn_commit(1, "a")])
    store.commit_batch(NODE, epoch, [Commit(1, "sleeping", b"snap2", 1, wake_at=123.0, waiting_on="sleep",
                                            log=["hello", "world"], log_seq=2)])
    r = store.get_isolate("a")
    assert (r.status, r.snapshot, r.steps, r.wake_at, r.owner, r.epoch) == ("sleeping", b"snap2", 1, 123.0, NODE, epoch)
    assert store.read_log(1) == ["hello", "world"]
    assert store.get_program(b"h" * 32) == b"program-body"
    assert [x.name for x in store.load_unfinished(NODE, epoch)] == ["a"]


def test_log_lines_come_back_unchanged_whatever_str_they_are(store):
    # a lone surrogate (bytes decoded with surrogateescape, or a literal) is a str all the same
    lines = ["caf\udcff", "\ud800", "astral \U0001f600", "nul \x00 inside", "plain"]
    epoch = store.claim(NODE)
    store.commit_batch(NODE, epoch, [spawn_commit(1, "a")])
    store.commit_batch(NODE, epoch, [Commit(1, "running", b"snap2", 1, log=lines, log_seq=len(lines))])
    assert store.read_log(1) == lines


def test_shared_ops_commit_with_the_step(store):
    epoch = store.claim(NODE)
    store.commit_batch(NODE, epoch, [spawn_commit(1, "a", ops=[QueueNew(1, 0, "int", 1), LockNew(1, 1),
                                                              WgNew(1, 1)])])
    store.commit_batch(NODE, epoch, [Commit(1, "running", b"s", 1, ops=[
        QueuePut(1, 1, b"x"), QueuePut(1, 2, b"y"), LockSet(1, 1), WgAdd(1, 3)])])
    store.commit_batch(NODE, epoch, [Commit(1, "running", b"s", 2, ops=[QueueTake(1, 1)])])
    sh = store.load_shared()
    assert sh.queues == {1: (0, "int", [(2, b"y")])}
    assert sh.locks == {1: 1} and sh.waitgroups == {1: 3}
    assert sh.next_ids == {"isolate": 2, "queue": 2, "lock": 2, "wg": 2, "seq": 3}
    assert sh.roots == {("queue", 1): 1, ("lock", 1): 1, ("wg", 1): 1}
    # the step that ends the tree's last isolate deletes them in its transaction
    end = Commit(1, "done", None, 3, result=b"r")
    store.commit_batch(NODE, epoch, [end])
    assert end.collected == 1
    sh = store.load_shared()
    assert sh.queues == {} and sh.locks == {} and sh.waitgroups == {} and sh.roots == {}


def test_batch_is_all_or_nothing(store):
    epoch = store.claim(NODE)
    store.commit_batch(NODE, epoch, [spawn_commit(1, "a")])
    bad = Commit(1, "running", b"s", 2, ops=[QueueTake(7, 7)])   # no such item
    with pytest.raises(CommitRejected, match="taken but not stored"):
        store.commit_batch(NODE, epoch, [spawn_commit(2, "b"), Commit(1, "running", b"new", 1), bad])
    assert store.get_isolate("b") is None
    assert store.get_isolate("a").snapshot == b"snap"


def test_fencing_a_second_opener_wins(tmp_path, opened):
    p = str(tmp_path / "s.db")
    first = opened(p)
    e1 = first.claim(NODE)
    first.commit_batch(NODE, e1, [spawn_commit(1, "a")])
    second = opened(p)
    e2 = second.claim(NODE)
    assert e2 > e1
    with pytest.raises(LeaseLost, match="another process took over"):
        first.commit_batch(NODE, e1, [Commit(1, "running", b"stale", 5)])
    with pytest.raises(LeaseLost, match="lost its lease"):
        first.commit_batch(NODE, e1, [spawn_commit(2, "new")])     # inserts are fenced too
    with pytest.raises(LeaseLost):
        first.heartbeat(NODE, e1)
    with pytest.raises(LeaseLost, match="isolate 1 is not owned"):
        first.mark_failed(NODE, e1, 1, "stale failure")
    assert second.get_isolate("a").status != "failed"
    second.heartbeat(NODE, e2)
    assert second.get_isolate("a").snapshot == b"snap"
    first.close()
    second.close()


def test_log_is_bounded(tmp_path, opened):
    s = opened(str(tmp_path / "s.db"), log_keep=5)
    epoch = s.claim(NODE)
    s.commit_batch(NODE, epoch, [spawn_commit(1, "a")])
    for i in range(1, 21):
        s.commit_batch(NODE, epoch, [Commit(1, "running", b"s", i, log=[f"line {i}"], log_seq=i)])
    assert s.read_log(1) == [f"line {i}" for i in range(16, 21)]
    assert s.db.execute("SELECT count(*) FROM isolate_log").fetchone()[0] == 5
    s.close()


def test_storage_does_not_grow_with_steps(store):
    epoch = store.claim(NODE)
    store.commit_batch(NODE, epoch, [spawn_commit(1, "a")])
    sizes = []
    for n in range(1, 301):
        store.commit_batch(NODE, epoch, [Commit(1, "running", b"x" * 100, n)])
        if n in (100, 300):
            sizes.append(store.storage_bytes(1))
    assert sizes[0] == sizes[1]


def test_inbox_in_arrival_order(store):
    epoch = store.claim(NODE)
    store.commit_batch(NODE, epoch, [spawn_commit(1, "a")])
    m1 = store.inbox_put(1, "POST", "/n", b"1").mid
    store.inbox_put(1, "POST", "/n", b"2")
    assert store.inbox_peek(1, "POST", "/n") == (m1, b"1")
    store.commit_batch(NODE, epoch, [Commit(1, "running", b"s", 1, ops=[InboxTake(m1)])])
    assert store.inbox_peek(1, "POST", "/n")[1] == b"2"
    assert store.inbox_peek(1, "GET", "/n") is None


def test_listing(store):
    epoch = store.claim(NODE)
    store.commit_batch(NODE, epoch, [spawn_commit(i, f"n{i}") for i in range(1, 6)])
    store.commit_batch(NODE, epoch, [Commit(2, "done", None, 1, result=b"r")])
    assert [r.name for r in store.list_isolates(status="done")] == ["n2"]
    assert [r.name for r in store.list_isolates(q="n", limit=2, offset=1)] == ["n2", "n3"]
    assert store.count_isolates() == {"running": 4, "done": 1}
    assert store.load_unfinished(NODE, epoch)[0].name == "n1"


# -- bad files --------------------------------------------------------------

def test_not_a_database(tmp_path, opened):
    p = tmp_path / "notes.txt"
    p.write_bytes(b"these are my notes, not a database\n" * 100)
    with pytest.raises(NotADeepslateStore, match="notes.txt.*not a deepslate store"):
        opened(str(p))


def test_foreign_sqlite_database(tmp_path, opened):
    p = str(tmp_path / "other.db")
    db = sqlite3.connect(p)
    db.execute("CREATE TABLE customers (id INTEGER)")
    db.commit()
    db.close()
    with pytest.raises(NotADeepslateStore, match="SQLite database but not a deepslate store.*customers"):
        opened(p)
    db = sqlite3.connect(p)   # untouched
    assert [r[0] for r in db.execute("SELECT name FROM sqlite_master")] == ["customers"]
    db.close()


def test_missing_directory(tmp_path, opened):
    with pytest.raises(StoreError, match="directory .*nope.* does not exist"):
        opened(str(tmp_path / "nope" / "s.db"))


def test_read_only_file_by_permissions(tmp_path):
    p = tmp_path / "s.db"
    SQLiteStore(str(p)).close()
    p.chmod(0o444)
    code = ("from deepslate.store import SQLiteStore, StoreReadOnly\n"
            "try:\n    SQLiteStore(%r)\nexcept StoreReadOnly as e:\n    print('refused:', e)\n" % str(p))
    cmd = [sys.executable, "-c", code]
    if os.geteuid() == 0:
        # root ignores file modes through CAP_DAC_OVERRIDE: open the store without it
        cmd = ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
               "--bounding-set=-dac_override,-dac_read_search"] + cmd
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "refused:" in r.stdout and "read-only" in r.stdout, r.stdout


def test_read_only_open_mode(tmp_path, opened):
    p = str(tmp_path / "s.db")
    s = opened(p)
    e = s.claim(NODE)
    s.commit_batch(NODE, e, [spawn_commit(1, "a")])
    s.close()
    ro = opened(p, readonly=True)
    assert ro.get_isolate("a").name == "a"
    with pytest.raises(StoreReadOnly, match="read-only"):
        ro.claim(NODE)
    ro.close()


def test_disk_full_loses_nothing(tmp_path, opened):
    p = str(tmp_path / "s.db")
    s = opened(p)
    pages = s.db.execute("PRAGMA page_count").fetchone()[0]
    s.close()
    s = opened(p, max_page_count=pages + 3)
    e = s.claim(NODE)
    s.commit_batch(NODE, e, [spawn_commit(1, "a")])
    with pytest.raises(StoreFull, match="is full"):
        for i in range(2, 1000):
            s.commit_batch(NODE, e, [spawn_commit(i, f"n{i}", snapshot=b"z" * 4000)])
    written = s.count_isolates()["running"]
    assert s.get_isolate("a").snapshot == b"snap"
    s.close()
    s = opened(p)      # no limit: everything committed is there and writes work again
    e = s.claim(NODE)
    assert s.count_isolates()["running"] == written
    s.commit_batch(NODE, e, [Commit(1, "done", None, 1, result=b"ok")])
    s.close()


def test_bad_synchronous_value(tmp_path, opened):
    with pytest.raises(ValueError, match="synchronous must be"):
        opened(str(tmp_path / "s.db"), synchronous="sometimes")


def test_failed_migration_does_not_bump_version(tmp_path, monkeypatch, opened):
    from deepslate.store import sqlite as sq
    p = str(tmp_path / "s.db")
    SQLiteStore(p).close()
    real = migrations("sqlite")
    monkeypatch.setattr(sq._migrations, "migrations",
                        lambda backend: real + ["CREATE TABLE extra (x INTEGER);\nCREATE TABLE broken (;"])
    with pytest.raises(StoreError, match="syntax error"):
        opened(p)
    monkeypatch.undo()
    s = opened(p)
    assert s.schema_version() == len(real)
    assert s.db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'extra'").fetchone()[0] == 0
    s.close()


def test_unknown_backend_has_no_migrations():
    assert migrations("nosuchbackend") == []


def test_version_2_store_gets_each_isolates_tree_root(tmp_path, opened):
    p = str(tmp_path / "s.db")
    db = old_store(p, 2)                  # a store as version 2 left it, with a tree of isolates
    for id, parent in ((1, None), (2, 1), (3, 2), (4, None), (5, 4)):
        db.execute("INSERT INTO isolates (id, name, flow, program_hash, parent_id, status, created_at, updated_at) "
                   "VALUES (?, ?, 'f', x'00', ?, 'running', 0, 0)", (id, f"i{id}", parent))
    db.execute("INSERT INTO queues (id, capacity, elem) VALUES (1, 0, 'int')")
    db.commit()
    db.close()
    s = opened(p)
    assert s.schema_version() == len(migrations("sqlite"))
    roots = dict(s.db.execute("SELECT id, root_id FROM isolates").fetchall())
    assert roots == {1: 1, 2: 1, 3: 1, 4: 4, 5: 4}
    assert s.load_shared().roots == {}      # an older queue's tree is unknown: it is kept
    s.close()


def test_version_3_store_files_its_inbox_by_tree(tmp_path, opened):
    p = str(tmp_path / "s.db")
    db = old_store(p, 3)                  # a store as version 3 left it, with messages waiting
    for id, parent, root in ((1, None, 1), (2, 1, 1), (3, None, None)):
        db.execute("INSERT INTO isolates (id, name, flow, program_hash, parent_id, root_id, status, created_at, "
                   "updated_at) VALUES (?, ?, 'f', x'00', ?, ?, 'running', 0, 0)", (id, f"i{id}", parent, root))
    for iid in (2, 3):
        db.execute("INSERT INTO inbox (isolate_id, method, route, body, created_at) VALUES (?, 'POST', '/x', x'01', 0)",
                   (iid,))
    db.commit()
    db.close()
    s = opened(p)
    assert s.schema_version() == len(migrations("sqlite"))
    assert dict(s.db.execute("SELECT isolate_id, root_id FROM inbox").fetchall()) == {2: 1, 3: 3}
    assert s.db.execute("SELECT count(*) FROM isolates WHERE detached = 0").fetchone()[0] == 3
    s.close()


def test_ending_a_wide_tree_seeks_only_its_live_isolates(store):
    # every terminal commit asks whether its tree still has a live isolate; a tree of many
    # finished children must not be walked each time (that would be quadratic in its width)
    from deepslate.store.sqlite import _TREE_LIVE
    plan = [row[3] for row in store.db.execute("EXPLAIN QUERY PLAN " + _TREE_LIVE, (1,)).fetchall()]
    seeks = [p for p in plan if "isolates" in p]
    assert len(seeks) == 2 and all("(root_id=? AND status=?)" in p for p in seeks), plan


def test_ids_of_deleted_objects_are_never_handed_out_again(tmp_path, opened):
    p = str(tmp_path / "s.db")
    s = opened(p)
    epoch = s.claim(NODE)
    s.commit_batch(NODE, epoch, [spawn_commit(1, "a", ops=[QueueNew(7, 0, "int", 1), LockNew(3, 1),
                                                          WgNew(4, 1)])])
    s.commit_batch(NODE, epoch, [Commit(1, "running", b"s", 1, ops=[QueuePut(7, 11, b"x")])])
    end = Commit(1, "done", None, 2, result=b"r")
    s.commit_batch(NODE, epoch, [end])
    assert end.collected == 1
    s.close()
    s = opened(p)                      # a restart computes the next ids from what is stored
    nxt = s.load_shared().next_ids
    assert (nxt["queue"], nxt["lock"], nxt["wg"], nxt["seq"]) == (8, 4, 5, 12)
    s.close()


def test_adopt_failed_takes_a_retryable_isolate_once(tmp_path, opened):
    # a failed isolate keeps the epoch it failed under; after a restart (a new epoch) retry and
    # cancel adopt it in one conditional write, so of two concurrent callers one wins
    p = str(tmp_path / "s.db")
    first = opened(p)
    e1 = first.claim(NODE)
    first.commit_batch(NODE, e1, [spawn_commit(1, "a"), spawn_commit(2, "b")])
    first.commit_batch(NODE, e1, [Commit(1, "failed", None, 1, error="{}", keep_snapshot=True),
                                  Commit(2, "failed", None, 1, error="{}")])
    first.close()
    s = opened(p)
    e2 = s.claim(NODE)
    assert s.get_isolate("a").epoch == e1 and s.get_isolate("a").snapshot == b"snap"
    assert s.adopt_failed(NODE, e2, 1, "running") is True
    assert s.adopt_failed(NODE, e2, 1, "running") is False          # the second retry
    row = s.get_isolate("a")
    assert (row.status, row.owner, row.epoch) == ("running", NODE, e2)
    s.commit_batch(NODE, e2, [Commit(1, "running", b"next", 2)])   # fenced writes now match
    assert s.adopt_failed(NODE, e2, 2, "running") is False          # no snapshot: nothing to retry
    assert s.adopt_failed(NODE, e2, 99, "cancelled") is False
    s.close()


# -- set-based batches: one UPDATE for many isolates' steps -----------------------------------

def _rows(s):
    return s.db.execute("SELECT id, status, snapshot, wake_at, waiting_on, result, error, steps, children, "
                        "log_seq FROM isolates ORDER BY id").fetchall()


def _mixed_steps(n):
    """Steps of n isolates in every shape a commit takes: new snapshot, kept snapshot, ends."""
    out = []
    for i in range(1, n + 1):
        if i % 5 == 0:
            out.append(Commit(i, "failed", None, 3, error=f'{{"message": "e{i}"}}', keep_snapshot=True))
        elif i % 7 == 0:
            out.append(Commit(i, "done", None, 4, result=b"r%d" % i, log=[f"end {i}"], log_seq=1))
        else:
            out.append(Commit(i, "sleeping", b"s%d" % i, 2, wake_at=1000.5 + i, waiting_on="sleep",
                              children=i % 3))
    return out


def test_a_batch_of_many_isolates_lands_as_row_by_row_commits_would(tmp_path, opened):
    n = 1203                                    # three set-based statements for the snapshot kind
    bulk, single = opened(str(tmp_path / "bulk.db")), opened(str(tmp_path / "single.db"))
    for s in (bulk, single):
        e = s.claim(NODE)
        s.commit_batch(NODE, e, [spawn_commit(i, f"n{i}") for i in range(1, n + 1)])
    updates = []
    bulk.db.set_trace_callback(lambda sql: updates.append(sql) if sql.startswith("UPDATE isolates") else None)
    bulk.commit_batch(NODE, 1, _mixed_steps(n))
    bulk.db.set_trace_callback(None)
    for c in _mixed_steps(n):
        single.commit_batch(NODE, 1, [c])
    assert _rows(bulk) == _rows(single)
    assert bulk.read_log(7) == ["end 7"]
    # 1203 rows: 963 with a snapshot (2 statements of up to 500), 240 keeping theirs (1), and
    # when the 377 that ended did so (1)
    assert len(updates) == 4, len(updates)


def test_a_batch_with_one_isolate_owned_elsewhere_writes_nothing_and_names_it(store):
    epoch = store.claim(NODE)
    store.commit_batch(NODE, epoch, [spawn_commit(i, f"n{i}") for i in range(1, 41)])
    store.db.execute("UPDATE isolates SET epoch = epoch + 1 WHERE id = 37")      # taken over by another node
    with pytest.raises(LeaseLost, match="isolate 37 is not owned"):
        store.commit_batch(NODE, epoch, [Commit(i, "running", b"new", 1) for i in range(1, 41)])
    assert {r.snapshot for r in store.list_isolates()} == {b"snap"}


def test_two_steps_of_one_isolate_in_one_batch_land_in_order(store):
    # a cancel can end an isolate whose last step is still waiting in the writer's buffer
    epoch = store.claim(NODE)
    store.commit_batch(NODE, epoch, [spawn_commit(1, "a"), spawn_commit(2, "b")])
    store.commit_batch(NODE, epoch, [Commit(1, "running", b"step", 1), Commit(2, "running", b"b1", 1),
                                     Commit(1, "cancelled", None, 1, keep_snapshot=True)])
    a, b = store.get_isolate("a"), store.get_isolate("b")
    assert (a.status, a.snapshot, b.status, b.snapshot) == ("cancelled", b"step", "running", b"b1")


def test_trees_ending_in_one_batch_each_collect_their_objects(store):
    epoch = store.claim(NODE)
    store.commit_batch(NODE, epoch, [
        spawn_commit(1, "owns-queue", ops=[QueueNew(1, 0, "int", 1)]),
        spawn_commit(2, "owns-lock", ops=[LockNew(2, 2)]),
        spawn_commit(3, "owns-nothing"),
        spawn_commit(4, "parent", ops=[WgNew(4, 4)])])
    child = IsolateRow(id=5, name="parent/1", flow="f", program_hash=b"h" * 32, parent_id=4, root_id=4,
                       snapshot=b"c")
    store.commit_batch(NODE, epoch, [spawn_commit(6, "more"), Commit(4, "running", b"p", 1, ops=[
        IsolateNew(child)], children=1)])
    ends = [Commit(i, "done", None, 2, result=b"r") for i in (1, 2, 3, 4)]
    store.commit_batch(NODE, epoch, ends)
    # the parent's child still runs: its tree keeps the wait group
    assert [e.collected for e in ends] == [1, 2, None, None]
    sh = store.load_shared()
    assert sh.queues == {} and sh.locks == {} and sh.waitgroups == {4: 0}
    last = Commit(5, "done", None, 1, result=b"r")
    store.commit_batch(NODE, epoch, [last, Commit(6, "running", b"m", 1)])
    assert last.collected == 4 and store.load_shared().waitgroups == {}


def test_a_tree_whose_parent_and_child_end_in_one_batch_is_collected_once(store):
    epoch = store.claim(NODE)
    store.commit_batch(NODE, epoch, [spawn_commit(1, "parent", ops=[LockNew(1, 1)])])
    child = IsolateRow(id=2, name="parent/1", flow="f", program_hash=b"h" * 32, parent_id=1, root_id=1,
                       snapshot=b"c")
    store.commit_batch(NODE, epoch, [Commit(1, "running", b"p", 1, ops=[IsolateNew(child)], children=1)])
    ends = [Commit(1, "done", None, 2, result=b"r"), Commit(2, "done", None, 1, result=b"r")]
    store.commit_batch(NODE, epoch, ends)
    assert sorted(e.collected or 0 for e in ends) == [0, 1] and store.load_shared().locks == {}


def test_orphans_are_the_attached_children_that_may_still_run_of_parents_ended_for_good(store):
    epoch = store.claim(NODE)
    parents = {1: "done", 2: "cancelled", 3: "failed-for-good", 4: "failed-kept", 5: "running"}
    store.commit_batch(NODE, epoch, [spawn_commit(i, f"p{i}") for i in parents])
    kids = []
    for p in parents:
        for k, (detached, status) in enumerate([(False, "running"), (True, "sleeping"), (False, "done"),
                                                (False, "failed-kept")], 1):
            kid = IsolateRow(id=10 * p + k, name=f"p{p}/{k}", flow="f", program_hash=b"h" * 32, parent_id=p,
                             root_id=p, snapshot=b"c", detached=detached)
            kids.append((kid, status))
    store.commit_batch(NODE, epoch, [Commit(p, "running", b"p", 1, ops=[IsolateNew(k) for k, _ in kids
                                                                         if k.parent_id == p], children=4)
                                     for p in parents])

    def end(i, status):
        if status == "failed-kept":
            return Commit(i, "failed", None, 2, error="{}", keep_snapshot=True)
        if status == "failed-for-good":
            return Commit(i, "failed", None, 2, error="{}")
        if status in ("running", "sleeping"):
            return Commit(i, status, b"s", 2)
        return Commit(i, status, None, 2, result=b"r")
    store.commit_batch(NODE, epoch, [end(k.id, st) for k, st in kids])
    store.commit_batch(NODE, epoch, [end(p, st) for p, st in parents.items() if st != "running"])
    assert store.get_isolate("p1/2").detached is True and store.get_isolate("p1/1").detached is False
    # running and failed-kept attached children of done, cancelled and failed-for-good parents
    assert [r.name for r in store.orphans()] == ["p1/1", "p1/4", "p2/1", "p2/4", "p3/1", "p3/4"]
    assert [r.name for r in store.orphans(2)] == ["p2/1", "p2/4"]
    assert store.orphans(4) == [] and store.orphans(5) == []


def test_version_4_store_gets_an_empty_argument_digest(tmp_path, opened):
    p = str(tmp_path / "s.db")
    db = old_store(p, 4)                  # a store as version 4 left it, with an isolate
    db.execute("INSERT INTO isolates (id, name, flow, program_hash, status, created_at, updated_at) "
               "VALUES (1, 'old', 'f', x'00', 'done', 0, 0)")
    db.commit()
    db.close()
    s = opened(p)
    assert s.schema_version() == len(migrations("sqlite")) >= 5
    assert s.get_isolate("old").args_hash is None        # unknown: a spawn of the same flow matches it
    epoch = s.claim(NODE)
    row = IsolateRow(id=2, name="new", flow="f", program_hash=b"h" * 32, snapshot=b"s", args_hash=b"d" * 16)
    s.commit_batch(NODE, epoch, [Commit(2, "running", b"s", 0, create=row)])
    assert s.get_isolate("new").args_hash == b"d" * 16
