"""The scheduler on a stand-in VM (tests/runtime/fakevm.py): effects, ordering, restarts.

These pin the engine's own logic without the compiler; test_e2e.py runs real flows."""
import asyncio
import sqlite3
import time

import pytest

from deepslate._types import INT, STR, HandleT
from deepslate._values import DSError
from deepslate.runtime import Engine, FlowFailed, SpawnConflict, idempotency_key
from deepslate.store import SQLiteStore
from deepslate.store.base import QueueTake

import fakevm
from fakevm import Code, Flow, Program
from polling import until

pytestmark = pytest.mark.timeout(30)
QT, QS, WT, LT = HandleT("Queue", INT), HandleT("Queue", STR), HandleT("WaitGroup"), HandleT("Lock")


def FakeEngine(store, flows, workers, **kw):
    """An engine on the stand-in VM, passed in (nothing patched)."""
    return Engine(store, flows, workers, vm=fakevm, serial=fakevm.Serial, **kw)


def K(v):
    return ("k", v)


def loop_sleeps(name="sleeper"):
    # i = 0; while i < n: sleep(0); i += 1; return i
    return Program([Code(name, (("n", INT),), [
        ("py", "i", lambda: 0, []),
        ("py", "c", lambda i, n: i < n, ["i", "n"]),
        ("jz", "c", 6),
        ("eff", None, "sleep", [K(0.0)], ()),
        ("py", "i", lambda i: i + 1, ["i"]),
        ("jmp", 1),
        ("print", "i"),
        ("ret", "i"),
    ])])


def stored_status(eng, name):
    r = eng.store.get_isolate(name)
    return r.status if r else None


def edit_rows(path, sql):
    """Change the store behind the engine's back, as a bad disk or a hand edit would."""
    db = sqlite3.connect(str(path))
    db.execute(sql)
    db.commit()
    db.close()


@pytest.fixture
def start(engines):
    """``await start(path, flows, **kw)``: an engine on the stand-in VM over the store at ``path``;
    every engine started so is stopped (and its store closed) when the test ends, pass or fail."""
    async def start(path, flows, workers=2, **kw):
        return await engines.start(FakeEngine(SQLiteStore(str(path)), flows, workers, **kw))
    return start


async def test_spawn_wait_and_idempotent_spawn(tmp_path, start):
    eng = await start(tmp_path / "s.db", [Flow(loop_sleeps())])
    assert await eng.spawn("a", "sleeper", {"n": 5}) == (1, False)
    assert await eng.spawn("a", "sleeper", {"n": 5}) == (1, True)
    with pytest.raises(SpawnConflict, match="'a' already exists with other arguments than sleeper\\(n=99\\)"):
        await eng.spawn("a", "sleeper", {"n": 99})
    assert await eng.wait("a") == 5
    assert await eng.spawn("a", "sleeper", {"n": 5}) == (1, True)   # finished: still exists
    row = eng.store.get_isolate("a")
    assert (row.status, row.steps, row.snapshot) == ("done", 6, None)   # 5 sleeps + the return
    assert eng.store.read_log(1) == ["5"]
    await eng.stop()


async def test_restart_resumes_from_snapshot(tmp_path, start):
    flows = [Flow(Program([Code("slow", (), [
        ("eff", None, "sleep", [K(0.3)], ()),
        ("py", "x", lambda: 42, []),
        ("ret", "x")])]))]
    eng = await start(tmp_path / "s.db", flows)
    await eng.spawn("a", "slow", {})
    await until(lambda: stored_status(eng, "a") == "sleeping")
    await eng.stop()
    eng = await start(tmp_path / "s.db", flows)
    assert await eng.wait("a", timeout=5) == 42
    await eng.stop()


