"""The elastic pool behind blocking @impure calls: outcomes, no starvation, timeouts counted
from a call's start, abandoned threads, idle threads retiring, and close. Real threads and a
real event loop; every wait is bounded and every blocked thread is released at the end."""
import asyncio
import contextvars
import logging
import threading
import time

import pytest

from deepslate.runtime.blocking import ImpurePool, Outcome

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("VAR", default="unset")

pytestmark = pytest.mark.timeout(30)


class Sink:
    """deliver(): records every outcome, the thread it ran on, and wakes waiters."""

    def __init__(self, fail_on=()):
        self.got: list[tuple[object, Outcome]] = []
        self.threads: set[threading.Thread] = set()
        self.changed = asyncio.Event()
        self.fail_on = set(fail_on)

    def __call__(self, tag, out):
        self.threads.add(threading.current_thread())
        self.got.append((tag, out))
        self.changed.set()
        if tag in self.fail_on:
            raise RuntimeError(f"deliver fails on {tag!r}")

    def of(self, tag) -> list[Outcome]:
        return [o for t, o in self.got if t == tag]

    async def until(self, pred, within: float = 5.0) -> None:
        async def wait():
            while not pred():
                self.changed.clear()
                await self.changed.wait()
        await asyncio.wait_for(wait(), within)

    async def count(self, n: int, within: float = 5.0) -> None:
        await self.until(lambda: len(self.got) >= n, within)


