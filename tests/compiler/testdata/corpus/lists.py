# Lists: literals, indexing (negative too), stores, append, len, in, concatenation, repetition, nesting, aliasing.
# run: main()
# expect: [[4, 1, 4], [9, 2, 3, 4], [1, 0], [9, 2, 3, 4, 5, 6], [0, 0, 0]]
# run: nested(n=3)
# expect: [[0, 1, 2], [1, 2, 3], [2, 3, 4]]
# run: aliasing()
# expect: [[1, 2, 3], [1, 2, 3], [1, 2]]
# run: out_of_range(i=3)
# expect fault: IndexError @oob
# run: out_of_range(i=-4)
# expect fault: IndexError @oob
# run: out_of_range(i=-3)
# expect: 1
from deepslate import flow


@flow
async def main() -> list[list[int]]:
    xs: list[int] = [1, 2, 3]
    xs.append(4)
    n: int = len(xs)
    first: int = xs[0]
    last: int = xs[-1]
    ys: list[int] = xs
    ys[0] = 9
    has: bool = 9 in xs
    hasnt: bool = 1 in xs
    zs: list[int] = xs + [5, 6]
    zeros: list[int] = [0] * 3
    flags: list[int] = [0, 0]
    if has:
        flags[0] = 1
    if hasnt:
        flags[1] = 1
    return [[n, first, last], xs, flags, zs, zeros]


@flow
async def nested(n: int) -> list[list[int]]:
    grid: list[list[int]] = []
    for r in range(n):
        row: list[int] = []
        for c in range(n):
            row.append(r + c)
        grid.append(row)
    return grid


@flow
async def aliasing() -> list[list[int]]:
    a: list[int] = [1, 2]
    b: list[int] = a
    c: list[int] = a + []
    b.append(3)
    return [a, b, c]


@flow
async def out_of_range(i: int) -> int:
    xs: list[int] = [1, 2, 3]
    return xs[i]  #@oob
