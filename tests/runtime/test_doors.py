"""The README's doors on real flows: new_sqlite, spawn_workers -> (spawn, wait, cancel, stop).

The tests of durable operations through the doors run on SQLite and on PostgreSQL (``any_store``,
new_postgres); those of the doors themselves (timeouts, a held loop, a dead engine thread) and of
SQLite files on SQLite only."""
import importlib
import os
import shutil
import sqlite3
import sys
import textwrap
import threading
import time

import pytest

import deepslate
from deepslate import DSError, FlowCancelled, FlowFailed, new_sqlite, spawn_workers
from deepslate._values import Queue, WaitGroup
from deepslate.store import NotADeepslateStore, StoreError, StoreFull, StoreReadOnly

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "flowmods"))
import doorflows as df  # noqa: E402
import doorflows_slow as slow  # noqa: E402

pytestmark = pytest.mark.timeout(60)
ALL = [df.add, df.counter(), df.nap, df.fail_div, df.checkout, df.returns_error, df.fanout, df.worker]


@pytest.fixture
def doors(any_store):
    platform = any_store.platform()
    d = spawn_workers(4, platform, ALL)
    yield d
    d[3]()


def test_spawn_wait_from_sync_code(doors):
    spawn, wait, cancel, stop = doors
    assert spawn("x", "add", {"a": 2, "b": 3}) == (1, False)
    assert spawn("x", "add", {"a": 2, "b": 3}) == (1, True)
    assert wait("x") == 5
    assert spawn("x", "add", {"b": 3, "a": 2}) == (1, True)     # finished: same isolate, same result
    assert wait("x") == 5


