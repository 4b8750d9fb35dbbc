"""What every store does, on SQLite and on PostgreSQL alike: the step transaction, fencing, the
shared objects and their collection, the inbox, the reads. What only one backend has (files,
WAL, URLs, pools) is in test_sqlite.py and test_postgres.py."""
import pytest

from deepslate.store import Commit, IsolateRow, LeaseLost, StoreError
from deepslate.store.base import (CommitRejected, InboxPut, InboxTake, IsolateNew, LockNew, LockSet, ProgramPut,
                                  QueueNew, QueuePut, QueueTake, WgAdd, WgNew)
from deepslate.store.migrations import migrations
from stores import StoreUnderTest

NODE = "local"


def spawn_commit(id, name, snapshot=b"snap", ops=()):
    row = IsolateRow(id=id, name=name, flow="f", program_hash=b"h" * 32, snapshot=snapshot)
    return Commit(isolate_id=id, status="running", snapshot=snapshot, steps=0, create=row,
                  ops=[ProgramPut(b"h" * 32, b"program-body"), *ops])


@pytest.fixture
def store(any_store):
    return any_store.open()


def backend(s):
    return "sqlite" if type(s).__name__ == "SQLiteStore" else "postgres"


def test_a_new_store_gets_the_whole_schema_and_reopening_changes_nothing(any_store):
    s = any_store.open()
    assert s.schema_version() == len(migrations(backend(s))) >= 1
    sid = s.store_id()
    s.close()
    again = any_store.open()
    assert again.schema_version() == len(migrations(backend(again)))
    assert again.store_id() == sid


def test_store_id_is_random_per_store_and_stable(any_store, store_kind, tmp_path):
    other = StoreUnderTest(store_kind, tmp_path, "b")
    try:
        a, b = any_store.open(), other.open()
        ida, idb = a.store_id(), b.store_id()
        assert len(ida) == 32 and ida != idb
        a.close()
        assert any_store.open().store_id() == ida
    finally:
        other.close()


def test_newer_schema_is_refused(any_store):
    any_store.open().close()
    any_store.sql("UPDATE deepslate_schema SET version = 99")
    with pytest.raises(StoreError, match="schema version 99, newer"):
        any_store.open()


def test_step_commit_roundtrip(store):
    epoch = store.claim(NODE)
    store.commit_batch(NODE, epoch, [spawn_commit(1, "a")])
    store.commit_batch(NODE, epoch, [Commit(1, "sleeping", b"snap2", 1, wake_at=123.0, waiting_on="sleep",
                                            log=["hello", "world"], log_seq=2)])
    r = store.get_isolate("a")
    assert (r.status, r.snapshot, r.steps, r.wake_at, r.owner, r.epoch) == ("sleeping", b"snap2", 1, 123.0, NODE, epoch)
    assert (r.root_id, r.parent_id, r.detached, r.args_hash) == (1, None, False, None)
    assert store.get_isolate_by_id(1) == r
    assert store.read_log(1) == ["hello", "world"]
    assert store.get_program(b"h" * 32) == b"program-body"
    assert store.get_program(b"x" * 32) is None
    assert [x.name for x in store.load_unfinished(NODE, epoch)] == ["a"]
    assert store.load_unfinished(NODE, epoch + 1) == [] and store.load_unfinished("other", epoch) == []
    store.heartbeat(NODE, epoch)


def test_log_lines_come_back_unchanged_whatever_str_they_are(store):
    # a lone surrogate (bytes decoded with surrogateescape, or a literal) is a str all the same
    lines = ["caf\udcff", "\ud800", "astral \U0001f600", "nul \x00 inside", "plain"]
    epoch = store.claim(NODE)
    store.commit_batch(NODE, epoch, [spawn_commit(1, "a")])
    store.commit_batch(NODE, epoch, [Commit(1, "running", b"snap2", 1, log=lines, log_seq=len(lines))])
    assert store.read_log(1) == lines
    assert store.read_log(1, limit=2) == lines[-2:]


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