async def test_overdue_timer_fires_at_once(tmp_path, start):
    flows = [Flow(Program([Code("slow", (), [("eff", None, "sleep", [K(3600.0)], ()), ("ret", K(1))])]))]
    eng = await start(tmp_path / "s.db", flows)
    await eng.spawn("a", "slow", {})
    await until(lambda: stored_status(eng, "a") == "sleeping")
    await eng.stop()
    edit_rows(tmp_path / "s.db", "UPDATE isolates SET wake_at = 0")
    eng = await start(tmp_path / "s.db", flows)
    assert await eng.wait("a", timeout=2) == 1
    await eng.stop()


calls = []


def flaky(x):
    calls.append(idempotency_key())
    if len(calls) < 3:
        raise ConnectionError("try again")
    return x * 2


async def test_impure_retries_with_a_stable_key(tmp_path, start):
    calls.clear()
    p = Program([Code("pay", (), [("eff", "r", "impure", [K(21)], ("m:flaky", 5, 0.001, 5.0, False), flaky),
                                  ("ret", "r")])])
    eng = await start(tmp_path / "s.db", [Flow(p)])
    await eng.spawn("a", "pay", {})
    assert await eng.wait("a", timeout=5) == 42
    assert len(calls) == 3 and len(set(calls)) == 1
    await eng.stop()


def always_fails():
    raise ValueError("card declined")


async def test_impure_final_error_as_value_or_failure(tmp_path, start):
    as_value = Program([Code("v", (), [("eff", "r", "impure", [], ("m:f", 1, 0.0, None, True), always_fails),
                                       ("ret", "r")])])
    as_fail = Program([Code("f", (), [("eff", "r", "impure", [], ("m:f", 0, 0.0, None, False), always_fails),
                                      ("ret", "r")])])
    eng = await start(tmp_path / "s.db", [Flow(as_value), Flow(as_fail)])
    await eng.spawn("a", "v", {})
    await eng.spawn("b", "f", {})
    assert await eng.wait("a", timeout=5) == DSError("card declined")
    with pytest.raises(FlowFailed, match="card declined") as ei:
        await eng.wait("b", timeout=5)
    assert (ei.value.kind, ei.value.exc_type) == ("impure", "ValueError")
    assert eng.store.get_isolate("b").snapshot is not None   # kept for retry
    await eng.stop()


async def test_async_impure_is_awaited(tmp_path, start):
    async def fetch(x):
        await asyncio.sleep(0)
        return f"{x}:{idempotency_key()}"
    p = Program([Code("a", (), [("eff", "r", "impure", [K("v")], ("m:fetch", 0, 0, None, False), fetch),
                                ("ret", "r")])])
    eng = await start(tmp_path / "s.db", [Flow(p)])
    await eng.spawn("x", "a", {})
    import re
    assert re.fullmatch(r"v:[0-9a-f]{16}-1-\d+", await eng.wait("x", timeout=5))
    await eng.stop()


def producer_consumer(n_items=20, capacity=2):
    # main: q = Queue(cap); wg = WaitGroup(); wg.add(1); create_task(consumer(q, wg, n)); put 0..n-1; wg.wait()
    consumer = Code("consumer", (("q", QT), ("wg", WT), ("n", INT)), [
        ("py", "i", lambda: 0, []),
        ("py", "s", lambda: 0, []),
        ("py", "c", lambda i, n: i < n, ["i", "n"]),          # 2
        ("jz", "c", 8),
        ("eff", "v", "queue_get", ["q"], ()),
        ("py", "s", lambda s, v: s + v, ["s", "v"]),
        ("py", "i", lambda i: i + 1, ["i"]),
        ("jmp", 2),
        ("eff", None, "wg_done", ["wg"], ()),                  # 8
        ("print", "s"),
        ("ret", "s"),
    ])
    main = Code("main", (), [
        ("eff", "q", "new_queue", [K(capacity)], ("int",)),
        ("eff", "wg", "new_waitgroup", [], ()),
        ("eff", None, "wg_add", ["wg", K(1)], ()),
        ("eff", None, "create_task", ["q", "wg", K(n_items)], (1,)),
        ("py", "i", lambda: 0, []),
        ("py", "c", lambda i: i < n_items, ["i"]),             # 5
        ("jz", "c", 10),
        ("eff", None, "queue_put", ["q", "i"], ()),
        ("py", "i", lambda i: i + 1, ["i"]),
        ("jmp", 5),
        ("eff", None, "wg_wait", ["wg"], ()),                  # 10
        ("ret", "i"),
    ])
    return Program([main, consumer])


