# Mixing int and float: promotion in arithmetic and comparisons, int/int true division, conversions.
# run: main(n=3, x=2.5)
# expect: [5.5, 0.5, 7.5, 1.2, 1.0, 0.5, 15.625, 1.5]
# run: main(n=-3, x=2.5)
# expect: [-0.5, -5.5, -7.5, -1.2, -2.0, 2.0, 0.064, -1.5]
# run: order(n=3, x=2.5)
# expect: [True, False, False, True]
# run: order(n=2, x=2.0)
# expect: [False, True, True, False]
# run: conversions(s="42", f="2.75")
# expect: [42, 2, -2, 3, 7]
# run: floats(s="42", f="2.75")
# expect: [2.75, 44.75, 3.0, 42.0]
# run: texts(n=42, x=2.75)
# expect: ['42', '2.75', '-42', '3.0']
from deepslate import flow


@flow
async def main(n: int, x: float) -> list[float]:
    a: float = n + x
    b: float = n - x
    c: float = n * x
    d: float = n / x
    e: float = n // x
    f: float = n % x
    g: float = x ** n
    half: float = n / 2
    return [a, b, c, d, e, f, g, half]


@flow
async def order(n: int, x: float) -> list[bool]:
    return [n > x, n == x, n <= x, n != x]


@flow
async def conversions(s: str, f: str) -> list[int]:
    n: int = int(s)
    x: float = float(f)
    t: int = int(x)
    u: int = int(-x)
    return [n, t, u, int(3.99), int("  7 ")]


@flow
async def floats(s: str, f: str) -> list[float]:
    n: int = int(s)
    x: float = float(f)
    return [x, n + x, float(3), float(n)]


@flow
async def texts(n: int, x: float) -> list[str]:
    return [str(n), str(x), str(-n), str(x + 0.25)]


# run: exact_order()
# expect: [True, False, True, True, False, True, True]
@flow
async def exact_order() -> list[bool]:
    # int/float comparisons are exact in Python: no rounding of the int to a double, no overflow
    big: int = 9007199254740993
    huge: int = 2 ** 1100
    f: float = 9007199254740992.0
    return [big > f, big == f, huge > 1e308, -huge < -1e308, huge == float("inf"), huge < float("inf"),
            big - 1 == f]
