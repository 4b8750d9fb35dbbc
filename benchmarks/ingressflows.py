"""Flows of the ingress benchmark (benchmarks/ingress_table.py)."""
import time

from deepslate import DSError, flow, http_listen, impure

RESUMED: dict[bytes, float] = {}


@impure
async def resumed(body: bytes) -> int:
    RESUMED[body] = time.perf_counter()
    return 0


@flow
async def sink() -> None:
    while True:
        data: bytes | DSError = http_listen("POST", "/in")


@flow
async def stamped_sink() -> None:
    while True:
        data: bytes | DSError = http_listen("POST", "/in")
        if isinstance(data, bytes):
            resumed(data)
