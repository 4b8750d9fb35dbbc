# range with one, two and three arguments, negative steps, empty ranges, bounds from variables.
# run: main()
# expect: [[0, 1, 2, 3, 4], [2, 3, 4], [1, 4, 7], [10, 8, 6, 4, 2], [5, 4, 3, 2, 1, 0], [], [], [-3, -2, -1], [0, -3, -6, -9]]
# run: total(n=1000)
# expect: 499500
# run: bounds(a=10, b=0)
# expect: [10, 7, 4, 1]
# run: bounds(a=0, b=10)
# expect: []
from deepslate import flow


@flow
async def main() -> list[list[int]]:
    a: list[int] = []
    for i in range(5):
        a.append(i)
    b: list[int] = []
    for i in range(2, 5):
        b.append(i)
    c: list[int] = []
    for i in range(1, 10, 3):
        c.append(i)
    d: list[int] = []
    for i in range(10, 0, -2):
        d.append(i)
    e: list[int] = []
    for i in range(5, -1, -1):
        e.append(i)
    f: list[int] = []
    for i in range(0):
        f.append(i)
    g: list[int] = []
    for i in range(0, 5, -1):
        g.append(i)
    h: list[int] = []
    for i in range(-3, 0):
        h.append(i)
    k: list[int] = []
    for i in range(0, -10, -3):
        k.append(i)
    return [a, b, c, d, e, f, g, h, k]


@flow
async def total(n: int) -> int:
    t: int = 0
    for i in range(n):
        t = t + i
    return t


@flow
async def bounds(a: int, b: int) -> list[int]:
    out: list[int] = []
    for i in range(a, b, -3):
        out.append(i)
    return out
