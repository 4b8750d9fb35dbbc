# while with a condition, while True with break, continue, nested loops with an inner break.
# run: collatz(n=27)
# expect: 111
# run: collatz(n=1)
# expect: 0
# run: first_square_above(limit=50)
# expect: 64
# run: odd_sum(n=10)
# expect: 25
# run: pairs(n=4)
# expect: [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]
from deepslate import flow


@flow
async def collatz(n: int) -> int:
    steps: int = 0
    while n != 1:
        if n % 2 == 0:
            n = n // 2
        else:
            n = 3 * n + 1
        steps = steps + 1
    return steps


@flow
async def first_square_above(limit: int) -> int:
    i: int = 0
    while True:
        i = i + 1
        if i * i > limit:
            break
    return i * i


@flow
async def odd_sum(n: int) -> int:
    total: int = 0
    i: int = 0
    while i < n:
        i = i + 1
        if i % 2 == 0:
            continue
        total = total + i
    return total


@flow
async def pairs(n: int) -> list[list[int]]:
    out: list[list[int]] = []
    a: int = 0
    while a < n:
        b: int = a + 1
        while True:
            if b >= n:
                break
            out.append([a, b])
            b = b + 1
        a = a + 1
    return out
