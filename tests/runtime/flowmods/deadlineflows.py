"""Flows for tests/runtime/test_deadlines.py: http_listen with a timeout, select over a queue,
a route and a timeout, and children that end with their parent."""
from __future__ import annotations

from deepslate import DSError, dpslio, flow, http_listen, impure, sleep

FLAKY = {"fail": True}


@flow
async def listen_once(timeout: float) -> bytes | DSError:
    return http_listen("POST", "/x", timeout=timeout)


@flow
async def listen_late(timeout: float) -> list[str]:
    """A timeout, then a gate, then the same route again: a message sent after the timeout
    fired is there for the second listen."""
    out: list[str] = []
    first: bytes | DSError = http_listen("POST", "/x", timeout=timeout)
    if isinstance(first, DSError):
        out.append(first.kind)
    else:
        out.append(str(first))
    gate: bytes | DSError = http_listen("POST", "/gate")
    second: bytes | DSError = http_listen("POST", "/x", timeout=timeout * 1000.0)
    if isinstance(second, DSError):
        out.append(second.kind)
    else:
        out.append(str(second))
    return out


@flow
async def feeder(q: dpslio.Queue[int], wg: dpslio.WaitGroup) -> None:
    go: bytes | DSError = http_listen("POST", "/feed")
    await q.put(7)
    await wg.done()


@flow
async def chooser(timeout: float, then_get: bool, then_listen: bool) -> list[str]:
    """Select over a queue (fed by child /1 once it gets /feed), the route /approve and a
    timeout, once /go arrives; then, as asked, read the queue and the route again to show what
    the select did not take is still there."""
    q: dpslio.Queue[int] = dpslio.Queue[int]()
    wg: dpslio.WaitGroup = dpslio.WaitGroup()
    wg.add(1)
    dpslio.create_task(feeder(q, wg))
    go: bytes | DSError = http_listen("POST", "/go")
    out: list[str] = []
    match dpslio.select:
        case _ if v := await q.get():
            out.append(f"queue {v}")
        case _ if body := await http_listen("POST", "/approve"):
            out.append(f"listen {str(body)}")
        case _ if await sleep(timeout):
            out.append("timeout")
    if then_get:
        w: int = await q.get()
        out.append(f"queue {w}")
    if then_listen:
        b: bytes | DSError = http_listen("POST", "/approve")
        out.append(f"listen {str(b)}")
    await wg.wait()
    return out


@flow
async def select_loop(n: int) -> int:
    """n selects on an empty queue that each time out: no getter is left behind."""
    q: dpslio.Queue[int] = dpslio.Queue[int]()
    fired: int = 0
    for i in range(n):
        match dpslio.select:
            case _ if v := await q.get():
                fired = fired - 1000
            case _ if await sleep(0.0):
                fired = fired + 1
    done: bytes | DSError = http_listen("POST", "/done")
    return fired


@flow
async def napper(seconds: float) -> str:
    sleep(seconds)
    return "woke"


@flow
async def holder(lk: dpslio.Lock) -> str:
    await lk.acquire()
    sleep(3600.0)
    await lk.release()
    return "released"


@flow
async def taker(lk: dpslio.Lock) -> str:
    await lk.acquire()
    await lk.release()
    return "took it"


@flow
async def parent_returns(pause: float) -> str:
    """Returns at once: its attached child is cancelled, the detached one lives on."""
    dpslio.create_task(napper(3600.0))
    dpslio.create_task(napper(pause), detach=True)
    return "parent done"


@flow
async def parent_waits(gate: str, pause: float) -> str:
    """Two attached children and one detached (which sleeps ``pause``), then waits for a message."""
    dpslio.create_task(napper(3600.0))
    dpslio.create_task(napper(3600.0))
    dpslio.create_task(napper(pause), detach=True)
    go: bytes | DSError = http_listen("POST", gate)
    return "parent done"


@flow
async def grandparent() -> str:
    """A child with a grandchild of its own, then waits for ever."""
    dpslio.create_task(parent_waits("/never", 0.0))
    go: bytes | DSError = http_listen("POST", "/never")
    return "grandparent done"


@flow
async def parent_faults(d: int) -> int:
    dpslio.create_task(napper(3600.0))
    go: bytes | DSError = http_listen("POST", "/go")
    return 10 // d


@impure
def flaky() -> int:
    if FLAKY["fail"]:
        raise RuntimeError("provider down")
    return 5


@flow
async def parent_flaky() -> int:
    dpslio.create_task(napper(3600.0))
    go: bytes | DSError = http_listen("POST", "/go")
    return flaky()


@flow
async def lock_parent() -> str:
    """Its attached child takes the lock and sleeps; a detached one waits for the lock; the
    parent returns once the lock is taken, which cancels the holder and frees the lock."""
    lk: dpslio.Lock = dpslio.Lock()
    dpslio.create_task(holder(lk))
    go: bytes | DSError = http_listen("POST", "/go")
    dpslio.create_task(taker(lk), detach=True)
    return "parent done"
