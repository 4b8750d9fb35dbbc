# and/or/not with short-circuit evaluation (a division guarded by the left operand never runs).
# run: main(n=0)
# expect: [False, True, True, False, True, False]
# run: main(n=5)
# expect: [True, True, False, True, False, True]
# run: truth(a=True, b=False)
# expect: [False, True, False, True, True]
from deepslate import flow


@flow
async def main(n: int) -> list[bool]:
    guarded: bool = n != 0 and 10 // n == 2
    either: bool = n == 0 or 10 // n == 2
    neg: bool = not n
    both: bool = n > 1 and n < 10 and n != 4
    small: bool = not (n > 1)
    mixed: bool = (n > 3 or n < -3) and not (n == 4)
    return [guarded, either, neg, both, small, mixed]


@flow
async def truth(a: bool, b: bool) -> list[bool]:
    return [a and b, a or b, not a, a != b, a == (not b)]