async def test_queue_with_capacity_child_and_waitgroup(tmp_path, start):
    eng = await start(tmp_path / "s.db", [Flow(producer_consumer())])
    await eng.spawn("p", "main", {})
    assert await eng.wait("p", timeout=10) == 20
    assert await eng.wait("p/1", timeout=10) == sum(range(20))
    assert eng.store.get_isolate("p/1").parent_id == 1
    assert eng.store.children_of(1) == ["p/1"]
    sh = eng.store.load_shared()          # the tree has ended: its queue and wait group went with it
    assert sh.queues == {} and sh.waitgroups == {} and eng.shared.queues == {} and eng.shared.wgs == {}
    await eng.stop()


async def test_queue_survives_restarts_midway(tmp_path, start):
    for _ in range(6):
        eng = await start(tmp_path / "s.db", [Flow(producer_consumer(200, 3))])
        await eng.spawn("p", "main", {})
        await asyncio.sleep(0.02)
        await eng.stop()
    eng = await start(tmp_path / "s.db", [Flow(producer_consumer(200, 3))])
    assert await eng.wait("p", timeout=20) == 200
    assert await eng.wait("p/1", timeout=20) == sum(range(200))
    await eng.stop()


async def test_lock_release_of_unheld_lock_fails_isolate(tmp_path, start):
    p = Program([Code("bad", (), [("eff", "lk", "new_lock", [], ()),
                                  ("eff", None, "lock_release", ["lk"], ()), ("ret", K(0))])])
    eng = await start(tmp_path / "s.db", [Flow(p)])
    await eng.spawn("a", "bad", {})
    with pytest.raises(FlowFailed, match="does not hold"):
        await eng.wait("a", timeout=5)
    await eng.stop()


async def test_lock_contention(tmp_path, start):
    # main: lk = Lock(); start 5 children that each hold the lock across a sleep; count overlaps
    inside = []
    overlaps = []

    def enter(i):
        if inside:
            overlaps.append(i)
        inside.append(i)
        return i

    def leave(i):
        inside.remove(i)
        return i
    child = Code("crit", (("lk", LT), ("i", INT)), [
        ("eff", None, "lock_acquire", ["lk"], ()),
        ("eff", None, "impure", ["i"], ("m:enter", 0, 0, None, False), enter),
        ("eff", None, "sleep", [K(0.01)], ()),
        ("eff", None, "impure", ["i"], ("m:leave", 0, 0, None, False), leave),
        ("eff", None, "lock_release", ["lk"], ()),
        ("ret", "i"),
    ])
    main = Code("main", (), [("eff", "lk", "new_lock", [], ())]
                + [("eff", None, "create_task", ["lk", K(i)], (1, True)) for i in range(5)] + [("ret", K(0))])
    eng = await start(tmp_path / "s.db", [Flow(Program([main, child]))])
    await eng.spawn("m", "main", {})
    await eng.wait("m", timeout=5)
    for i in range(1, 6):
        assert await eng.wait(f"m/{i}", timeout=5) == i - 1
    assert overlaps == []
    assert eng.store.load_shared().locks == {} and eng.shared.locks == {}
    await eng.stop()


