# Integers beyond 64 bits: literals, powers, overflow in a loop, and back down again.
# run: main()
# expect: [1267650600228229401496703205376, 265252859812191058636308480000000, 9223372036854775808, -9223372036854775809, 1, 31]
# run: fact(n=25)
# expect: 15511210043330985984000000
# run: fact(n=0)
# expect: 1
from deepslate import flow


@flow
async def fact(n: int) -> int:
    acc: int = 1
    i: int = 2
    while i <= n:
        acc = acc * i
        i = i + 1
    return acc


@flow
async def main() -> list[int]:
    big: int = 2 ** 100
    f30: int = fact(30)
    edge: int = 9223372036854775807
    over: int = edge + 1
    under: int = -edge - 2
    back: int = (big + 1) % big
    digits: int = len(str(f30))
    return [big, f30, over, under, back, digits - 2]
