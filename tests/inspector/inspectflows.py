"""Flows the inspector's tests run (API, auth, browser)."""
import os
import time
from dataclasses import dataclass

from deepslate import DSError, dpslio, flow, http_listen, impure, pure, sleep


@dataclass
class Basket:
    owner: str
    items: list[str]


@flow
async def counter() -> None:
    count: int = 0
    while True:
        sleep(0.05)
        count = count + 1


@flow
async def slow_counter() -> None:
    count: int = 0
    while True:
        sleep(0.3)
        count = count + 1


@pure
def text(b: bytes) -> str:
    return b.decode()


@flow
async def approval(who: str) -> str:
    print(f"asked {who}")
    note: bytes | DSError = http_listen("POST", "/approve", timeout=3600.0)
    if isinstance(note, DSError):
        return "no answer"
    return text(note)


@impure(retries=0)
def charge(flag: str) -> str:
    """Fails until the file ``flag`` exists; each call appends a line to ``flag.calls``."""
    with open(flag + ".calls", "a") as f:
        f.write("call\n")
    if not os.path.exists(flag):
        raise RuntimeError("payment provider is down")
    return "paid"


@flow
async def payment(flag: str, cents: int) -> str:
    basket: Basket = Basket("ann", ["tea", "cup"])
    print(f"charging {cents} cents")
    receipt: str = charge(flag)
    return receipt + " " + basket.owner


@flow
async def marked(text: str) -> None:
    shown: str = text
    tags: list[str] = [text, "<b>bold</b>"]
    sleep(3600.0)


@flow
async def ledger() -> None:
    book: dict[str, list[int]] = {"in": [1, 2], "out": [3]}
    n: int = 0
    while True:
        sleep(0.1)
        n = n + 1
        book["in"] = [n, n + 1]


@dataclass
class Claim:
    who: str
    cents: int
    items: list[str]


@flow
async def expense(who: str, cents: int) -> str:
    claim: Claim = Claim(who, cents, ["train ticket", "hotel, 2 nights"])
    print(f"expense of {cents} cents by {who}")
    print("asked the manager to approve")
    decision: bytes | DSError = http_listen("POST", "/approve", timeout=86400.0)
    if isinstance(decision, DSError):
        return "expired"
    return text(decision)


@flow
async def batch(n: int) -> int:
    done: int = 0
    while done < n:
        sleep(0.02)
        done = done + 1
    return done


@pure
def hold(seconds: float) -> int:
    time.sleep(seconds)         # holds the engine's loop: a @pure runs on it
    return 0


@flow
async def stuck(seconds: float) -> int:
    sleep(0.1)
    x: int = hold(seconds)
    sleep(3600.0)
    return x


@flow
async def worker(n: int) -> None:
    sleep(3600.0)


@flow
async def boss(n: int) -> None:
    for i in range(n):
        dpslio.create_task(worker(i))
    sleep(3600.0)


FLOWS = [counter, slow_counter, approval, payment, marked, ledger, expense, batch, stuck, worker, boss]


def calls(flag: str) -> int:
    try:
        with open(flag + ".calls") as f:
            return len(f.read().splitlines())
    except FileNotFoundError:
        return 0