async def eventually(pred, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not pred():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


@pytest.fixture
def gate():
    """An Event hung calls wait on; set at teardown so no test leaves a thread blocked."""
    ev = threading.Event()
    yield ev
    ev.set()


@pytest.fixture
def pools():
    made: list[ImpurePool] = []

    def make(deliver, **kw) -> ImpurePool:
        pool = ImpurePool(asyncio.get_running_loop(), deliver, **kw)
        made.append(pool)
        return pool
    yield make
    for p in made:
        p.close()


def ctx() -> contextvars.Context:
    return contextvars.copy_context()


async def test_values_exceptions_and_context_reach_the_loop(pools):
    sink = Sink()
    names = set()

    def work(x):
        names.add(threading.current_thread().name)
        if x == 0:
            raise ZeroDivisionError("x is 0")
        return f"{VAR.get()}:{10 // x}"
    pool = pools(sink, min_threads=2)
    c = ctx()
    c.run(VAR.set, "key-1")
    for x in (1, 2, 0):
        pool.submit(c.copy(), work, (x,), x)
    await sink.count(3)
    assert sink.of(1) == [(True, "key-1:10")] and sink.of(2) == [(True, "key-1:5")]
    [(ok, e)] = sink.of(0)
    assert not ok and isinstance(e, ZeroDivisionError)
    assert sink.threads == {threading.current_thread()}            # deliver runs on the loop's thread
    assert names and all(n.startswith("deepslate-impure-") for n in names)
    assert all(t.daemon for t in pool.alive_threads())


async def test_eight_hung_calls_do_not_delay_a_ninth(pools, gate):
    sink = Sink()
    started = threading.Semaphore(0)

    def hang():
        started.release()
        gate.wait(20)
        return "released"
    pool = pools(sink)                      # min_threads=4: the old pool had 4 threads in all
    for i in range(8):
        pool.submit(ctx(), hang, (), ("hung", i))
    for _ in range(8):
        assert started.acquire(timeout=5)
    t0 = time.monotonic()
    pool.submit(ctx(), lambda: "quick", (), "ninth")
    await sink.count(1, within=2)
    assert sink.got == [("ninth", (True, "quick"))]
    assert time.monotonic() - t0 < 1.0
    assert pool.threads == 9 and pool.queued == 0
    gate.set()
    await sink.count(9)
    assert sorted(t for t, o in sink.got if o == (True, "released")) == [("hung", i) for i in range(8)]


async def test_a_call_queued_at_max_threads_times_out_from_its_start_not_its_submit(pools):
    sink = Sink()
    started_at = {}

    slow_started = threading.Event()

    def slow():
        slow_started.set()
        time.sleep(0.6)
        return "slow"

    def quick():
        started_at["quick"] = time.monotonic()
        return "quick"
    pool = pools(sink, min_threads=1, max_threads=1)
    t0 = time.monotonic()
    pool.submit(ctx(), slow, (), "slow")
    assert slow_started.wait(5)
    pool.submit(ctx(), quick, (), "quick", timeout=0.2)   # waits ~0.6 s for the only thread
    assert pool.queued == 1
    await sink.count(2)
    assert sink.of("slow") == [(True, "slow")]
    assert sink.of("quick") == [(True, "quick")]          # not a TimeoutError: queued time is free
    assert started_at["quick"] - t0 >= 0.5
    await asyncio.sleep(0.3)                              # its deadline (start + 0.2 s) passes quietly
    assert len(sink.got) == 2 and pool.abandoned == 0


@pytest.mark.parametrize("late", ["returns", "raises"])
async def test_a_timed_out_call_is_delivered_once_and_its_thread_no_longer_counts(pools, gate, late):
    sink = Sink()
    ran = threading.Event()

    def stuck():
        ran.set()
        gate.wait(20)
        if late == "raises":
            raise ValueError("too late")
        return "too late"
    pool = pools(sink, min_threads=1, max_threads=1)
    t0 = time.monotonic()
    pool.submit(ctx(), stuck, (), "stuck", timeout=0.2)
    await sink.count(1)
    elapsed = time.monotonic() - t0
    [(ok, e)] = sink.of("stuck")
    assert not ok and isinstance(e, TimeoutError)
    assert "stuck" in str(e) and "timed out after 0.2 s" in str(e)
    assert 0.2 <= elapsed < 2.0
    assert ran.is_set()
    assert pool.abandoned == 1 and pool.threads == 0 and pool.running == 0
    [hung] = pool.alive_threads()

    # max_threads=1 and its only thread is stuck, yet a new call runs at once
    pool.submit(ctx(), lambda: "next", (), "next")
    await sink.count(2, within=2)
    assert sink.of("next") == [(True, "next")]
    assert pool.threads == 1

    gate.set()                                           # the stuck call returns (or raises) now
    hung.join(5)
    assert not hung.is_alive()                           # an abandoned thread ends with its call
    assert pool.abandoned == 0
    await asyncio.sleep(0.1)
    assert len(sink.of("stuck")) == 1                    # its late outcome went nowhere
    assert pool.threads == 1


async def test_timed_out_calls_free_capacity_for_queued_calls(pools, gate):
    sink = Sink()
    pool = pools(sink, min_threads=0, max_threads=2)
    started = threading.Semaphore(0)

    def stuck():
        started.release()
        gate.wait(20)
    for i in range(2):
        pool.submit(ctx(), stuck, (), ("stuck", i), timeout=0.2)
    for _ in range(2):
        assert started.acquire(timeout=5)
    pool.submit(ctx(), lambda: "waited", (), "queued", timeout=0.5)
    assert pool.queued == 1
    await sink.count(3)
    assert sink.of("queued") == [(True, "waited")]
    assert all(not ok and isinstance(e, TimeoutError) for t, (ok, e) in sink.got if t != "queued")
    assert pool.abandoned == 2 and pool.threads == 1


async def test_many_calls_with_and_without_timeouts_each_delivered_once(pools):
    sink = Sink()
    pool = pools(sink, min_threads=2, max_threads=8)
    n = 2000
    for i in range(n):
        pool.submit(ctx(), pow, (i, 2), i, timeout=30.0 if i % 2 else None)
    await sink.count(n, within=20)
    assert sorted(t for t, _ in sink.got) == list(range(n))
    assert all(out == (True, t * t) for t, out in sink.got)
    assert pool.threads <= 8 and pool.abandoned == 0


@pytest.mark.parametrize("exc", [SystemExit(3), KeyboardInterrupt(), asyncio.CancelledError(),
                                 GeneratorExit(), BaseException("plain")],
                         ids=lambda e: type(e).__name__)
async def test_base_exceptions_become_outcomes_and_keep_the_thread(pools, exc):
    sink = Sink()
    names = []

    def boom():
        names.append(threading.current_thread().name)
        raise exc

    def fine():
        names.append(threading.current_thread().name)
        return "still here"
    pool = pools(sink, min_threads=1, max_threads=1)
    pool.submit(ctx(), boom, (), "boom", timeout=5.0)
    await sink.count(1)
    pool.submit(ctx(), fine, (), "fine")
    await sink.count(2)
    [(ok, e)] = sink.of("boom")
    assert not ok and e is exc
    assert sink.of("fine") == [(True, "still here")]
    assert names[0] == names[1]                          # the same thread served both
    assert pool.threads == 1 and len(pool.alive_threads()) == 1


async def test_idle_threads_above_min_retire(pools):
    sink = Sink()
    go = threading.Event()
    pool = pools(sink, min_threads=1, max_threads=8, idle_seconds=0.2)
    try:
        for i in range(5):
            pool.submit(ctx(), go.wait, (10,), i)
        await eventually(lambda: pool.running == 5)
        assert pool.threads == 5 and pool.idle == 0
    finally:
        go.set()
    await sink.count(5)
    await eventually(lambda: pool.threads == 1 and len(pool.alive_threads()) == 1, within=5)
    assert pool.idle == 1
    await asyncio.sleep(0.5)                             # never below min_threads
    assert pool.threads == 1 and len(pool.alive_threads()) == 1
    pool.submit(ctx(), lambda: "after", (), "after")     # the remaining thread still serves
    await sink.count(6)
    assert sink.of("after") == [(True, "after")] and pool.threads == 1


async def test_light_load_reuses_one_thread(pools):
    sink = Sink()
    names = set()
    pool = pools(sink, min_threads=0, max_threads=8)

    def work(i):
        names.add(threading.current_thread().name)
        return i
    for i in range(20):                                  # one call at a time
        pool.submit(ctx(), work, (i,), i)
        await sink.count(i + 1)
    assert len(names) == 1 and pool.threads == 1


async def test_deliver_raising_does_not_break_the_pool(pools, caplog):
    sink = Sink(fail_on={1})
    pool = pools(sink, min_threads=1, max_threads=1)
    with caplog.at_level(logging.ERROR, logger="deepslate.runtime"):
        for i in range(3):
            pool.submit(ctx(), lambda i=i: i, (), i)
        await sink.count(3)
        pool.submit(ctx(), lambda: "later", (), "later")
        await sink.count(4)
    assert [t for t, _ in sink.got] == [0, 1, 2, "later"]
    assert any("deliver fails on 1" in r.getMessage() or (r.exc_info and "deliver fails on 1" in str(r.exc_info[1]))
               for r in caplog.records)


async def test_abandoned_threads_are_reported(pools, gate, caplog):
    sink = Sink()
    pool = pools(sink, min_threads=0, max_threads=4)
    with caplog.at_level(logging.WARNING, logger="deepslate.runtime"):
        for i in range(16):
            pool.submit(ctx(), gate.wait, (20,), i, timeout=0.1)
        await sink.count(16)
        await eventually(lambda: any("16 @impure calls timed out" in r.getMessage() for r in caplog.records),
                         within=2)
    assert pool.abandoned == 16 and pool.threads == 0
    assert all(not ok and isinstance(e, TimeoutError) for _, (ok, e) in sink.got)
    gate.set()
    await eventually(lambda: pool.abandoned == 0 and not pool.alive_threads())


async def test_close_drops_calls_not_started(pools, gate):
    sink = Sink()
    ran = []
    started = threading.Event()

    def slow(i):
        started.set()
        gate.wait(10)
        ran.append(i)
        return i
    pool = pools(sink, min_threads=1, max_threads=1)
    for i in range(5):
        pool.submit(ctx(), slow, (i,), i, timeout=None if i else 5.0)
    assert started.wait(5)
    assert pool.queued == 4
    pool.close()                                         # call 0 is running; 1-4 never start
    assert pool.queued == 0
    threads = pool.alive_threads()
    gate.set()
    for t in threads:
        t.join(5)
        assert not t.is_alive()
    pool.submit(ctx(), slow, (9,), 9)                    # ignored once closed
    await asyncio.sleep(0.1)
    assert ran == [0] and sink.got == []


async def test_close_drops_outcomes_not_delivered(pools):
    sink = Sink()
    pool = pools(sink, min_threads=2, max_threads=2)
    for i in range(2):
        pool.submit(ctx(), lambda i=i: i, (), i)
    # hold the loop (a blocking wait on its own thread) until both calls ended
    deadline = time.monotonic() + 5
    while pool.running:
        assert time.monotonic() < deadline
        time.sleep(0.001)
    pool.close()                                         # their outcomes are queued for the loop
    await asyncio.sleep(0.1)
    assert sink.got == []
    for t in pool.alive_threads():                       # idle threads end on close
        t.join(5)
    assert not pool.alive_threads()


async def test_close_drops_a_pending_timeout(pools, gate):
    sink = Sink()
    pool = pools(sink, min_threads=1, max_threads=1)
    ran = threading.Event()

    def stuck():
        ran.set()
        gate.wait(10)
    pool.submit(ctx(), stuck, (), "stuck", timeout=0.2)
    assert ran.wait(5)
    pool.close()
    await asyncio.sleep(0.4)                             # past its deadline: nothing delivered
    assert sink.got == []
    gate.set()


@pytest.mark.timeout(10)
def test_close_and_late_outcomes_after_the_loop_closed():
    loop = asyncio.new_event_loop()
    errors = []
    old_hook = threading.excepthook
    threading.excepthook = lambda args: errors.append(args.exc_value)
    try:
        go, started = threading.Event(), threading.Event()

        def late():
            started.set()
            go.wait(5)
        pool = ImpurePool(loop, lambda tag, out: errors.append(("delivered", tag)), min_threads=1)
        pool.submit(contextvars.copy_context(), late, (), "late")
        assert started.wait(5)
        [t] = pool.alive_threads()
        loop.close()
        go.set()                     # the call ends after the loop closed: nowhere to deliver
        t.join(0.5)
        pool.close()                 # a closed loop: must not raise
        pool.close()
        t.join(5)
        assert not t.is_alive() and errors == []
    finally:
        threading.excepthook = old_hook


@pytest.mark.timeout(5)
def test_bad_sizes_are_rejected():
    loop = asyncio.new_event_loop()
    try:
        for kw in ({"max_threads": 0}, {"min_threads": 5, "max_threads": 4}, {"idle_seconds": 0},
                   {"batch": 0}, {"hold_seconds": -1}):
            with pytest.raises(ValueError, match=next(iter(kw))):
                ImpurePool(loop, print, **kw)
    finally:
        loop.close()


async def test_an_outcome_held_behind_queued_calls_arrives_though_they_hang(pools, gate):
    # an outcome waits for the calls queued behind it only so long: here the one thread goes
    # on to a call that never returns, and the outcome must reach the loop all the same
    sink = Sink()
    go = threading.Event()

    def quick():
        go.wait(5)
        return "quick"
    pool = pools(sink, min_threads=1, max_threads=1, hold_seconds=0.05)
    pool.submit(ctx(), quick, (), "quick")
    pool.submit(ctx(), lambda: gate.wait(20), (), "hung")
    go.set()                                    # quick ends with the hung call queued behind it
    await sink.count(1, within=3)
    assert sink.got == [("quick", (True, "quick"))]


async def test_a_burst_of_calls_wakes_the_loop_once_per_batch(pools):
    sink = Sink()
    pool = pools(sink, min_threads=4, batch=100, hold_seconds=30)
    wakes = []
    drain = pool._drain

    def counted():
        wakes.append(len(pool._ended))
        drain()
    pool._drain = counted
    n = 1000
    for i in range(n):
        pool.submit(ctx(), time.sleep, (0.0005,), i)      # releases the GIL: the loop could wake each time
    await sink.count(n, within=20)
    assert sorted(t for t, _ in sink.got) == list(range(n))
    # batches of 100 while calls are queued; what ends with none queued goes at once
    assert len(wakes) <= n // 100 + 8, wakes


async def test_quick_calls_do_not_grow_the_pool_however_often_the_watcher_looks(pools):
    # the watcher also wakes for held outcomes (here every millisecond); only a stall_seconds
    # without a call started means the threads are stuck, not a look between two calls
    sink = Sink()
    pool = pools(sink, min_threads=1, max_threads=8, stall_seconds=0.05, hold_seconds=0.001)
    for i in range(150):
        pool.submit(ctx(), time.sleep, (0.002,), i)
    await sink.count(150, within=20)
    assert pool.threads == 1
