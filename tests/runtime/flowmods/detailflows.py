"""Flows whose snapshots the store-only reader names (tests/runtime/test_detail.py)."""
from dataclasses import dataclass

from deepslate import flow, sleep


@dataclass
class Pt:
    x: int
    tag: str


@flow
async def inner(xs: list[int], k: int) -> int:
    total: int = 0
    for x in xs:
        total = total + x * k
        sleep(0.0)
    return total


@flow
async def outer(n: int) -> int:
    acc: dict[str, float] = {"a": 1.5, "b": float("nan")}
    flag: bool = True
    p: Pt = Pt(n, "<i>")
    raw: bytes = b"\xff\x00ok"
    got: int = await inner([1, 2, n], 2)
    return got