def test_objects_made_and_changed_in_one_step_apply_in_order(store):
    epoch = store.claim(NODE)
    store.commit_batch(NODE, epoch, [spawn_commit(1, "a", ops=[
        QueueNew(1, 2, "str", 1), QueuePut(1, 1, b"first"), LockNew(2, 1), LockSet(2, 1), LockSet(2, None),
        WgNew(3, 1), WgAdd(3, 2), WgAdd(3, -1)])])
    sh = store.load_shared()
    assert (sh.queues, sh.locks, sh.waitgroups) == ({1: (2, "str", [(1, b"first")])}, {2: None}, {3: 1})


def test_batch_is_all_or_nothing(store):
    epoch = store.claim(NODE)
    store.commit_batch(NODE, epoch, [spawn_commit(1, "a")])
    bad = Commit(1, "running", b"s", 2, ops=[QueueTake(7, 7)])   # no such item
    with pytest.raises(CommitRejected, match="taken but not stored"):
        store.commit_batch(NODE, epoch, [spawn_commit(2, "b"), Commit(1, "running", b"new", 1), bad])
    assert store.get_isolate("b") is None
    assert store.get_isolate("a").snapshot == b"snap"
    assert store.get_program(b"h" * 32) == b"program-body"


@pytest.mark.parametrize("bad", ["steps", "duplicate-name", "delta"])
def test_a_value_the_store_cannot_hold_is_refused_and_writes_nothing(store, bad):
    epoch = store.claim(NODE)
    store.commit_batch(NODE, epoch, [spawn_commit(1, "a", ops=[WgNew(1, 1)])])
    commit = {"steps": Commit(1, "running", b"new", 2**64),
              "duplicate-name": spawn_commit(2, "a"),
              "delta": Commit(1, "running", b"new", 1, ops=[WgAdd(1, 2**63)])}[bad]
    # SQLite's driver refuses an int past 64 bits itself (OverflowError, which the writer takes
    # as a refused value too); every other refusal is a CommitRejected
    with pytest.raises((CommitRejected, OverflowError)):
        store.commit_batch(NODE, epoch, [Commit(1, "sleeping", b"other", 1), commit])
    row = store.get_isolate("a")
    assert (row.id, row.status, row.snapshot) == (1, "running", b"snap")
    assert store.load_shared().waitgroups == {1: 0}
    store.commit_batch(NODE, epoch, [Commit(1, "sleeping", b"other", 1)])      # the store goes on


def test_fencing_a_second_opener_wins(any_store):
    first = any_store.open()
    e1 = first.claim(NODE)
    first.commit_batch(NODE, e1, [spawn_commit(1, "a")])
    second = any_store.open()
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
    assert second.load_unfinished(NODE, e2)[0].name == "a" and second.load_unfinished(NODE, e1) == []


def test_log_is_bounded(any_store):
    s = any_store.open(log_keep=5)
    epoch = s.claim(NODE)
    s.commit_batch(NODE, epoch, [spawn_commit(1, "a")])
    for i in range(1, 21):
        s.commit_batch(NODE, epoch, [Commit(1, "running", b"s", i, log=[f"line {i}"], log_seq=i)])
    assert s.read_log(1) == [f"line {i}" for i in range(16, 21)]
    assert any_store.sql("SELECT count(*) FROM isolate_log") == [(5,)]


def test_storage_does_not_grow_with_steps(store):
    epoch = store.claim(NODE)
    store.commit_batch(NODE, epoch, [spawn_commit(1, "a")])
    sizes = []
    for n in range(1, 301):
        store.commit_batch(NODE, epoch, [Commit(1, "running", b"x" * 100, n)])
        if n in (100, 300):
            sizes.append(store.storage_bytes(1))
    assert sizes[0] == sizes[1] > 100
    assert store.storage_bytes(99) == 0


