"""The README's counter flow, run by ``deepslate demo``."""
from __future__ import annotations

from .. import flow, sleep


@flow
async def counter() -> None:
    count: int = 0
    while True:
        sleep(1.0)
        count = count + 1
