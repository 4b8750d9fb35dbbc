# Expressions outside the flow language.
from deepslate import flow


@flow
async def uses_lambda():
    f: int = (lambda: 1)()  ### "lambda is not supported in flows; define a @pure function" at "lambda"
# ---
from deepslate import flow


@flow
async def uses_listcomp(xs: list[int]):
    print([x * 2 for x in xs])  ### "a list comprehension needs its type from a declaration, e.g. ys: list\[int\] = \.\.\.; or use a for loop" at "[x"
# ---
from deepslate import flow


@flow
async def uses_dictcomp(xs: list[int]):
    d: dict[int, int] = {x: y for x in xs for y in xs}  ### "comprehensions in flows take exactly one for clause" at "{x"
# ---
from deepslate import flow


@flow
async def uses_genexp(xs: list[int]):
    n: int = max(x for x in xs)  ### "generator expressions are not supported" at "(x for"
# ---
from deepslate import flow


@flow
async def uses_tuple():
    t: list[int] = [1]
    t = (1, 2)  ### "tuples are not supported in flows; use a list or a @dataclass" at "(1"
# ---
from deepslate import flow


@flow
async def uses_set():
    s: list[int] = [1]
    s = {1, 2}  ### "sets are not supported in flows" at "{1"
# ---
from deepslate import flow


@flow
async def uses_slice(xs: list[int]):
    ys: list[int] = xs[1:]  ### "slices are not supported in flows; use a @pure function" at "1:"
# ---
from deepslate import flow


@flow
async def uses_walrus(n: int):
    if (m := n) > 0:  ### "the walrus operator is only supported in .*dpslio.select" at "m :="
        pass
# ---
from deepslate import flow


@flow
async def uses_bitand(a: int, b: int) -> int:
    return a & b  ### "the operator & is not supported in flows" at "a & b"
# ---
from deepslate import flow


@flow
async def uses_shift(a: int) -> int:
    return a << 2  ### "the operator << is not supported in flows" at "a << 2"
# ---
from deepslate import flow


@flow
async def uses_invert(a: int) -> int:
    return ~a  ### "bad operand type for unary ~: int" at "~a"
# ---
from deepslate import flow


@flow
async def uses_starred(xs: list[int]):
    print(*xs)  ### "\*args in calls is not supported in flows" at "*xs"
# ---
from deepslate import flow


@flow
async def complex_literal():
    x: float = 1j  ### "complex literals are not supported in flows" at "1j"
# ---
from deepslate import flow


@flow
async def and_on_ints(a: int, b: int):
    c: bool = a and b  ### "and needs bool operands, not int" at "a and"
# ---
from deepslate import flow


@flow
async def comprehension_scope(xs: list[int]) -> int:
    ys: list[int] = [x for x in xs]
    return x  ### "x is not defined" at "x"
# ---
from deepslate import flow


@flow
async def comprehension_elem_type(xs: list[int]):
    ys: list[str] = [x + 1 for x in xs]  ### "list.append: expected str, got int" at "x + 1"
