# range with one, two and three arguments, negative steps, empty ranges, and a zero step fault.
# run: main()
# expect: [[0, 1, 2, 3, 4], [2, 3, 4], [1, 4, 7], [10, 8, 6, 4, 2], [5, 4, 3, 2, 1, 0], [], [], [-3, -2, -1], [0, -3, -6, -9]]
# run: total(n=1000)
# expect: 499500
# run: step(a=0, b=10, s=0)
# expect fault: ValueError @zerostep
# run: step(a=10, b=0, s=-3)
# expect: [10, 7, 4, 1]
from deepslate import flow


@flow
async def collect(a: int, b: int, s: int) -> list[int]:
    out: list[int] = []
    for i in range(a, b, s):
        out.append(i)
    return out


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
    d: list[int] = collect(10, 0, -2)
    e: list[int] = collect(5, -1, -1)
    f: list[int] = []
    for i in range(0):
        f.append(i)
    g: list[int] = collect(0, 5, -1)
    h: list[int] = []
    for i in range(-3, 0):
        h.append(i)
    return [a, b, c, d, e, f, g, h, collect(0, -10, -3)]


@flow
async def total(n: int) -> int:
    t: int = 0
    for i in range(n):
        t = t + i
    return t


@flow
async def step(a: int, b: int, s: int) -> list[int]:
    out: list[int] = []
    for i in range(a, b, s):  #@zerostep
        out.append(i)
    return out
