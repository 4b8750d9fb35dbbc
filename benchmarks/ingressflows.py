"""Flows of the ingress benchmark (benchmarks/ingress_table.py)."""
import time

from deepslate import DSError, flow, http_listen, impure

# body -> (the sender's loop, the future it awaits): told the moment the flow goes on
WAITING: dict[bytes, tuple] = {}


# body -> when the flow went on with it, for messages posted from another process
STAMPS: dict[bytes, float] = {}


@impure
async def resumed(body: bytes) -> int:
    t = time.perf_counter()
    waiting = WAITING.pop(body, None)
    if waiting is None:
        STAMPS[body] = t
    else:
        loop, fut = waiting
        loop.call_soon_threadsafe(fut.set_result, t)
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
