# Runtime faults stop the isolate at the flow line that failed, in the innermost flow frame.
# run: div(a=1, b=0)
# expect fault: ZeroDivisionError @intdiv
# run: fdiv(a=1.0, b=0.0)
# expect fault: ZeroDivisionError @fdiv
# run: mod(a=5, b=0)
# expect fault: ZeroDivisionError @mod
# run: outer(n=0)
# expect fault: ZeroDivisionError @inner
# run: outer(n=4)
# expect: 25
# run: to_float(s="abc")
# expect fault: ValueError @tofloat
# run: too_big(e=1100)
# expect fault: OverflowError @toobig
# run: too_big(e=10)
# expect: 1024.0
# run: inf_to_int()
# expect fault: OverflowError @inftoint
# run: down(n=300)
# expect: 300
# run: down(n=100000)
# expect fault: RecursionError @recurse
from deepslate import flow


@flow
async def div(a: int, b: int) -> int:
    return a // b  #@intdiv


@flow
async def fdiv(a: float, b: float) -> float:
    return a / b  #@fdiv


@flow
async def mod(a: int, b: int) -> int:
    r: int = a % b  #@mod
    return r


@flow
async def inner(n: int) -> int:
    return 100 // n  #@inner


@flow
async def outer(n: int) -> int:
    x: int = inner(n)
    return x


@flow
async def to_float(s: str) -> float:
    x: float = float(s)  #@tofloat
    return x


@flow
async def too_big(e: int) -> float:
    n: int = 2 ** e
    x: float = n * 1.0  #@toobig
    return x


@flow
async def inf_to_int() -> int:
    x: float = float("inf")
    return int(x)  #@inftoint


@flow
async def down(n: int) -> int:
    if n == 0:
        return 0
    return 1 + down(n - 1)  #@recurse
