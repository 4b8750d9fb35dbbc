"""Flows whose snapshots fill the inspector benchmark's store (benchmarks/inspector_table.py)."""
from dataclasses import dataclass

from deepslate import DSError, flow, http_listen, sleep


@dataclass
class Line:
    sku: str
    qty: int
    cents: int


@flow
async def counter(start: int) -> None:
    count: int = start
    while True:
        sleep(1.0)
        count = count + 1


@flow
async def order(customer: str, lines: list[Line]) -> int:
    total: int = 0
    for line in lines:
        total = total + line.qty * line.cents
    note: bytes | DSError = http_listen("POST", "/paid", timeout=86400.0)
    if isinstance(note, DSError):
        return -1
    return total


@flow
async def digest(words: list[str], rounds: int) -> dict[str, int]:
    seen: dict[str, int] = {}
    for r in range(rounds):
        for w in words:
            seen[w] = seen.get(w, 0) + r
        sleep(60.0)
    return seen


@flow
async def reminder(user: str, every: float) -> None:
    sent: int = 0
    while sent < 1000:
        sleep(every)
        print(f"reminded {user} ({sent})")
        sent = sent + 1
