# ** on ints: negative bases, zero, large exponents; a negative exponent is a fault in flows
# (ints stay ints), where plain Python would give a float.
# run: main()
# expect: [-8, 16, 1, 0, 1, -1, 1024, 3486784401]
# run: big(e=200)
# expect: 1606938044258990275541962092341162602522202993782792835301376
# run: negative(e=-1)
# expect fault: ValueError @negpow
# cpython: no (int ** negative int gives a float in Python and a fault in flows)
from deepslate import flow


@flow
async def main() -> list[int]:
    a: int = -2
    z: int = 0
    return [a ** 3, a ** 4, z ** 0, z ** 5, (-1) ** 0, (-1) ** 7, 2 ** 10, 3 ** 20]


@flow
async def big(e: int) -> int:
    return 2 ** e


@flow
async def negative(e: int) -> int:
    return 2 ** e  #@negpow
