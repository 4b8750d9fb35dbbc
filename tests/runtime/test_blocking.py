"""The blocking pool behind @impure first attempts: outcomes, batching, and close."""
import asyncio
import contextvars
import threading

from deepslate.runtime.blocking import BlockingPool

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("VAR", default="unset")


async def test_values_exceptions_and_context_reach_the_loop():
    loop = asyncio.get_running_loop()
    got = {}
    done = asyncio.Event()
    threads = set()

    def deliver(tag, out):
        assert threading.current_thread() is threading.main_thread()   # on the loop's thread
        got[tag] = out
        if len(got) == 3:
            done.set()

    def work(x):
        threads.add(threading.current_thread().name)
        if x == 0:
            raise ZeroDivisionError("x is 0")
        return f"{VAR.get()}:{10 // x}"
    pool = BlockingPool(loop, 2, deliver)
    ctx = contextvars.copy_context()
    ctx.run(VAR.set, "key-1")
    for x in (1, 2, 0):
        pool.submit(ctx, work, (x,), x)
    await asyncio.wait_for(done.wait(), 10)
    assert got[1] == (True, "key-1:10") and got[2] == (True, "key-1:5")
    ok, e = got[0]
    assert not ok and isinstance(e, ZeroDivisionError)
    assert threads <= {"deepslate-impure-0", "deepslate-impure-1"}
    pool.close()


async def test_close_drops_calls_not_started_and_outcomes_not_delivered():
    loop = asyncio.get_running_loop()
    ran, delivered = [], []
    gate = threading.Event()
    started = threading.Event()

    def slow(i):
        started.set()
        gate.wait(10)
        ran.append(i)
        return i
    pool = BlockingPool(loop, 1, lambda tag, out: delivered.append(tag))
    for i in range(5):
        pool.submit(contextvars.copy_context(), slow, (i,), i)
    assert started.wait(10)
    pool.close()                          # call 0 is running; 1-4 never start
    gate.set()
    for t in pool.threads:
        t.join(10)
    await asyncio.sleep(0.05)
    assert ran == [0] and delivered == []
