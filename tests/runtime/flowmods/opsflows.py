"""Flows for the operations tests: metrics, log events, retention and requests."""
from deepslate import DSError, dpslio, flow, http_listen, http_request, impure, sleep

# how many more times each key's @impure call raises before it succeeds
FAILS: dict[str, int] = {}


@impure(retries=3, backoff=0.0)
def flaky(key: str) -> int:
    left = FAILS.get(key, 0)
    if left > 0:
        FAILS[key] = left - 1
        raise ConnectionError(f"provider down ({left} more)")
    return 7


@impure
def breaks(key: str) -> int:
    left = FAILS.get(key, 0)
    if left > 0:
        FAILS[key] = left - 1
        raise ConnectionError("card service down")
    return 1


@flow
async def quick(n: int) -> int:
    i: int = 0
    while i < n:
        sleep(0.0)
        i = i + 1
    return i


@flow
async def uses_flaky(key: str) -> int:
    sleep(0.0)
    return flaky(key)


@flow
async def charge(key: str) -> int:
    print("charging", key)
    got: int = breaks(key)
    return got


@flow
async def divides(x: int) -> int:
    sleep(0.0)
    return 10 // x


@flow
async def ticker() -> int:
    count: int = 0
    while True:
        sleep(0.02)
        count = count + 1


@flow
async def listener(n: int) -> list[bytes]:
    out: list[bytes] = []
    for i in range(n):
        data: bytes | DSError = http_listen("POST", "/numbers")
        if isinstance(data, bytes):
            out.append(data)
    return out


@flow
async def leaf(q: dpslio.Queue[int], wg: dpslio.WaitGroup, i: int) -> int:
    print("leaf", i)
    await q.put(i)
    await wg.done()
    return i


@flow
async def napper(seconds: float) -> str:
    sleep(seconds)
    return "rested"


@flow
async def tree(n: int) -> int:
    """n children that each put a number on a queue, summed once all are done."""
    print("tree of", n)
    q: dpslio.Queue[int] = dpslio.Queue[int]()
    wg: dpslio.WaitGroup = dpslio.WaitGroup()
    wg.add(n)
    for i in range(n):
        dpslio.create_task(leaf(q, wg, i))
    await wg.wait()
    total: int = 0
    for i in range(n):
        total = total + await q.get()
    return total


@flow
async def leaves_a_sleeper(seconds: float) -> str:
    """Ends at once; its detached child sleeps on in the same tree."""
    dpslio.create_task(napper(seconds), detach=True)
    return "parent done"


@flow
async def fetch(url: str) -> bytes | DSError:
    r: bytes | DSError = http_request("GET", url, {}, b"", retries=0)
    return r