def test_inbox_in_arrival_order(store):
    epoch = store.claim(NODE)
    store.commit_batch(NODE, epoch, [spawn_commit(1, "a")])
    m1 = store.inbox_put(1, "POST", "/n", b"1").mid
    m2 = store.inbox_put(1, "POST", "/n", b"2" * 300, headers='{"content-type": "text/plain"}').mid
    assert m2 > m1
    assert store.inbox_peek(1, "POST", "/n") == (m1, b"1")
    assert store.inbox_peek(1, "POST", "/n", skip=(m1,)) == (m2, b"2" * 300)
    listed = store.inbox_list(1)
    assert [(m.id, m.isolate, m.method, m.route, m.size, m.head) for m in listed] == [
        (m1, "a", "POST", "/n", 1, b"1"), (m2, "a", "POST", "/n", 300, b"2" * 256)]
    store.commit_batch(NODE, epoch, [Commit(1, "running", b"s", 1, ops=[InboxTake(m1)])])
    assert store.inbox_peek(1, "POST", "/n")[1] == b"2" * 300
    assert store.inbox_peek(1, "GET", "/n") is None


def test_inbox_delivery_ids_land_once_and_a_finished_tree_takes_nothing(store):
    epoch = store.claim(NODE)
    store.commit_batch(NODE, epoch, [spawn_commit(1, "a"), spawn_commit(2, "b")])
    first = store.inbox_put(1, "POST", "/n", b"x", key="delivery-1")
    assert (first.duplicate, first.gone) == (False, False)
    again = store.inbox_put(1, "POST", "/n", b"x", key="delivery-1")
    assert (again.mid, again.duplicate) == (first.mid, True)
    assert store.inbox_put(2, "POST", "/n", b"x", key="delivery-1").duplicate is False    # another tree
    # through a batch, as the engine files them: after the steps of the batch
    puts = [InboxPut(1, "POST", "/n", b"y", key="delivery-1"), InboxPut(2, "POST", "/m", b"z")]
    store.commit_batch(NODE, epoch, [Commit(2, "done", None, 1, result=b"r"),
                                     Commit(1, "", None, 0, ops=[puts[0]], row=False),
                                     Commit(2, "", None, 0, ops=[puts[1]], row=False)])
    assert (puts[0].mid, puts[0].duplicate) == (first.mid, True)
    assert (puts[1].mid, puts[1].gone) == (0, True)               # b ended in the same batch
    assert len(store.inbox_list(1)) == 1 and store.inbox_list(2) == []
    with pytest.raises(CommitRejected, match="no isolate with id 9"):
        store.inbox_put(9, "POST", "/n", b"x")


def test_listing(store):
    epoch = store.claim(NODE)
    store.commit_batch(NODE, epoch, [spawn_commit(i, f"n{i}") for i in range(1, 6)])
    store.commit_batch(NODE, epoch, [Commit(2, "done", None, 1, result=b"r")])
    assert [r.name for r in store.list_isolates(status="done")] == ["n2"]
    assert [r.name for r in store.list_isolates(q="n", limit=2, offset=1)] == ["n2", "n3"]
    assert [r.name for r in store.list_isolates(flow="f", q="4")] == ["n4"]
    assert store.list_isolates(flow="g") == []
    assert store.count_isolates() == {"running": 4, "done": 1}
    assert store.load_unfinished(NODE, epoch)[0].name == "n1"


def test_ids_of_deleted_objects_are_never_handed_out_again(any_store):
    s = any_store.open()
    epoch = s.claim(NODE)
    s.commit_batch(NODE, epoch, [spawn_commit(1, "a", ops=[QueueNew(7, 0, "int", 1), LockNew(3, 1),
                                                          WgNew(4, 1)])])
    s.commit_batch(NODE, epoch, [Commit(1, "running", b"s", 1, ops=[QueuePut(7, 11, b"x")])])
    end = Commit(1, "done", None, 2, result=b"r")
    s.commit_batch(NODE, epoch, [end])
    assert end.collected == 1
    s.close()
    s = any_store.open()                # a restart computes the next ids from what is stored
    nxt = s.load_shared().next_ids
    assert (nxt["queue"], nxt["lock"], nxt["wg"], nxt["seq"]) == (8, 4, 5, 12)


def test_mark_failed_releases_the_locks_the_isolate_held(store):
    epoch = store.claim(NODE)
    store.commit_batch(NODE, epoch, [spawn_commit(1, "a", ops=[LockNew(1, 1), LockNew(2, 1), LockSet(1, 1)])])
    store.mark_failed(NODE, epoch, 1, '{"message": "cannot load"}')
    row = store.get_isolate("a")
    assert (row.status, row.error) == ("failed", '{"message": "cannot load"}')
    assert store.load_shared().locks == {1: None, 2: None}


