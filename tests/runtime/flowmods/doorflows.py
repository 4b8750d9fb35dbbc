"""Flows for the runtime tests of the public doors."""
from dataclasses import dataclass

from deepslate import DSError, dpslio, flow, idempotency_key, impure, sleep

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
