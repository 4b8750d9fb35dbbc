# Float arithmetic with Python's rounding and sign rules.
# run: main(x=7.5, y=2.0)
# expect: [9.5, 5.5, 15.0, 3.75, 3.0, 1.5, 56.25, -7.5]
# run: main(x=-7.5, y=2.0)
# expect: [-5.5, -9.5, -15.0, -3.75, -4.0, 0.5, 56.25, 7.5]
# run: main(x=7.5, y=-2.0)
# expect: [5.5, 9.5, -15.0, -3.75, -4.0, -0.5, 0.017777777777777778, -7.5]
# run: tenths()
# expect: [0.30000000000000004, 0.9999999999999999, 1.0]
from deepslate import flow


@flow
async def main(x: float, y: float) -> list[float]:
    return [x + y, x - y, x * y, x / y, x // y, x % y, x ** y, -x]


@flow
async def tenths() -> list[float]:
    s: float = 0.0
    i: int = 0
    while i < 10:
        s = s + 0.1
        i = i + 1
    t: float = 0.1 * 3
    return [t, s, 0.7 + 0.1 + 0.2]
