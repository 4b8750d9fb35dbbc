# Flow-to-flow calls: arguments of every register file, nested calls, recursion and mutual recursion.
from deepslate import flow


@flow
async def add(a: int, b: int) -> int:
    return a + b


@flow
async def scale(x: float, k: int) -> float:
    return x * k


@flow
async def greet(name: str, loud: bool) -> str:
    if loud:
        return name + "!"
    return name


# run: main()
# expect: [8, 15, 5]
@flow
async def main() -> list[int]:
    s: int = add(3, 5)
    t: int = add(add(1, 2), add(add(3, 4), 5))
    u: float = scale(2.5, 2)
    return [s, t, int(u)]


# run: strings()
# expect: 'ada! bo'
@flow
async def strings() -> str:
    return greet("ada", True) + " " + greet("bo", False)


# run: fib(n=15)
# expect: 610
@flow
async def fib(n: int) -> int:
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


# run: ackermann(m=2, n=3)
# expect: 9
@flow
async def ackermann(m: int, n: int) -> int:
    if m == 0:
        return n + 1
    if n == 0:
        return ackermann(m - 1, 1)
    return ackermann(m - 1, ackermann(m, n - 1))


@flow
async def is_even(n: int) -> bool:
    if n == 0:
        return True
    return is_odd(n - 1)


@flow
async def is_odd(n: int) -> bool:
    if n == 0:
        return False
    return is_even(n - 1)


# run: parity(n=37)
# expect: [False, True]
@flow
async def parity(n: int) -> list[bool]:
    return [is_even(n), is_odd(n)]


# run: deep(n=300)
# expect: 45150
@flow
async def deep(n: int) -> int:
    if n == 0:
        return 0
    return n + deep(n - 1)


@flow
async def ident(n: int) -> int:
    return n


@flow
async def fident(x: float) -> float:
    return x


# run: rebind_between_calls(n=3, x=0.5)
# expect: ['28', '4', '28', '16', '0.5', '1.5', '1.5', '1.5']
@flow
async def rebind_between_calls(n: int, x: float) -> list[str]:
    a: int = ident(n)
    n = n + 1
    b: int = ident(n)
    for i in range(2):
        n = n * 2
        a = a + ident(n) + ident(i)
    f: float = fident(x)
    x = x + 1.0
    g: float = fident(x)
    h: float = fident(x)
    return [str(a), str(b), str(a + ident(n) - ident(a) + 12), str(n), str(f), str(g), str(h), str(x)]
