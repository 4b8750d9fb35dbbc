# Larger pure flows: sieve of Eratosthenes, insertion sort, gcd, binary search, fibonacci modulo a prime.
# run: primes(n=50)
# expect: [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47]
# run: sort(xs=[5, -2, 9, 0, 5, 3, -8])
# expect: [-8, -2, 0, 3, 5, 5, 9]
# run: gcd(a=1071, b=462)
# expect: 21
# run: search(xs=[1, 3, 5, 7, 9, 11], x=9)
# expect: 4
# run: search(xs=[1, 3, 5, 7, 9, 11], x=4)
# expect: -1
# run: fibmod(n=1000)
# expect: 517691607
from deepslate import flow


@flow
async def primes(n: int) -> list[int]:
    sieve: list[bool] = [True] * (n + 1)
    out: list[int] = []
    for i in range(2, n + 1):
        if sieve[i]:
            out.append(i)
            j: int = i * i
            while j <= n:
                sieve[j] = False
                j = j + i
    return out


@flow
async def sort(xs: list[int]) -> list[int]:
    out: list[int] = []
    for x in xs:
        out.append(x)
        i: int = len(out) - 1
        while i > 0 and out[i - 1] > out[i]:
            t: int = out[i]
            out[i] = out[i - 1]
            out[i - 1] = t
            i = i - 1
    return out


@flow
async def gcd(a: int, b: int) -> int:
    while b != 0:
        t: int = a % b
        a = b
        b = t
    return a


@flow
async def search(xs: list[int], x: int) -> int:
    lo: int = 0
    hi: int = len(xs) - 1
    while lo <= hi:
        mid: int = (lo + hi) // 2
        if xs[mid] == x:
            return mid
        elif xs[mid] < x:
            lo = mid + 1
        else:
            hi = mid - 1
    return -1


@flow
async def fibmod(n: int) -> int:
    a: int = 0
    b: int = 1
    for i in range(n):
        t: int = (a + b) % 1000000007
        a = b
        b = t
    return a
