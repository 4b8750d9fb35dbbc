# Augmented assignment on every register file and on containers, chained comparisons, not in.
# run: main(n=5)
# expect: [15, 120, 3, 1, 2, 32]
# run: texts(n=3)
# expect: ['ababab', 'x-x-x-', '[1, 2, 3]']
# run: in_place()
# expect: [[1, 2, 3, 1, 2, 3], [1, 2, 3, 1, 2, 3], [9, 9]]
# run: floats(x=1.5)
# expect: [3.0, 0.75, 2.25, 0.0]
# run: chains(a=1, b=2, c=3)
# expect: [True, False, True, True]
# run: chains(a=3, b=2, c=1)
# expect: [False, False, True, True]
from deepslate import flow


@flow
async def main(n: int) -> list[int]:
    total: int = 0
    prod: int = 1
    for i in range(1, n + 1):
        total += i
        prod *= i
    q: int = 17
    q //= n
    r: int = 17
    r %= 4
    s: int = 7
    s -= n
    p: int = 2
    p **= n
    return [total, prod, q, r, s, p]


@flow
async def texts(n: int) -> list[str]:
    s: str = ""
    t: str = ""
    xs: list[int] = []
    for i in range(n):
        s += "ab"
        t += "x-"
        xs += [i + 1]
    return [s, t, str(xs)]


@flow
async def floats(x: float) -> list[float]:
    a: float = x
    a *= 2
    b: float = x
    b /= 2
    c: float = x
    c += 0.75
    d: float = x
    d -= 1.5
    return [a, b, c, d]


@flow
async def chains(a: int, b: int, c: int) -> list[bool]:
    d: dict[str, int] = {"k": 1}
    return [a < b < c, a > b > c and a == 1, 0 < a <= 3 and "q" not in d, 1 <= b <= 2 != 5]


@flow
async def in_place() -> list[list[int]]:
    # += and *= on a list change it in place, so every alias sees the change
    xs: list[int] = [1, 2]
    ys: list[int] = xs
    xs += [3]
    xs *= 2
    zs: list[int] = [9]
    zs = zs + [9]
    return [xs, ys, zs]
