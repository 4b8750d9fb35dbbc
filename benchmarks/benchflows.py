"""Flows the runtime benchmarks run."""
import time

from deepslate import DSError, flow, http_request, impure, sleep

STAMPS: list[float] = []


@impure
async def stamp() -> int:
    STAMPS.append(time.perf_counter())
    return 0


ROWS = list(range(10))


@impure
def rows(i: int) -> list[int]:
    return ROWS            # a module-level list: the engine hands each call's flow a copy


@flow
async def fetched(n: int) -> int:
    total: int = 0
    for i in range(n):
        xs: list[int] = rows(i)
        total = total + len(xs)
    return total


@flow
async def steps(n: int) -> int:
    i: int = 0
    while i < n:
        sleep(0.0)
        i = i + 1
    return i


@flow
async def stamped(n: int) -> int:
    i: int = 0
    while i < n:
        i = i + 1 + stamp()
    return i


@flow
async def park(n: int) -> int:
    i: int = 0
    while i < n:
        sleep(0.0)
        i = i + 1
    sleep(3600.0)
    return i


@flow
async def requests(url: str, n: int) -> int:
    ok: int = 0
    for i in range(n):
        r: bytes | DSError = http_request("GET", url, {}, b"")
        if isinstance(r, bytes):
            ok = ok + 1
    return ok
