"""Flows for the runtime tests of the public doors."""
from dataclasses import dataclass

from deepslate import DSError, dpslio, flow, http_listen, http_request, idempotency_key, impure, sleep

KEYS: list[str] = []


@dataclass
class Order:
    id: int
    items: list[str]


@impure
def charge(order_id: int, cents: int) -> str:
    KEYS.append(idempotency_key())
    return f"charged {order_id}:{cents}"


@flow
async def add(a: int, b: int) -> int:
    sleep(0.0)
    return a + b


@flow
async def counter():
    count: int = 0
    while True:
        sleep(1.0)
        count = count + 1


@flow
async def nap(seconds: float) -> str:
    sleep(seconds)
    return "rested"


@flow
async def fail_div(x: int) -> int:
    sleep(0.0)
    return 10 // x


@flow
async def checkout(o: Order, cents: int) -> str:
    r: str = charge(o.id, cents)
    return r + " " + str(len(o.items))


@flow
async def returns_error(msg: str) -> int | DSError:
    sleep(0.0)
    return DSError(msg)


@flow
async def worker(q: dpslio.Queue[int], out: dpslio.Queue[int], wg: dpslio.WaitGroup) -> None:
    v: int = await q.get()
    await out.put(v * v)
    await wg.done()


@flow
async def fanout(n: int) -> int:
    q: dpslio.Queue[int] = dpslio.Queue[int]()
    out: dpslio.Queue[int] = dpslio.Queue[int]()
    wg: dpslio.WaitGroup = dpslio.WaitGroup()
    wg.add(n)
    for i in range(n):
        dpslio.create_task(worker(q, out, wg))
    for i in range(n):
        await q.put(i)
    await wg.wait()
    total: int = 0
    for i in range(n):
        total = total + await out.get()
    return total


@flow
async def listener(n: int) -> list[bytes]:
    out: list[bytes] = []
    for i in range(n):
        data: bytes | DSError = http_listen("POST", "/numbers")
        if isinstance(data, bytes):
            out.append(data)
    return out


FLAKY = {"broken": True}


@impure
def fragile(x: int) -> int:
    if FLAKY["broken"]:
        raise ConnectionError("provider down")
    return x + 1


@flow
async def uses_fragile(x: int) -> int:
    sleep(0.0)
    return fragile(x)


INSIDE: list[int] = []
OVERLAPS: list[int] = []


@impure
def enter(i: int) -> None:
    if INSIDE:
        OVERLAPS.append(i)
    INSIDE.append(i)


@impure
def leave(i: int) -> None:
    INSIDE.remove(i)


@flow
async def critical(mu: dpslio.Lock, i: int, wg: dpslio.WaitGroup) -> None:
    await mu.acquire()
    enter(i)
    sleep(0.005)
    leave(i)
    await mu.release()
    await wg.done()


@flow
async def contend(n: int) -> int:
    mu: dpslio.Lock = dpslio.Lock()
    wg: dpslio.WaitGroup = dpslio.WaitGroup()
    wg.add(n)
    for i in range(n):
        dpslio.create_task(critical(mu, i, wg))
    await wg.wait()
    return n


@flow
async def fetch(url: str) -> bytes | DSError:
    r: bytes | DSError = http_request("POST", url, {"X-Test": "1"}, b"ping")
    return r
