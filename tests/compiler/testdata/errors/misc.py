# Parameters, loops, literals, f-strings and other corners.
from deepslate import flow


@flow
async def star_args(*xs: int):  ### "\*args is not supported in flow parameters; pass a list or a dict" at "xs"
    pass
# ---
from deepslate import flow


@flow
async def with_default(n: int = 1):  ### "default values are not supported for flow parameters" at "1"
    pass
# ---
from deepslate import flow


@flow
async def keyword_only(*, n: int):  ### "keyword-only parameters are not supported in flows" at "n: int"
    pass
# ---
from deepslate import flow


@flow
async def assigns_index(xs: list[int]):
    for i, x in enumerate(xs):  ### "the loop index i cannot be assigned in the loop body" at "i,"
        i = 0
# ---
from deepslate import flow


@flow
async def enumerate_one_name(xs: list[int]):
    for p in enumerate(xs):  ### "for over enumerate needs two names" at "p in"
        pass
# ---
from deepslate import flow


@flow
async def range_four(n: int):
    for i in range(0, n, 1, 2):  ### "range takes one to three int arguments" at "range("
        pass
# ---
from deepslate import flow


@flow
async def always_true(e: DSError):  ### "unknown type DSError" at "DSError"
    pass
# ---
from deepslate import flow, DSError


@flow
async def error_truth(e: DSError) -> int:
    if e:  ### "a value of type DSError is always true; test something else" at "e:"
        return 1
    return 0
# ---
from deepslate import flow


@flow
async def dynamic_spec(x: float, w: int) -> str:
    return f"{x:{w}}"  ### "format specs in flows must be constant" at "w}"
# ---
from deepslate import flow


@flow
async def ascii_conversion(s: str) -> str:
    return f"{s!a}"  ### "!a conversions are not supported in flows" at "s!a"
# ---
from deepslate import flow, json_marshal


@flow
async def marshal_two(a: int):
    json_marshal(a, a)  ### "json_marshal takes one argument" at "json_marshal(a"
# ---
from deepslate import flow


@flow
async def isinstance_generic(x: list[int] | None) -> bool:
    return isinstance(x, list[int])  ### "isinstance takes a class, e.g. isinstance\(x, list\), not list\[int\]" at "list[int])"
# ---
from deepslate import flow


@flow
async def str_attribute(s: str):
    s.size = 1  ### "cannot assign attribute size of str; only dataclass fields can be assigned" at "s.size"
# ---
from deepslate import flow


@flow
async def dict_unpack(d: dict[str, int]):
    e: dict[str, int] = {**d}  ### "\*\* in dict literals is not supported in flows" at "{**d}"
# ---
from deepslate import flow


@flow
async def empty_dict():
    print({})  ### "an empty dict needs a type" at "{}"
# ---
from deepslate import flow


@flow
async def declare_item(xs: list[int]):
    xs[0]: int = 1  ### "only plain names can be declared" at "xs[0]"
# ---
from deepslate import flow


@flow
async def await_len(xs: list[int]) -> int:
    return await len(xs)  ### "await needs a durable operation, an @impure function or a flow call; len is not one" at "await"
# ---
from deepslate import flow


@flow
async def and_value(a: bool, n: int) -> bool:
    return a or n  ### "or needs bool operands, not int" at "n  "
# ---
from deepslate import flow


@flow
async def ifexp_types(a: bool) -> int:
    return 1 if a else "x"  ### "both branches of a conditional expression must have one type: expected int, got str" at "\"x\""
# ---
from deepslate import flow


@flow
async def unreachable_still_checked() -> int:
    return 1
    x: int = "a"  ### "cannot initialise x: expected int, got str" at "\"a\""
# ---
from deepslate import flow


@flow
async def decl_in_loop_used_after(n: int) -> int:
    while n > 0:
        k: int = n
        n = n - 1
    return k  ### "k is not defined" at "k"
# ---
from deepslate import flow


@flow
async def break_keeps_unassigned(n: int) -> int:
    x: int
    while True:
        if n > 0:
            break
        x = 1
        break
    return x  ### "x is used before it is assigned" at "x"
# ---
from deepslate import flow


@flow
async def dead_code_after_loop(n: int) -> int:  ### "flow dead_code_after_loop is declared to return int but can reach the end" at "async"
    while n > 0:
        return 1
        n = 0
# ---
from deepslate import flow, now, uuid4


@flow
async def drawn_with_arguments() -> str:
    t: float = now(1.0)  ### "now takes 0 arguments" at "1.0"
    u: int = uuid4()  ### "cannot initialise u: expected int, got str" at "uuid4"
    return str(t)