async def test_select_takes_whichever_queue_has_an_item(tmp_path, start):
    main = Code("main", (), [
        ("eff", "a", "new_queue", [K(0)], ("int",)),
        ("eff", "b", "new_queue", [K(0)], ("str",)),
        ("eff", None, "create_task", ["b"], (1,)),
        ("eff", "r", "select", ["a", "b"], ()),
        ("ret", "r"),
    ])
    sender = Code("send", (("b", QS),), [("eff", None, "sleep", [K(0.02)], ()),
                                          ("eff", None, "queue_put", ["b", K("hi")], ()), ("ret", K(None))])
    eng = await start(tmp_path / "s.db", [Flow(Program([main, sender]))])
    await eng.spawn("m", "main", {})
    assert await eng.wait("m", timeout=5) == [1, "hi"]
    await eng.stop()


async def test_fault_fails_only_that_isolate(tmp_path, start):
    bad = Program([Code("bad", (), [("py", "x", lambda: 1 // 0, []), ("ret", "x")])])
    eng = await start(tmp_path / "s.db", [Flow(bad), Flow(loop_sleeps())])
    await eng.spawn("b", "bad", {})
    await eng.spawn("g", "sleeper", {"n": 50})
    with pytest.raises(FlowFailed, match="ZeroDivisionError") as ei:
        await eng.wait("b", timeout=5)
    assert ei.value.where == "fake.py:1"
    assert "line 1" in ei.value.backtrace()
    assert await eng.wait("g", timeout=5) == 50
    await eng.stop()


@pytest.mark.parametrize("change, error, kind", [
    ("snapshot = x'00112233'", "cannot resume from the stored snapshot.*bad magic", "snapshot"),
    ("program_hash = x'0badc0de'", "cannot load its program 0badc0de .*not in the store", "program"),
], ids=["corrupt-snapshot", "unknown-program"])
async def test_isolate_that_cannot_be_loaded_fails_alone(tmp_path, change, error, kind, start):
    flows = [Flow(Program([Code("slow", (), [("eff", None, "sleep", [K(0.2)], ()), ("ret", K(7))])]))]
    eng = await start(tmp_path / "s.db", flows)
    await eng.spawn("a", "slow", {})
    await eng.spawn("b", "slow", {})
    await until(lambda: stored_status(eng, "a") == stored_status(eng, "b") == "sleeping")
    await eng.stop()
    edit_rows(tmp_path / "s.db", f"UPDATE isolates SET {change} WHERE name = 'a'")
    eng = await start(tmp_path / "s.db", flows)
    with pytest.raises(FlowFailed, match=error) as ei:
        await eng.wait("a", timeout=5)
    assert ei.value.kind == kind
    assert await eng.wait("b", timeout=5) == 7
    await eng.stop()


async def test_cancel(tmp_path, start):
    from deepslate.runtime import FlowCancelled
    flows = [Flow(Program([Code("slow", (), [("eff", None, "sleep", [K(30.0)], ()), ("ret", K(7))])]))]
    eng = await start(tmp_path / "s.db", flows)
    await eng.spawn("a", "slow", {})
    await asyncio.sleep(0.02)
    assert await eng.cancel("a") is True
    with pytest.raises(FlowCancelled):
        await eng.wait("a")
    assert await eng.cancel("a") is False
    with pytest.raises(KeyError, match="no isolate named 'zz'"):
        await eng.cancel("zz")
    await eng.stop()


async def test_wait_timeout_and_unknown(tmp_path, start):
    flows = [Flow(Program([Code("slow", (), [("eff", None, "sleep", [K(30.0)], ()), ("ret", K(7))])]))]
    eng = await start(tmp_path / "s.db", flows)
    await eng.spawn("a", "slow", {})
    with pytest.raises(TimeoutError, match="did not finish within 0.05"):
        await eng.wait("a", timeout=0.05)
    with pytest.raises(KeyError):
        await eng.wait("nobody")
    await eng.stop()


async def test_yield_commits_progress_of_a_long_computation(tmp_path, start):
    p = Program([Code("spin", (), [
        ("py", "i", lambda: 0, []),
        ("py", "i", lambda i: i + 1, ["i"]),
        ("py", "c", lambda i: i < 5000, ["i"]),
        ("jz", "c", 5),
        ("jmp", 1),
        ("ret", "i")])])
    eng = await start(tmp_path / "s.db", [Flow(p)], budget=100)
    await eng.spawn("a", "spin", {})
    assert await eng.wait("a", timeout=5) == 5000
    await eng.stop()


async def test_spawn_bad_input(tmp_path, start):
    p = loop_sleeps()
    eng = await start(tmp_path / "s.db", [Flow(p)])
    with pytest.raises(ValueError, match="unknown flow 'nope'.*sleeper"):
        await eng.spawn("a", "nope", {})
    with pytest.raises(TypeError, match="parameter n: expected int, got str"):
        await eng.spawn("a", "sleeper", {"n": "5"})
    with pytest.raises(TypeError, match="missing argument for parameter 'n'"):
        await eng.spawn("a", "sleeper", {})
    with pytest.raises(TypeError, match="no parameter 'm'"):
        await eng.spawn("a", "sleeper", {"n": 1, "m": 2})
    with pytest.raises(TypeError, match="must be a dict"):
        await eng.spawn("a", "sleeper", [1])
    with pytest.raises(ValueError, match="must not contain '/'"):
        await eng.spawn("a/1", "sleeper", {"n": 1})
    assert eng.store.count_isolates() == {}
    await eng.stop()


async def test_disk_full_halts_and_loses_nothing(tmp_path, start, engines):
    path = str(tmp_path / "s.db")
    store = SQLiteStore(path)
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.close()
    eng = await engines.start(FakeEngine(SQLiteStore(path, max_page_count=pages + 8), [Flow(loop_sleeps())], 2))
    from deepslate.store import StoreError
    with pytest.raises(StoreError, match="full"):
        for i in range(2000):
            await eng.spawn(f"i{i}" + "x" * 500, "sleeper", {"n": 3})
    with pytest.raises(StoreError, match="engine stopped after a store failure"):
        await eng.spawn("more", "sleeper", {"n": 1})
    await eng.stop()
    eng = await start(tmp_path / "s.db", [Flow(loop_sleeps())])
    names = [r.name for r in eng.store.list_isolates(limit=10000)]
    assert names
    for n in names:
        assert await eng.wait(n, timeout=10) == 3
    await eng.stop()


async def test_lock_of_an_isolate_that_cannot_be_loaded_is_released(tmp_path, start):
    holder = Code("holder", (("lk", LT),), [("eff", None, "lock_acquire", ["lk"], ()),
                                             ("eff", None, "sleep", [K(60.0)], ()), ("ret", K(1))])
    waiter = Code("waiter", (("lk", LT),), [("eff", None, "sleep", [K(0.05)], ()),
                                             ("eff", None, "lock_acquire", ["lk"], ()),
                                             ("eff", None, "lock_release", ["lk"], ()), ("ret", K(2))])
    main = Code("main", (), [("eff", "lk", "new_lock", [], ()),
                             ("eff", None, "create_task", ["lk"], (1, True)),
                             ("eff", None, "create_task", ["lk"], (2, True)), ("ret", K(0))])
    flows = [Flow(Program([main, holder, waiter]))]
    eng = await start(tmp_path / "s.db", flows)
    await eng.spawn("m", "main", {})
    await eng.wait("m", timeout=5)
    await until(lambda: stored_status(eng, "m/2") == "waiting" and stored_status(eng, "m/1") == "sleeping")
    await eng.stop()
    edit_rows(tmp_path / "s.db", "UPDATE isolates SET snapshot = x'00' WHERE name = 'm/1'")
    eng = await start(tmp_path / "s.db", flows)
    with pytest.raises(FlowFailed, match="cannot resume"):
        await eng.wait("m/1", timeout=5)
    assert await eng.wait("m/2", timeout=5) == 2
    assert eng.store.load_shared().locks == {1: None}
    await eng.stop()


async def test_impure_timeout_counts_as_a_failed_attempt(tmp_path, start):
    tries = []

    async def slow_async():
        tries.append("a")
        await asyncio.sleep(5)

    def slow_sync():
        tries.append("s")
        import time
        time.sleep(0.3)
    p = Program([Code("t", (), [
        ("eff", "a", "impure", [], ("m:slow_async", 1, 0.0, 0.05, True), slow_async),
        ("eff", "b", "impure", [], ("m:slow_sync", 0, 0.0, 0.05, True), slow_sync),
        ("py", "r", lambda a, b: [a, b], ["a", "b"]),
        ("ret", "r")])])
    eng = await start(tmp_path / "s.db", [Flow(p)])
    await eng.spawn("x", "t", {})
    a, b = await eng.wait("x", timeout=5)
    assert a == DSError("m:slow_async timed out after 0.05 s") and b == DSError("m:slow_sync timed out after 0.05 s")
    assert tries == ["a", "a", "s"]                  # one retry for the first, none for the second
    await eng.stop()


def handoff(second_getter=True):
    """main: q; a getter child m/1 waits on it; after a while main puts 42 (and starts m/2).
    The getters are detached: main returns before they get."""
    getter = Code("getter", (("q", QT),), [("eff", "v", "queue_get", ["q"], ()), ("ret", "v")])
    main = Code("main", (), [("eff", "q", "new_queue", [K(0)], ("int",)),
                             ("eff", None, "create_task", ["q"], (1, True)),
                             ("eff", None, "sleep", [K(0.3)], ()), ("eff", None, "queue_put", ["q", K(42)], ())]
                + [("eff", None, "create_task", ["q"], (1, True))] * second_getter + [("ret", K(0))])
    return Program([main, getter])


async def test_item_handed_to_a_getter_cancelled_before_it_ran_goes_to_the_next(tmp_path, start):
    # m/1 waits on q; a cancel of m/1 is under way as main's put hands it the item: the item
    # must stay in the queue for m/2, as it stays in the store
    eng = await start(tmp_path / "s.db", [Flow(handoff())])
    getters_at_put, cancels = [], []
    perform = eng._perform

    def cancel_as_the_put_is_performed(iso, spec, args):
        if spec.kind == "queue_put" and not cancels:
            getters_at_put.extend(g.name for g, _, _ in eng.shared.queues[args[0].id].getters)
            cancels.append(eng.loop.create_task(eng.cancel("m/1")))   # scheduled before any worker runs
        perform(iso, spec, args)
    eng._perform = cancel_as_the_put_is_performed
    await eng.spawn("m", "main", {})
    assert await eng.wait("m", timeout=5) == 0
    assert getters_at_put == ["m/1"]
    assert await cancels[0] is True
    assert await eng.wait("m/2", timeout=5) == 42
    assert eng.store.load_shared().queues == {}
    await eng.stop()


async def test_a_second_spawn_of_a_name_is_answered_only_once_the_first_is_durable(tmp_path, start):
    from deepslate.store import StoreError, StoreFull
    eng = await start(tmp_path / "s.db", [Flow(loop_sleeps())])

    def disk_full(*args):
        raise StoreFull("store is full (test)")
    eng.store.commit_batch = disk_full
    first = asyncio.ensure_future(eng.spawn("a", "sleeper", {"n": 1}))
    # the second call finds "a" registered by the first while its row is still being written
    with pytest.raises(StoreError, match="full"):
        await eng.spawn("a", "sleeper", {"n": 1})
    with pytest.raises(StoreError, match="full"):
        await first
    await eng.stop()
    assert eng.store.get_isolate("a") is None


def tree_rows(eng):
    db = eng.store.db
    return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("queues", "queue_items", "locks", "waitgroups")}


async def test_a_trees_objects_live_until_its_last_isolate_ends(tmp_path, start):
    # main makes one of each, leaves an item in the queue and a detached child that still sleeps
    child = Code("child", (("q", QT),), [("eff", None, "sleep", [K(60.0)], ()), ("ret", K(1))])
    main = Code("main", (), [("eff", "q", "new_queue", [], ()), ("eff", None, "new_lock", [], ()),
                             ("eff", None, "new_waitgroup", [], ()), ("eff", None, "queue_put", ["q", K(5)], ()),
                             ("eff", None, "create_task", ["q"], (1, True)), ("ret", K(0))])
    other = Code("other", (), [("eff", None, "new_lock", [], ()), ("eff", None, "sleep", [K(60.0)], ()),
                               ("ret", K(0))])
    flows = [Flow(Program([main, child])), Flow(Program([other]))]
    eng = await start(tmp_path / "s.db", flows)
    await eng.spawn("o", "other", {})
    await eng.spawn("m", "main", {})
    assert await eng.wait("m", timeout=5) == 0
    await until(lambda: stored_status(eng, "m/1") == "sleeping" and stored_status(eng, "o") == "sleeping")
    assert tree_rows(eng) == {"queues": 1, "queue_items": 1, "locks": 2, "waitgroups": 1}
    await eng.stop()
    eng = await start(tmp_path / "s.db", flows)     # the tree's bookkeeping is rebuilt on restart
    assert sorted(eng.shared.trees[2]) == [("lock", 2), ("queue", 1), ("wg", 1)]   # "o" is isolate 1
    assert await eng.cancel("m/1") is True
    # "o" is another tree: its lock stays
    assert tree_rows(eng) == {"queues": 0, "queue_items": 0, "locks": 1, "waitgroups": 0}
    assert eng.shared.queues == {} and eng.shared.wgs == {} and list(eng.shared.locks) == [1] and 2 not in eng.shared.trees
    await eng.stop()


async def test_a_failed_isolate_that_can_be_retried_keeps_its_trees_objects(tmp_path, start):
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("provider down")
        return 3
    main = Code("main", (), [("eff", "q", "new_queue", [], ()),
                             ("eff", "v", "impure", [], ("m:flaky", 0, 0, None, False), flaky),
                             ("eff", None, "queue_put", ["q", "v"], ()),
                             ("eff", "w", "queue_get", ["q"], ()), ("ret", "w")])
    eng = await start(tmp_path / "s.db", [Flow(Program([main]))])
    await eng.spawn("m", "main", {})
    with pytest.raises(FlowFailed, match="provider down"):
        await eng.wait("m", timeout=5)
    assert tree_rows(eng)["queues"] == 1
    assert await eng.retry("m") is True
    assert await eng.wait("m", timeout=5) == 3
    assert tree_rows(eng)["queues"] == 0
    await eng.stop()


async def test_cancel_takes_the_unfinished_descendants_with_it(tmp_path, start):
    from deepslate.runtime import FlowCancelled
    nap = Code("nap", (), [("eff", None, "sleep", [K(60.0)], ()), ("ret", K(3))])
    # mid starts two grandchildren and returns at once: the attached one ends with it, the
    # detached one outlives it, and the cancel of the tree too
    mid = Code("mid", (), [("eff", None, "create_task", [], (0,)), ("eff", None, "create_task", [], (0, True)),
                           ("ret", K(2))])
    deep = Code("deep", (), [("eff", None, "create_task", [], (0,)), ("eff", None, "sleep", [K(60.0)], ()),
                             ("ret", K(4))])
    main = Code("main", (), [("eff", None, "create_task", [], (1,)), ("eff", None, "create_task", [], (2,)),
                             ("eff", None, "sleep", [K(60.0)], ()), ("ret", K(1))])
    flows = [Flow(Program([nap, mid, deep, main], entry=3)), Flow(Program([nap]))]
    eng = await start(tmp_path / "s.db", flows)
    await eng.spawn("m", "main", {})
    await eng.spawn("bystander", "nap", {})
    await until(lambda: all(stored_status(eng, n) == "sleeping" for n in ("m", "m/1/2", "m/2", "m/2/1")))
    assert stored_status(eng, "m/1") == "done"
    with pytest.raises(FlowCancelled):
        await eng.wait("m/1/1", timeout=5)
    assert await eng.cancel("m") is True
    for n in ("m", "m/2", "m/2/1"):
        with pytest.raises(FlowCancelled):
            await eng.wait(n, timeout=5)
    assert await eng.wait("m/1", timeout=5) == 2
    assert stored_status(eng, "bystander") == "sleeping"
    assert stored_status(eng, "m/1/2") == "sleeping"
    await eng.stop()


async def test_an_item_handed_to_a_getter_whose_step_hits_an_engine_bug_goes_to_the_next(tmp_path, start):
    eng = await start(tmp_path / "s.db", [Flow(handoff())])
    advance, broken = eng._advance, []

    def bug_on_the_first_take(iso, value, ops):
        if any(type(op) is QueueTake for op in ops) and not broken:
            broken.append(iso.name)
            raise RuntimeError("engine bug (test)")
        advance(iso, value, ops)
    eng._advance = bug_on_the_first_take
    await eng.spawn("m", "main", {})
    assert await eng.wait("m", timeout=5) == 0
    with pytest.raises(FlowFailed, match="internal error: RuntimeError: engine bug"):
        await eng.wait("m/1", timeout=5)
    assert broken == ["m/1"]
    assert await eng.wait("m/2", timeout=5) == 42      # the item was not lost with m/1
    assert eng.shared.handed == {}
    await eng.stop()


async def test_a_descendant_that_ends_while_cancel_looks_keeps_its_result(tmp_path, start):
    # m -> m/1 (returns at once) -> m/1/1 (detached, returns 4 soon): m/1/1 is not m's to
    # cancel, and while cancel("m") reads rows m/1/1 returns: its "done" must stand
    deep = Code("deep", (), [("eff", None, "sleep", [K(0.3)], ()), ("ret", K(4))])
    mid = Code("mid", (), [("eff", None, "create_task", [], (0, True)), ("ret", K(2))])
    main = Code("main", (), [("eff", None, "create_task", [], (1,)), ("eff", None, "sleep", [K(60.0)], ()),
                             ("ret", K(1))])
    eng = await start(tmp_path / "s.db", [Flow(Program([deep, mid, main], entry=2))])
    await eng.spawn("m", "main", {})
    await until(lambda: stored_status(eng, "m/1/1") == "sleeping" and stored_status(eng, "m/1") == "done")
    row_of = eng.store.get_isolate_by_id

    def slow_row(i):                   # a busy database thread
        time.sleep(0.6)
        return row_of(i)
    eng.store.get_isolate_by_id = slow_row
    assert await eng.cancel("m") is True
    assert await eng.wait("m/1/1", timeout=5) == 4
    assert stored_status(eng, "m/1/1") == "done"
    await eng.stop()


async def test_a_hand_off_reached_after_the_getters_tree_was_deleted_is_dropped(tmp_path, start):
    # m/1 is handed the item, but a busy engine reaches that step only after m/1's cancel has
    # ended the tree (and deleted the queue): the worker drops the hand-off and lives on
    eng = await start(tmp_path / "s.db", [Flow(handoff(second_getter=False))], workers=1)
    put = eng.ready.put_nowait
    late = []

    def backlog(entry):
        if entry[0].name == "m/1" and any(type(op) is QueueTake for op in entry[2]):
            late.append(eng.loop.call_later(0.3, put, entry))
        else:
            put(entry)
    eng.ready.put_nowait = backlog
    await eng.spawn("m", "main", {})
    assert await eng.wait("m", timeout=5) == 0
    await until(lambda: late)
    assert await eng.cancel("m/1") is True
    assert eng.shared.queues == {} and tree_rows(eng)["queues"] == 0
    await asyncio.sleep(0.5)                           # the late hand-off has reached the one worker
    assert eng.shared.handed == {}
    await eng.spawn("x", "main", {})
    assert await eng.wait("x", timeout=5) == 0        # the worker still runs
    await eng.stop()