def test_doors_are_thread_safe(doors):
    spawn, wait, cancel, stop = doors
    results, errors = {}, []

    def client(k):
        try:
            for i in range(10):
                name = f"t{k}-{i}"
                spawn(name, "add", {"a": k, "b": i})
                results[name] = wait(name, timeout=20)
        except Exception as e:   # pragma: no cover - reported below
            errors.append(e)
    ts = [threading.Thread(target=client, args=(k,)) for k in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors
    assert results == {f"t{k}-{i}": k + i for k in range(6) for i in range(10)}


def test_wait_outcomes(doors):
    spawn, wait, cancel, stop = doors
    spawn("f", "fail_div", {"x": 0})
    with pytest.raises(FlowFailed) as ei:
        wait("f", timeout=10)
    assert ei.value.exc_type == "ZeroDivisionError"
    assert ei.value.where == f"{df.__file__}:{df.fail_div.code.firstlineno + 3}"
    assert "in fail_div" in ei.value.backtrace()
    spawn("e", "returns_error", {"msg": "no stock"})
    assert wait("e") == DSError("no stock")                    # a returned DSError is a value
    spawn("n", "nap", {"seconds": 30.0})
    with pytest.raises(TimeoutError):
        wait("n", timeout=0.1)
    assert cancel("n") is True
    with pytest.raises(FlowCancelled):
        wait("n")
    with pytest.raises(KeyError):
        wait("nobody")


def test_bad_spawn_arguments(doors):
    spawn, wait, cancel, stop = doors
    with pytest.raises(ValueError, match="unknown flow 'nope'"):
        spawn("a", "nope", {})
    with pytest.raises(TypeError, match="parameter b: expected int, got str"):
        spawn("a", "add", {"a": 1, "b": "2"})
    with pytest.raises(TypeError, match="parameter o.items\\[1\\]: expected str, got int"):
        spawn("a", "checkout", {"o": df.Order(1, ["x", 2]), "cents": 5})
    with pytest.raises(TypeError, match="expected float, got str"):
        spawn("a", "nap", {"seconds": "1"})
    with pytest.raises(ValueError, match="NaN"):
        spawn("a", "nap", {"seconds": float("nan")})
    with pytest.raises(TypeError, match="parameter q holds a dpslio.Queue\\[int\\], which only a flow can pass"):
        spawn("a", "worker", {"q": Queue(1), "out": Queue(2), "wg": WaitGroup(1)})
    spawn("ok", "nap", {"seconds": 0})                     # an int is a fine float
    assert wait("ok", timeout=10) == "rested"


def test_dataclass_args_impure_and_idempotency_key(doors):
    spawn, wait, cancel, stop = doors
    df.KEYS.clear()
    spawn("c", "checkout", {"o": df.Order(7, ["tea", "cake"]), "cents": 250})
    assert wait("c", timeout=10) == "charged 7:250 2"
    assert len(df.KEYS) == 1 and df.KEYS[0]


def test_fanout_with_waitgroup_and_queues(doors):
    spawn, wait, cancel, stop = doors
    spawn("fan", "fanout", {"n": 20})
    assert wait("fan", timeout=30) == sum(i * i for i in range(20))
    for i in range(1, 21):
        assert wait(f"fan/{i}", timeout=10) is None


def test_counter_continues_after_restart(any_store):
    platform = any_store.platform()
    spawn, wait, cancel, stop = spawn_workers(2, platform, [df.counter()])
    spawn("my-counter", "counter", {})
    stop()
    (steps_before,), = any_store.sql("SELECT steps FROM isolates")
    any_store.sql("UPDATE isolates SET wake_at = 0")           # as if a long time had passed
    platform = any_store.platform()
    spawn, wait, cancel, stop = spawn_workers(2, platform, [df.counter])
    assert spawn("my-counter", "counter", {}) == (1, True)
    deadline = time.time() + 10
    while platform.store.get_isolate("my-counter").steps <= steps_before and time.time() < deadline:
        time.sleep(0.02)
    assert platform.store.get_isolate("my-counter").status == "sleeping"
    assert platform.store.get_isolate("my-counter").steps == steps_before + 1
    stop()


def test_doors_after_stop(tmp_path):
    platform, _ = new_sqlite(str(tmp_path / "s.db"), listen_addr="127.0.0.1:0")
    spawn, wait, cancel, stop = spawn_workers(1, platform, [df.add])
    with pytest.raises(RuntimeError, match="already has workers"):
        spawn_workers(1, platform, [df.add])
    stop()
    stop()                                                   # idempotent
    with pytest.raises(RuntimeError, match="stopped"):
        spawn("a", "add", {"a": 1, "b": 2})


def test_spawn_workers_bad_arguments(tmp_path):
    platform, _ = new_sqlite(str(tmp_path / "s.db"), listen_addr="127.0.0.1:0")
    with pytest.raises(TypeError, match="@flow functions"):
        spawn_workers(1, platform, [len])
    with pytest.raises(TypeError, match="platform from new_sqlite"):
        spawn_workers(1, "sqlite://x", [df.add])
    with pytest.raises(ValueError, match="workers must be at least 1"):
        spawn_workers(0, platform, [df.add])


# -- opening stores -------------------------------------------------------------------

def test_new_sqlite_clear_errors(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database at all\n" * 200)
    with pytest.raises(NotADeepslateStore, match="not a deepslate store"):
        new_sqlite(str(notes), listen_addr="127.0.0.1:0")
    with pytest.raises(StoreError, match="does not exist"):
        new_sqlite(str(tmp_path / "missing" / "s.db"), listen_addr="127.0.0.1:0")
    with pytest.raises(ValueError, match="host:port"):
        new_sqlite(str(tmp_path / "s.db"), listen_addr="8765")
    assert isinstance(deepslate.new_sqlite(str(tmp_path / "ok.db"), listen_addr="127.0.0.1:0")[0], deepslate.runtime.Platform)


def test_store_turning_read_only_stops_the_engine_and_loses_nothing(tmp_path):
    path = str(tmp_path / "s.db")
    platform, _ = new_sqlite(path, listen_addr="127.0.0.1:0")
    spawn, wait, cancel, stop = spawn_workers(2, platform, [df.add, df.nap])
    spawn("done-before", "add", {"a": 1, "b": 1})
    assert wait("done-before") == 2
    spawn("sleeper", "nap", {"seconds": 0.3})
    platform.store.db.execute("PRAGMA query_only = 1")      # every write now fails as read-only
    with pytest.raises(StoreReadOnly, match="read-only"):
        spawn("new", "add", {"a": 1, "b": 2})
    with pytest.raises(StoreError, match="read-only|store failure"):
        wait("sleeper", timeout=5)
    stop()
    platform, _ = new_sqlite(path, listen_addr="127.0.0.1:0")
    spawn, wait, cancel, stop = spawn_workers(2, platform, [df.add, df.nap])
    assert wait("done-before") == 2
    assert wait("sleeper", timeout=10) == "rested"
    assert platform.store.get_isolate("new") is None
    stop()


def test_disk_full_stops_with_a_clear_error_and_loses_nothing(tmp_path):
    path = str(tmp_path / "s.db")
    platform, _ = new_sqlite(path, listen_addr="127.0.0.1:0")
    spawn, wait, cancel, stop = spawn_workers(2, platform, [df.add])
    spawn("first", "add", {"a": 1, "b": 1})
    assert wait("first") == 2
    pages = platform.store.db.execute("PRAGMA page_count").fetchone()[0]
    stop()
    platform, _ = new_sqlite(path, max_page_count=pages + 2, listen_addr="127.0.0.1:0")
    spawn, wait, cancel, stop = spawn_workers(2, platform, [df.add])
    spawned = []
    with pytest.raises(StoreFull, match="is full"):
        for i in range(5000):
            spawn(f"n{i}-" + "x" * 300, "add", {"a": i, "b": 1})
            spawned.append(i)
    stop()
    platform, _ = new_sqlite(path, listen_addr="127.0.0.1:0")
    spawn, wait, cancel, stop = spawn_workers(2, platform, [df.add])
    assert wait("first") == 2
    for i in spawned:
        assert wait(f"n{i}-" + "x" * 300, timeout=10) == i + 1
    stop()


def test_corrupt_snapshot_fails_that_isolate_only(tmp_path):
    path = str(tmp_path / "s.db")
    platform, _ = new_sqlite(path, listen_addr="127.0.0.1:0")
    spawn, wait, cancel, stop = spawn_workers(2, platform, [df.nap])
    spawn("bad", "nap", {"seconds": 0.2})
    spawn("good", "nap", {"seconds": 0.2})
    stop()
    db = sqlite3.connect(path)
    snap = db.execute("SELECT snapshot FROM isolates WHERE name = 'bad'").fetchone()[0]
    db.execute("UPDATE isolates SET snapshot = ? WHERE name = 'bad'", (snap[:-7] + b"garbage",))
    db.commit()
    db.close()
    platform, _ = new_sqlite(path, listen_addr="127.0.0.1:0")
    spawn, wait, cancel, stop = spawn_workers(2, platform, [df.nap])
    with pytest.raises(FlowFailed, match="cannot resume from the stored snapshot") as ei:
        wait("bad")
    assert ei.value.kind == "snapshot"
    assert wait("good", timeout=10) == "rested"
    stop()


# -- code versions ----------------------------------------------------------------------

V1 = '''
from deepslate import flow, sleep


@flow
async def greet(n: int) -> str:
    sleep(0.3)
    return "v1:" + str(n)
'''

V2 = '''
from deepslate import flow, sleep


@flow
async def greet(n: int) -> str:
    m: int = n * 10
    sleep(0.0)
    return "v2:" + str(m) + "!"
'''


def _load_version(d, source):
    shutil.rmtree(d / "__pycache__", ignore_errors=True)
    (d / "versioned_mod.py").write_text(textwrap.dedent(source))
    sys.modules.pop("versioned_mod", None)
    importlib.invalidate_caches()
    return importlib.import_module("versioned_mod")


def test_isolate_finishes_on_its_own_program_after_redeploy(tmp_path, any_store):
    d = tmp_path / "app"
    d.mkdir()
    sys.path.insert(0, str(d))
    try:
        v1 = _load_version(d, V1)
        platform = any_store.platform()
        spawn, wait, cancel, stop = spawn_workers(2, platform, [v1.greet])
        spawn("old", "greet", {"n": 1})
        stop()
        v2 = _load_version(d, V2)
        assert v2.greet.program.hash != v1.greet.program.hash
        platform = any_store.platform()
        spawn, wait, cancel, stop = spawn_workers(2, platform, [v2.greet])
        spawn("new", "greet", {"n": 1})
        assert wait("new", timeout=10) == "v2:10!"
        assert wait("old", timeout=10) == "v1:1"
        hashes = {r.name: r.program_hash for r in platform.store.list_isolates()}
        assert hashes == {"old": v1.greet.program.hash, "new": v2.greet.program.hash}
        assert any_store.sql("SELECT count(*) FROM programs") == [(2,)]
        stop()
    finally:
        sys.path.remove(str(d))
        sys.modules.pop("versioned_mod", None)


# -- more durable operations ---------------------------------------------------------------

def test_inbox_messages_reach_http_listen_in_order_once(any_store):
    platform = any_store.platform()
    spawn, wait, cancel, stop = spawn_workers(2, platform, [df.listener, df.add])
    eng, call = platform.engine, platform.runner.call
    spawn("l", "listener", {"n": 3})
    assert call(eng.send("l", "POST", "/numbers", b"1")) >= 1
    call(eng.send("l", "post", "/numbers", b"2"))            # methods are case-insensitive
    call(eng.send("l", "POST", "/other", b"nope"))            # another route: not for this listen
    time.sleep(0.1)
    call(eng.send("l", "POST", "/numbers", b"3"))
    assert wait("l", timeout=10) == [b"1", b"2", b"3"]
    # the tree has ended: its messages nobody took went with it
    assert platform.store.inbox_peek(1, "POST", "/numbers") is None
    assert platform.store.inbox_peek(1, "POST", "/other") is None
    with pytest.raises(ValueError, match="has finished"):
        call(eng.send("l", "POST", "/numbers", b"4"))
    with pytest.raises(KeyError):
        call(eng.send("zz", "POST", "/numbers", b"4"))
    with pytest.raises(TypeError, match="must be bytes"):
        call(eng.send("l", "POST", "/numbers", "text"))
    stop()


def test_message_sent_before_a_restart_is_delivered_after_it(any_store):
    platform = any_store.platform()
    spawn, wait, cancel, stop = spawn_workers(2, platform, [df.listener])
    spawn("l", "listener", {"n": 2})
    platform.runner.call(platform.engine.send("l", "POST", "/numbers", b"a"))
    platform.runner.call(platform.engine.send("l", "POST", "/numbers", b"b"))
    stop()
    platform = any_store.platform()
    spawn, wait, cancel, stop = spawn_workers(2, platform, [df.listener])
    assert wait("l", timeout=10) == [b"a", b"b"]
    stop()


def test_failed_impure_can_be_retried_once_fixed(any_store):
    platform = any_store.platform()
    spawn, wait, cancel, stop = spawn_workers(2, platform, [df.uses_fragile])
    df.FLAKY["broken"] = True
    spawn("f", "uses_fragile", {"x": 41})
    with pytest.raises(FlowFailed, match="provider down") as ei:
        wait("f", timeout=10)
    assert ei.value.exc_type == "ConnectionError" and ei.value.kind == "impure"
    df.FLAKY["broken"] = False
    assert platform.runner.call(platform.engine.retry("f")) is True
    assert wait("f", timeout=10) == 42
    assert platform.runner.call(platform.engine.retry("f")) is False      # done: nothing to retry
    stop()


def test_lock_contention_between_isolates(any_store):
    platform = any_store.platform()
    spawn, wait, cancel, stop = spawn_workers(4, platform, [df.contend])
    df.INSIDE.clear()
    df.OVERLAPS.clear()
    spawn("c", "contend", {"n": 8})
    assert wait("c", timeout=20) == 8
    assert df.OVERLAPS == []                   # never two isolates inside at once
    for i in range(1, 9):
        wait(f"c/{i}", timeout=20)
    assert platform.store.load_shared().locks == {}      # deleted with the ended tree
    stop()


def test_storage_per_isolate_does_not_grow_with_steps(any_store):
    platform = any_store.platform()
    spawn, wait, cancel, stop = spawn_workers(2, platform, [df.counter()])
    eng, call = platform.engine, platform.runner.call
    eng.time_scale = 0.0001
    spawn("c", "counter", {})
    sizes = {}
    deadline = time.time() + 20
    while len(sizes) < 2 and time.time() < deadline:
        row = platform.store.get_isolate("c")
        for n in (20, 400):
            if row.steps >= n and n not in sizes:
                sizes[n] = platform.store.storage_bytes(row.id)
        time.sleep(0.005)
    stop()
    # only the varint encodings of the growing numbers (count, the step counter) may widen
    assert 0 <= sizes[400] - sizes[20] <= 8, sizes


def test_spawn_workers_on_an_unwritable_store_raises(tmp_path):
    platform, _ = new_sqlite(str(tmp_path / "s.db"), listen_addr="127.0.0.1:0")
    platform.store.db.execute("PRAGMA query_only = 1")
    with pytest.raises(StoreReadOnly, match="read-only"):
        spawn_workers(1, platform, [df.add])
    assert platform.runner is None


def test_a_second_process_taking_the_store_fences_the_first_out(tmp_path):
    from deepslate.store import LeaseLost, SQLiteStore
    path = str(tmp_path / "s.db")
    platform, _ = new_sqlite(path, listen_addr="127.0.0.1:0")
    spawn, wait, cancel, stop = spawn_workers(2, platform, [df.add, df.nap])
    spawn("n", "nap", {"seconds": 0.2})
    other = SQLiteStore(path)
    other.claim("local")                     # what a second process opening this store does
    before = other.get_isolate("n")
    with pytest.raises(LeaseLost, match="another process took over"):
        spawn("x", "add", {"a": 1, "b": 1})
    with pytest.raises(StoreError):
        wait("n", timeout=5)
    stop()
    assert other.get_isolate("x") is None
    after = other.get_isolate("n")          # the stale node wrote nothing after losing it
    assert (after.status, after.steps, after.snapshot) == (before.status, before.steps, before.snapshot)
    other.close()


# -- the doors keep their own timeouts: a held engine loop, a dead engine, a stopped platform ------
# Bounds below are generous (a loaded 2-core machine): they check that a bound holds at all, where
# the doors used to wait for the loop (seconds) or forever.

HOLD = 3.0        # how long slow.hog's @pure holds the engine loop


def _run_within(limit, fn, *args, **kw):
    """Run ``fn`` on a daemon thread: (its exception or None, its value, seconds it took).
    Fails if it is still blocked after ``limit`` seconds (instead of hanging the test)."""
    box = {"error": None, "value": None}

    def run():
        t0 = time.monotonic()
        try:
            box["value"] = fn(*args, **kw)
        except BaseException as e:     # noqa: BLE001 - handed to the test
            box["error"] = e
        box["took"] = time.monotonic() - t0
    th = threading.Thread(target=run, daemon=True)
    th.start()
    th.join(limit)
    assert not th.is_alive(), f"{getattr(fn, '__name__', fn)} still blocked after {limit} s"
    return box["error"], box["value"], box["took"]


def _hold_the_loop(spawn, name="h"):
    slow.STALLING.clear()
    spawn(name, "hog", {"seconds": HOLD})
    assert slow.STALLING.wait(10), "the hog never started"


@pytest.fixture
def held(tmp_path):
    platform, _ = new_sqlite(str(tmp_path / "s.db"), listen_addr="127.0.0.1:0")
    d = spawn_workers(2, platform, [slow.hog, slow.idle, df.add])
    yield platform, d
    d[3]()


def _engine_tasks(platform):
    async def names():
        import asyncio
        return [t.get_coro().__qualname__ for t in asyncio.all_tasks()]
    return platform.runner.call(names(), 10)


def test_wait_timeout_holds_while_a_pure_holds_the_loop(held):
    platform, (spawn, wait, cancel, stop) = held
    spawn("o", "idle", {"seconds": 60.0})
    _hold_the_loop(spawn)
    t0 = time.monotonic()
    with pytest.raises(TimeoutError, match="'o' did not finish within 0.5 s"):
        wait("o", timeout=0.5)                         # from the main thread
    assert time.monotonic() - t0 < 2.0                 # the old door waited for the loop: ~3 s
    assert wait("h", timeout=20) == 1                  # the loop is free again
    assert "Engine.wait" not in _engine_tasks(platform)     # the abandoned wait did not linger
    with pytest.raises(TimeoutError, match="'o' did not finish within 0.2 s"):
        wait("o", timeout=0.2)                         # an unheld loop answers as before


def test_spawn_and_cancel_timeouts_hold_while_the_loop_is_held(held):
    platform, (spawn, wait, cancel, stop) = held
    spawn("o", "idle", {"seconds": 60.0})
    _hold_the_loop(spawn)
    t0 = time.monotonic()
    with pytest.raises(TimeoutError, match="may still be committed"):
        spawn("s", "add", {"a": 1, "b": 2}, timeout=0.5)
    assert time.monotonic() - t0 < 2.0
    t0 = time.monotonic()
    with pytest.raises(TimeoutError, match="cancel\\('o'\\)"):
        cancel("o", timeout=0.5)
    assert time.monotonic() - t0 < 2.0
    assert wait("h", timeout=20) == 1
    # what was handed over is carried out once the loop is free: spawning again tells
    assert spawn("s", "add", {"a": 1, "b": 2}, timeout=10)[1] is True
    assert wait("s", timeout=10) == 3
    with pytest.raises(FlowCancelled):
        wait("o", timeout=10)
    assert cancel("o", timeout=10) is False
    with pytest.raises(TypeError, match="timeout must be a number"):
        wait("o", timeout="soon")
    with pytest.raises(ValueError, match="NaN"):
        spawn("z", "add", {"a": 1, "b": 2}, timeout=float("nan"))


def test_doors_raise_when_the_engine_loop_is_stopped_under_them(tmp_path):
    platform, _ = new_sqlite(str(tmp_path / "s.db"), listen_addr="127.0.0.1:0")
    spawn, wait, cancel, stop = spawn_workers(2, platform, [slow.idle])
    spawn("o", "idle", {"seconds": 60.0})
    loop = platform.runner.loop
    threading.Timer(0.3, lambda: loop.call_soon_threadsafe(loop.stop)).start()
    err, _, took = _run_within(5, wait, "o")                # no timeout: used to block forever
    assert isinstance(err, RuntimeError), err
    assert "the deepslate engine is not running: its event loop was stopped" in str(err)
    assert took < 0.3 + 1.5
    err, _, took = _run_within(5, wait, "o", timeout=3)     # well before its 3 s
    assert isinstance(err, RuntimeError) and "not running" in str(err), err
    assert took < 1.5
    for door, args in ((spawn, ("p", "idle", {"seconds": 1.0})), (cancel, ("o",))):
        err, _, took = _run_within(5, door, *args)
        assert isinstance(err, RuntimeError) and "not running" in str(err), err
    err, _, took = _run_within(5, stop)                     # a dead engine still stops cleanly
    assert err is None and took < 3.0, err
    with pytest.raises(RuntimeError, match="not running: it was stopped"):
        wait("o")


def test_a_wait_in_flight_sees_the_engine_thread_die(tmp_path):
    platform, _ = new_sqlite(str(tmp_path / "s.db"), listen_addr="127.0.0.1:0")
    spawn, wait, cancel, stop = spawn_workers(2, platform, [slow.idle])
    spawn("o", "idle", {"seconds": 60.0})
    loop = platform.runner.loop

    def die():
        raise SystemExit("killed in a test")      # a BaseException out of a callback ends run_forever
    threading.Timer(0.3, lambda: loop.call_soon_threadsafe(die)).start()
    err, _, took = _run_within(8, wait, "o", timeout=3)
    assert isinstance(err, RuntimeError), err                 # not a TimeoutError after 3 s
    assert "its event loop died of SystemExit: killed in a test" in str(err)
    assert took < 0.3 + 1.5
    assert not platform.runner.thread.is_alive()
    err, _, took = _run_within(5, stop)
    assert err is None and took < 3.0, err


def test_spawn_workers_on_a_stopped_platform_raises(tmp_path):
    path = str(tmp_path / "s.db")
    platform, _ = new_sqlite(path, listen_addr="127.0.0.1:0")
    spawn, wait, cancel, stop = spawn_workers(1, platform, [df.add])
    spawn("a", "add", {"a": 1, "b": 2})
    stop()
    with pytest.raises(RuntimeError, match="was stopped: stop\\(\\) closed its store. Open the store again "
                                           "with new_sqlite"):
        spawn_workers(1, platform, [df.add])           # used to say "Cannot operate on a closed database"
    assert platform.stopped and platform.runner is None
    for door, args in ((spawn, ("b", "add", {"a": 1, "b": 2})), (wait, ("a",)), (cancel, ("a",))):
        with pytest.raises(RuntimeError, match="not running: it was stopped"):
            door(*args)
    platform, _ = new_sqlite(path, listen_addr="127.0.0.1:0")                           # what the message says to do
    spawn, wait, cancel, stop = spawn_workers(1, platform, [df.add])
    assert wait("a", timeout=10) == 3
    stop()


def test_stop_is_bounded_when_the_loop_is_held(tmp_path):
    path = str(tmp_path / "s.db")
    platform, _ = new_sqlite(path, listen_addr="127.0.0.1:0")
    spawn, wait, cancel, stop = spawn_workers(2, platform, [slow.hog, slow.idle])
    spawn("o", "idle", {"seconds": 0.2})
    assert wait("o", timeout=10) == "idled"
    runner = platform.runner
    _hold_the_loop(spawn)
    err, _, took = _run_within(8, stop, timeout=0.5)
    assert err is None, err
    assert took < 2.0                                       # not the 3 s the loop is held
    assert platform.stopped and platform.runner is None
    with pytest.raises(RuntimeError, match="not running: it was stopped"):
        wait("o", timeout=1)
    with pytest.raises(RuntimeError, match="was stopped"):
        spawn_workers(2, platform, [slow.hog, slow.idle])
    stop()                                                   # idempotent
    runner.thread.join(HOLD + 10)                            # the engine finishes stopping on its own
    assert not runner.thread.is_alive()
    platform, _ = new_sqlite(path, listen_addr="127.0.0.1:0")
    spawn, wait, cancel, stop = spawn_workers(2, platform, [slow.hog, slow.idle])
    assert wait("o", timeout=10) == "idled"
    assert wait("h", timeout=HOLD + 10) == 1                # committed or resumed: nothing lost
    stop()
