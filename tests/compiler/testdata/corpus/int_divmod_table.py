# Floor division and modulo on every sign combination, checked against the identity a == (a // b) * b + a % b.
# run: main(lo=-7, hi=7)
# expect: [0, 210]
# run: main(lo=-1, hi=1)
# expect: [0, 6]
from deepslate import flow


@flow
async def main(lo: int, hi: int) -> list[int]:
    bad: int = 0
    total: int = 0
    a: int = lo
    while a <= hi:
        b: int = lo
        while b <= hi:
            if b != 0:
                q: int = a // b
                r: int = a % b
                if q * b + r != a:
                    bad = bad + 1
                if r != 0 and (r < 0) != (b < 0):
                    bad = bad + 1
                total = total + 1
            b = b + 1
        a = a + 1
    return [bad, total]
