# An async def @impure function is awaited by the runtime; its result lands like any other.
# cpython: no (a plain-Python call of an async function gives a coroutine)
import asyncio

from deepslate import DSError, flow, impure


@impure
async def lookup(key: str) -> int:
    await asyncio.sleep(0)
    return len(key) * 10


@impure
async def failing(key: str) -> int | DSError:
    await asyncio.sleep(0)
    raise LookupError(f"no {key}")


# run: main(keys=["a", "bcd"])
# expect: [10, 30, -1]
# trace: impure:lookup impure:lookup impure:failing
@flow
async def main(keys: list[str]) -> list[int]:
    out: list[int] = []
    for k in keys:
        v: int = lookup(k)
        out.append(v)
    e: int | DSError = failing("z")
    if isinstance(e, DSError):
        out.append(-1)
    return out
