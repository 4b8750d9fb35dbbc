"""Flows for the tests of the asyncio client: work that keeps the engine's loop busy."""
from dataclasses import dataclass

from deepslate import flow, sleep


@dataclass
class Item:
    sku: str
    qty: int


@flow
async def spin(n: int) -> int:
    total: int = 0
    for i in range(n):
        total = total + i % 7
        if i % 50000 == 0:
            sleep(0.0)
    return total


@flow
async def basket(items: list[Item], notes: dict[str, str]) -> int:
    sleep(0.0)
    total: int = 0
    for it in items:
        total = total + it.qty
    return total
