# The small conveniences: len, str, int, float, abs, min, max, list.append, in.
# run: main()
# expect: [3, 5, 2, 7, 3, 2, 1, 9, 0, -4, 12]
# run: floats()
# expect: [2.5, 1.5, 7.25, 0.0, 3.0]
# run: strs()
# expect: ['12', '-3', '2.5', 'True', 'abc', '[1, 2]', "{'k': 'v'}"]
# run: bad_int(s="12x")
# expect fault: ValueError @badint
from deepslate import flow


@flow
async def main() -> list[int]:
    xs: list[int] = [4, 1, 9]
    a: int = len(xs)
    b: int = abs(-5)
    c: int = min(2, 9)
    d: int = max(7, -7)
    e: int = len("abc")
    f: int = len({"a": 1, "b": 2})
    g: int = min(xs)
    h: int = max(xs)
    i: int = abs(0)
    j: int = int("-4")
    xs.append(12)
    return [a, b, c, d, e, f, g, h, i, j, xs[-1]]


@flow
async def floats() -> list[float]:
    return [abs(-2.5), min(1.5, 2.5), max(7.25, 1.0), abs(-0.0), float("3")]


@flow
async def strs() -> list[str]:
    return [str(12), str(-3), str(2.5), str(True), str("abc"), str([1, 2]), str({"k": "v"})]


@flow
async def bad_int(s: str) -> int:
    n: int = int(s)  #@badint
    return n
