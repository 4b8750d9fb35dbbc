"""Flows and @impure functions the testing kit's tests run."""
import threading
import time

from deepslate import DSError, dpslio, flow, http_listen, http_request, idempotency_key, impure, now, pure, sleep

DAY = 86400.0



@pure
def text(b: bytes) -> str:
    return b.decode()


charged: list[tuple[str, int]] = []       # what charge() did, for the tests to look at
gate = threading.Event()                  # held_charge waits on it
held_calls: list[str] = []


@flow
async def year(who: str) -> int:
    """Twelve sleeps of 30 days, with an approval after the sixth."""
    months: int = 0
    start: float = now()
    while months < 12:
        if months == 6:
            ok: bytes | DSError = http_listen("POST", "/approve")
            print("approved")
        sleep(30 * DAY)
        months = months + 1
    print(f"{who}: {months} months in {now() - start} s")
    return months


@flow
async def ticks(n: int) -> list[float]:
    """The time at each of ``n`` daily wake-ups."""
    seen: list[float] = []
    while len(seen) < n:
        sleep(DAY)
        seen.append(now())
    return seen


@flow
async def listen_or_give_up(seconds: float) -> str:
    got: bytes | DSError = http_listen("POST", "/go", timeout=seconds)
    if isinstance(got, DSError):
        return f"{got.kind}: {got.message}"
    return text(got)


@flow
async def select_or_sleep(seconds: float) -> str:
    match dpslio.select:
        case _ if body := await http_listen("POST", "/go"):
            return "message " + text(body)
        case _ if await sleep(seconds):
            return "slept"
    return "unreachable"


@impure
def charge(order: str, cents: int) -> str:
    charged.append((order, cents))
    return f"real-{order}-{idempotency_key()}"


@flow
async def pay(order: str, cents: int) -> str:
    receipt: str = charge(order, cents)
    sleep(DAY)
    return receipt


attempts: list[float] = []


@impure(retries=2, backoff=3600.0)
def flaky() -> str:
    attempts.append(time.time())
    if len(attempts) < 3:
        raise ConnectionError(f"attempt {len(attempts)} refused")
    return "third time"


@flow
async def persist() -> str:
    start: float = now()
    r: str = flaky()
    return f"{r} after {now() - start} s"


@impure
def held_charge(order: str) -> str:
    held_calls.append(order)
    gate.wait(30)
    return f"held-{order}"


@flow
async def slow_then_time(order: str) -> float:
    """``now()`` around an @impure call that takes real time: the clock must not move meanwhile."""
    before: float = now()
    r: str = held_charge(order)
    return now() - before


@flow
async def sleeper(seconds: float) -> float:
    sleep(seconds)
    return now()


@flow
async def counter() -> int:
    n: int = 0
    while True:
        sleep(60.0)
        n = n + 1
    return n


@flow
async def fetch(url: str) -> str:
    r: bytes | DSError = http_request("POST", url, {"Content-Type": "text/plain"}, b"hello")
    if isinstance(r, DSError):
        return f"error {r.code}: {r.message}"
    return text(r)


@flow
async def fetch_with_retries(url: str, retries: int) -> str:
    r: bytes | DSError = http_request("GET", url, {}, b"", retries=retries)
    if isinstance(r, DSError):
        return f"error {r.code}"
    return text(r)


@flow
async def fetch_timed(url: str) -> float:
    """``now()`` around a real request that takes real time."""
    before: float = now()
    r: bytes | DSError = http_request("GET", url, {}, b"", retries=0)
    return now() - before


@flow
async def broken(x: int) -> int:
    y: int = x + 1
    print(f"dividing by {x - x}")
    sleep(1.0)
    return y // (x - x)
