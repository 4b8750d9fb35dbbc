"""Flows for the isolation tests: poison values, user exceptions of every type, hand-offs
whose giver fails, locks across failure and retry, values that must be copied."""
import asyncio
import threading
import time

from deepslate import DSError, dpslio, flow, impure, pure, sleep

LOG: list[str] = []            # witnessed outside the store: lock holders' enter/exit
CALLS: dict[str, int] = {}     # @impure calls per key
HANG = threading.Event()       # hung @impure calls wait on it; the tests set it when done
MEET = threading.Barrier(4)    # four @impure calls that each return only once all four run
SHARED_LIST: list[int] = [1, 2, 3]
BROKEN = {"on": True}
RAISE: dict[str, BaseException] = {}


class Boom(BaseException):
    """A user BaseException subclass."""


@pure
def lone_surrogate() -> str:
    return b"caf\xff".decode("utf-8", "surrogateescape")


@pure
def big_list(n: int) -> list[int]:
    return list(range(n))


@pure
def raise_named(kind: str) -> int:
    raise RAISE[kind]


@pure
def slow_pure(seconds: float) -> int:
    time.sleep(seconds)
    return 1


@impure
def count(key: str) -> int:
    CALLS[key] = CALLS.get(key, 0) + 1
    return CALLS[key]


@impure
def impure_raise(kind: str) -> int:
    raise RAISE[kind]


@impure
async def impure_raise_async(kind: str) -> int:
    await asyncio.sleep(0)
    raise RAISE[kind]


@impure
def hang(i: int) -> int:
    HANG.wait(30)
    return i


@impure
def meet(i: int) -> int:
    MEET.wait(20)
    return i


@impure(timeout=0.3)
def nap(seconds: float) -> str:
    time.sleep(seconds)
    return "rested"


@impure
def shared_list() -> list[int]:
    return SHARED_LIST


@impure
def returns_a_set() -> list[int]:
    return {1, 2}  # type: ignore[return-value]


@impure
def fragile(who: str) -> int:
    CALLS[who] = CALLS.get(who, 0) + 1
    if BROKEN["on"]:
        raise ConnectionError("provider down")
    return 7


@impure
def enter(who: str) -> None:
    LOG.append(f"enter {who}")


@impure
def leave(who: str) -> None:
    LOG.append(f"exit {who}")


@flow
async def steady(n: int) -> int:
    total: int = 0
    for i in range(n):
        sleep(0.001)
        total = total + i
    return total


@flow
async def keeps_surrogates() -> list[str]:
    lit: str = "\ud800 and \U0001f600"
    got: str = lone_surrogate()
    sleep(0.0)                          # both held across a durable point
    print(lit, got)
    return [lit, got]


@flow
async def prints_surrogate() -> str:
    print("got", lone_surrogate())     # not held across the durable point: the log is the test
    sleep(0.0)
    return "printed"


@flow
async def huge_wg_add() -> int:
    wg: dpslio.WaitGroup = dpslio.WaitGroup()
    wg.add(2 ** 63)
    return 1


@flow
async def huge_capacity() -> int:
    q: dpslio.Queue[int] = dpslio.Queue[int](2 ** 63)
    await q.put(1)
    return 1


@flow
async def grows(n: int) -> int:
    xs: list[int] = big_list(n)
    sleep(0.0)
    return len(xs)


@flow
async def appends_forever() -> int:
    xs: list[int] = []
    while True:
        xs.append(len(xs))
    return 0


@flow
async def pure_raises(kind: str) -> int:
    sleep(0.0)
    return raise_named(kind)


@flow
async def impure_raises(kind: str) -> int:
    return impure_raise(kind)


@flow
async def impure_raises_async(kind: str) -> int:
    return impure_raise_async(kind)


@flow
async def holds_loop(seconds: float) -> int:
    sleep(0.0)
    return slow_pure(seconds)


@flow
async def hangs(i: int) -> int:
    return hang(i)


@flow
async def meets(i: int) -> int:
    return meet(i)


@flow
async def naps(seconds: float) -> str:
    return nap(seconds)


@flow
async def mutates_impure_result() -> list[int]:
    xs: list[int] = shared_list()
    xs.append(99)
    return xs


@flow
async def takes_a_set() -> int:
    xs: list[int] = returns_a_set()
    return len(xs)


@flow
async def keeps_arg(xs: list[int]) -> list[int]:
    sleep(0.05)
    return xs


@flow
async def getter(q: dpslio.Queue[int]) -> int:
    return await q.get()


@flow
async def put_then_grow(q: dpslio.Queue[int], n: int) -> int:
    await q.put(42)
    xs: list[int] = big_list(n)
    sleep(0.0)
    return len(xs)


@flow
async def done_then_grow(wg: dpslio.WaitGroup, n: int) -> int:
    await wg.done()
    xs: list[int] = big_list(n)
    sleep(0.0)
    return len(xs)


@flow
async def handoff_fails(n: int) -> int:
    """A child puts and then outgrows the snapshot limit: its put must never reach the getter."""
    q: dpslio.Queue[int] = dpslio.Queue[int]()
    dpslio.create_task(put_then_grow(q, n))
    match dpslio.select:
        case _ if v := await q.get():
            return v
    return -1


@flow
async def wg_done_fails(n: int) -> int:
    wg: dpslio.WaitGroup = dpslio.WaitGroup()
    wg.add(1)
    dpslio.create_task(done_then_grow(wg, n))
    await wg.wait()
    return 1


@flow
async def holder(mu: dpslio.Lock, who: str, hold: float) -> None:
    await mu.acquire()
    enter(who)
    sleep(hold)
    leave(who)
    await mu.release()


@flow
async def fragile_holder(mu: dpslio.Lock, who: str) -> int:
    await mu.acquire()
    enter(who)
    v: int = fragile(who)
    leave(who)
    await mu.release()
    return v


@flow
async def lock_retry_scene() -> int:
    """f takes the lock and fails in fragile(); g takes it after; f, retried, must wait for g."""
    mu: dpslio.Lock = dpslio.Lock()
    dpslio.create_task(fragile_holder(mu, "f"))
    sleep(0.2)
    dpslio.create_task(holder(mu, "g", 0.5))
    sleep(3600.0)
    return 0


@flow
async def cancel_scene() -> int:
    """h holds the lock; w waits for it; the test cancels h."""
    mu: dpslio.Lock = dpslio.Lock()
    dpslio.create_task(holder(mu, "h", 3600.0))
    sleep(0.2)
    dpslio.create_task(holder(mu, "w", 0.01))
    sleep(3600.0)
    return 0


@flow
async def fails_once(who: str) -> int:
    q: dpslio.Queue[int] = dpslio.Queue[int]()
    await q.put(1)
    return fragile(who)


@flow
async def error_value(msg: str) -> int | DSError:
    return DSError(msg)


@flow
async def spinner() -> int:
    n: int = 0
    while True:
        sleep(0.001)
        n = n + count("spin")
    return n


@flow
async def mid() -> int:
    dpslio.create_task(spinner())
    sleep(3600.0)
    return 0


@flow
async def tree_root() -> int:
    dpslio.create_task(mid())
    sleep(3600.0)
    return 0


@flow
async def prints_a_lot(n: int) -> int:
    for i in range(n):
        print("line", i)
    sleep(0.0)
    return n
