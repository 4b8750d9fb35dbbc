# Integer arithmetic with Python semantics, including negatives and unary minus.
# run: main(a=17, b=5)
# expect: [22, 12, 85, 3, 2, 1419857, -17]
# run: main(a=-17, b=5)
# expect: [-12, -22, -85, -4, 3, -1419857, 17]
# run: main(a=17, b=-5)
# expect: [12, 22, -85, -4, -3, 1, -17]
# run: main(a=0, b=3)
# expect: [3, -3, 0, 0, 0, 0, 0]
# run: ratio(a=7, b=2)
# expect: 3.5
# run: ratio(a=-7, b=2)
# expect: -3.5
# run: ratio(a=1, b=3)
# expect: 0.3333333333333333
from deepslate import flow


@flow
async def main(a: int, b: int) -> list[int]:
    p: int = 1
    if b >= 0:
        p = a ** b
    out: list[int] = [a + b, a - b, a * b, a // b, a % b, p, -a]
    return out


@flow
async def ratio(a: int, b: int) -> float:
    return a / b
