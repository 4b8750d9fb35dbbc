# Many durable points of every kind interleaved with state that must survive each of them:
# aliased lists, a dict, floats, big ints and a dataclass. Used by the snapshot-anywhere test.
# cpython: no (queues need a driver)
from dataclasses import dataclass

from deepslate import DSError, dpslio, flow, impure, sleep


@dataclass
class Acc:
    total: int
    history: list[int]


@impure
def fetch(i: int) -> int:
    return (i * 37) % 11


@impure
def maybe(i: int) -> int | DSError:
    if i % 4 == 3:
        raise RuntimeError(f"no value for {i}")
    return i


@flow
async def step(acc: Acc, x: int) -> int:
    sleep(0.01)
    acc.total = acc.total + x
    acc.history.append(x)
    return acc.total


# run: main(n=12)
# expect: ['495', '4', '1.0', '[0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 0, -1]', '13', '4503599627370496', '0,4,8,1,5,9,2,6,10,3,7,0,-1', "{'ok': 9, 'err': 3}"]
@flow
async def main(n: int) -> list[str]:
    acc: Acc = Acc(0, [])
    alias: list[int] = acc.history
    counts: dict[str, int] = {"ok": 0, "err": 0}
    q: dpslio.Queue[int] = dpslio.Queue[int]()
    f: float = 0.0
    big: int = 2 ** 64
    for i in range(n):
        v: int = fetch(i)
        await q.put(v)
        got: int = await q.get()
        step(acc, got)
        m: int | DSError = maybe(i)
        if isinstance(m, DSError):
            counts["err"] = counts["err"] + 1
        else:
            counts["ok"] = counts["ok"] + 1
        f = f + 1.0 / n
        big = big // 2
        sleep(0.0)
    alias.append(-1)
    joined: str = ""
    for i, h in enumerate(alias):
        if i > 0:
            joined = joined + ","
        joined = joined + str(h)
    return [str(acc.total * 9), str(len(alias) // 3), str(f), str(alias), str(len(acc.history)), str(big), joined, str(counts)]
