"""Flows for the HTTP ingress tests (and the processes they start)."""
from deepslate import DSError, dpslio, flow, http_listen, sleep


@flow
async def listener(n: int) -> list[bytes]:
    out: list[bytes] = []
    for i in range(n):
        data: bytes | DSError = http_listen("POST", "/numbers")
        if isinstance(data, bytes):
            out.append(data)
    return out


@flow
async def late_listener(n: int, delay: float) -> list[bytes]:
    sleep(delay)
    out: list[bytes] = []
    for i in range(n):
        data: bytes | DSError = http_listen("PUT", "/late")
        if isinstance(data, bytes):
            out.append(data)
    return out


@flow
async def add(a: int, b: int) -> int:
    sleep(0.0)
    return a + b


@flow
async def pay_desk(n: int, out: dpslio.Queue[bytes]) -> None:
    for i in range(n):
        data: bytes | DSError = http_listen("POST", "/pay")
        if isinstance(data, bytes):
            await out.put(data)


@flow
async def shop(n: int) -> list[bytes]:
    out: dpslio.Queue[bytes] = dpslio.Queue[bytes]()
    dpslio.create_task(pay_desk(n, out))
    got: list[bytes] = []
    for i in range(n):
        v: bytes = await out.get()
        got.append(v)
    return got


@flow
async def job_taker(out: dpslio.Queue[bytes]) -> None:
    while True:
        data: bytes | DSError = http_listen("POST", "/job")
        if isinstance(data, bytes):
            await out.put(data)


@flow
async def two_takers(n: int) -> list[bytes]:
    out: dpslio.Queue[bytes] = dpslio.Queue[bytes]()
    dpslio.create_task(job_taker(out))
    dpslio.create_task(job_taker(out))
    got: list[bytes] = []
    for i in range(n):
        v: bytes = await out.get()
        got.append(v)
    return got


@flow
async def inbox_forever(route: str) -> None:
    while True:
        data: bytes | DSError = http_listen("POST", route)
        if isinstance(data, bytes):
            print(data)


@flow
async def pay_or_give_up(out: dpslio.Queue[bytes], seconds: float) -> None:
    match dpslio.select:
        case _ if paid := await http_listen("POST", "/pay"):
            await out.put(paid)
        case _ if await sleep(seconds):
            await out.put(b"gave up")


@flow
async def checkout(seconds: float) -> bytes:
    out: dpslio.Queue[bytes] = dpslio.Queue[bytes]()
    dpslio.create_task(pay_or_give_up(out, seconds))
    got: bytes = await out.get()
    return got