def test_adopt_failed_takes_a_retryable_isolate_once(any_store):
    # a failed isolate keeps the epoch it failed under; after a restart (a new epoch) retry and
    # cancel adopt it in one conditional write, so of two concurrent callers one wins
    first = any_store.open()
    e1 = first.claim(NODE)
    first.commit_batch(NODE, e1, [spawn_commit(1, "a"), spawn_commit(2, "b")])
    first.commit_batch(NODE, e1, [Commit(1, "failed", None, 1, error="{}", keep_snapshot=True),
                                  Commit(2, "failed", None, 1, error="{}")])
    first.close()
    s = any_store.open()
    e2 = s.claim(NODE)
    assert s.get_isolate("a").epoch == e1 and s.get_isolate("a").snapshot == b"snap"
    assert s.adopt_failed(NODE, e2, 1, "running") is True
    assert s.adopt_failed(NODE, e2, 1, "running") is False          # the second retry
    row = s.get_isolate("a")
    assert (row.status, row.owner, row.epoch) == ("running", NODE, e2)
    s.commit_batch(NODE, e2, [Commit(1, "running", b"next", 2)])   # fenced writes now match
    assert s.adopt_failed(NODE, e2, 2, "running") is False          # no snapshot: nothing to retry
    assert s.adopt_failed(NODE, e2, 99, "cancelled") is False


# -- batches of many isolates -------------------------------------------------------------------

def _rows(any_store):
    return any_store.sql("SELECT id, status, snapshot, wake_at, waiting_on, result, error, steps, children, "
                         "log_seq FROM isolates ORDER BY id")


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


def test_a_batch_of_many_isolates_lands_as_row_by_row_commits_would(any_store, store_kind, tmp_path):
    n = 1203
    other = StoreUnderTest(store_kind, tmp_path, "single")
    try:
        bulk, single = any_store.open(), other.open()
        eb, es = bulk.claim(NODE), single.claim(NODE)
        bulk.commit_batch(NODE, eb, [spawn_commit(i, f"n{i}") for i in range(1, n + 1)])
        single.commit_batch(NODE, es, [spawn_commit(i, f"n{i}") for i in range(1, n + 1)])
        bulk.commit_batch(NODE, eb, _mixed_steps(n))
        for c in _mixed_steps(n):
            single.commit_batch(NODE, es, [c])
        assert _rows(any_store) == _rows(other)
        assert bulk.read_log(7) == ["end 7"]
    finally:
        other.close()


def test_a_batch_with_one_isolate_owned_elsewhere_writes_nothing_and_names_it(any_store):
    store = any_store.open()
    epoch = store.claim(NODE)
    store.commit_batch(NODE, epoch, [spawn_commit(i, f"n{i}") for i in range(1, 41)])
    any_store.sql("UPDATE isolates SET epoch = epoch + 1 WHERE id = 37")      # taken over by another node
    with pytest.raises(LeaseLost, match="isolate 37 is not owned"):
        store.commit_batch(NODE, epoch, [Commit(i, "running", b"new", 1) for i in range(1, 41)])
    with pytest.raises(LeaseLost, match="isolate 37 is not owned"):
        store.commit_batch(NODE, epoch, [Commit(37, "running", b"new", 1)])          # a batch of one step
    with pytest.raises(LeaseLost, match="isolate 37 is not owned"):
        store.commit_batch(NODE, epoch, [Commit(37, "running", b"new", 1, log=["x"], log_seq=1)])
    assert {r.snapshot for r in store.list_isolates()} == {b"snap"}
    assert store.read_log(37) == []


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
    assert store.children_of(4) == ["parent/1"] and store.children_of(5) == []
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


def test_spawn_arguments_digest_is_kept(store):
    epoch = store.claim(NODE)
    row = IsolateRow(id=2, name="new", flow="f", program_hash=b"h" * 32, snapshot=b"s", args_hash=b"d" * 16)
    store.commit_batch(NODE, epoch, [Commit(2, "running", b"s", 0, create=row)])
    assert store.get_isolate("new").args_hash == b"d" * 16
