# enumerate over lists and strings, using both the index and the value, with break.
# run: main(xs=["a", "b", "c"])
# expect: ['0:a', '1:b', '2:c']
# run: argmax(xs=[3, 9, 2, 9, 1])
# expect: 1
# run: argmax(xs=[])
# expect: -1
# run: first_upper(s="hello World")
# expect: 6
from deepslate import flow


@flow
async def main(xs: list[str]) -> list[str]:
    out: list[str] = []
    for i, x in enumerate(xs):
        out.append(str(i) + ":" + x)
    return out


@flow
async def argmax(xs: list[int]) -> int:
    best: int = -1
    for i, x in enumerate(xs):
        if best == -1 or x > xs[best]:
            best = i
    return best


@flow
async def first_upper(s: str) -> int:
    pos: int = -1
    for i, ch in enumerate(s):
        if ch in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
            pos = i
            break
    return pos
