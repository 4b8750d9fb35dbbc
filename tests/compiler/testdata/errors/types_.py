# Static type errors.
from deepslate import flow


@flow
async def wrong_init():
    x: int = "a"  ### "cannot initialise x: expected int, got str" at "\"a\""
# ---
from deepslate import flow


@flow
async def wrong_assign(s: str):
    x: int = 0
    x = s  ### "cannot assign to x: expected int, got str" at "s"
# ---
from deepslate import flow


@flow
async def float_to_int():
    x: int = 1.5  ### "expected int, got float" at "1.5"
# ---
from deepslate import flow


@flow
async def str_plus_int(s: str, n: int) -> str:
    return s + n  ### "unsupported operand types for \+: str and int" at "s + n"
# ---
from deepslate import flow


@flow
async def str_mod(s: str, n: int) -> str:
    return s % n  ### "unsupported operand types for %: str and int; use an f-string" at "s % n"
# ---
from deepslate import flow


@flow
async def bool_arith(a: bool) -> int:
    return a + 1  ### "arithmetic on bool is not supported; convert with int" at "a + 1"
# ---
from deepslate import flow


@flow
async def missing_param_annotation(n):  ### "parameter n of flow missing_param_annotation needs a type annotation" at "n)"
    pass
# ---
from deepslate import flow


@flow
async def bad_annotation(n: tuple[int, int]):  ### "unsupported type annotation tuple\[int, int\]" at "tuple"
    pass
# ---
from deepslate import flow


@flow
async def bare_list(xs: list):  ### "list needs its element type, e.g. list\[int\]" at "list)"
    pass
# ---
from deepslate import flow


@flow
async def dict_key(d: dict[float, int]):  ### "dict keys must be int, str or bool, not float" at "dict[float"
    pass
# ---
from deepslate import flow


@flow
async def unknown_type():
    x: Widget = 1  ### "unknown type Widget" at "Widget"
# ---
from deepslate import flow


@flow
async def empty_list():
    print([])  ### "an empty list needs a type" at "[]"
# ---
from deepslate import flow


@flow
async def mixed_list():
    xs: list[int] = [1, "a"]  ### "list elements must have one type: expected int, got str" at "\"a\""
# ---
from deepslate import flow


@flow
async def index_int(n: int) -> int:
    return n[0]  ### "int cannot be indexed" at "n[0]"
# ---
from deepslate import flow


@flow
async def list_index_str(xs: list[int]) -> int:
    return xs["a"]  ### "an index must be int, not str" at "\"a\""
# ---
from deepslate import flow, DSError


@flow
async def union_without_narrowing(r: bytes | DSError) -> int:
    return len(r)  ### "len needs a list, dict, str or bytes, not bytes \| DSError" at "r)"
# ---
from deepslate import flow, DSError


@flow
async def union_attr(r: str | DSError) -> str:
    return r.message  ### "str \| DSError has no attribute message; narrow it with isinstance first" at "r.message"
# ---
from deepslate import flow, DSError


@flow
async def union_code(r: bytes | DSError) -> int:
    return r.code  ### "bytes \| DSError has no attribute code; narrow it with isinstance first" at "r.code"
# ---
from deepslate import flow, DSError


@flow
async def error_status(e: DSError) -> int:
    return e.status  ### "DSError has no attribute status" at "e.status"
# ---
from dataclasses import dataclass

from deepslate import flow


@dataclass
class Point:
    x: int
    y: int


@flow
async def unknown_field(p: Point) -> int:
    return p.z  ### "dataclass Point has no field z" at "p.z"
# ---
from deepslate import flow


@flow
async def return_mismatch() -> int:
    return "a"  ### "flow return_mismatch returns int: expected int, got str" at "\"a\""
# ---
from deepslate import flow


@flow
async def missing_return(n: int) -> int:  ### "flow missing_return is declared to return int but can reach the end without a return statement" at "async"
    if n > 0:
        return 1
# ---
from deepslate import flow


@flow
async def value_from_none_flow() -> None:
    return 1  ### "flow value_from_none_flow is declared to return None; change its annotation" at "1"
# ---
from deepslate import flow


@flow
async def bare_return_in_int_flow() -> int:
    return  ### "flow bare_return_in_int_flow must return a value of type int" at "return"
# ---
from deepslate import flow, DSError


@flow
async def isinstance_never(r: bytes | DSError) -> int:
    if isinstance(r, str):  ### "a value of type bytes \| DSError is never an instance of str" at "str)"
        return 1
    return 0
# ---
from deepslate import flow


@flow
async def is_with_value(a: str, b: str) -> bool:
    return a is b  ### "is and is not only compare with None; use == for values" at "a is b"
# ---
from deepslate import flow


@flow
async def never_none(n: int) -> bool:
    return n is None  ### "a value of type int is never None" at "n is None"
# ---
from deepslate import flow


@flow
async def in_int(n: int) -> bool:
    return 1 in n  ### "in needs a list, dict, str or bytes on the right, not int" at "n  "
# ---
from deepslate import flow


@flow
async def compare_str_int(s: str, n: int) -> bool:
    return s < n  ### "cannot compare str and int" at "s < n"
# ---
from deepslate import flow


@flow
async def range_float(x: float):
    for i in range(x):  ### "range\(\) argument must be int, not float" at "x)"
        pass
# ---
from deepslate import flow


@flow
async def iterate_int(n: int):
    for i in n:  ### "cannot iterate over int; iterate over a list" at "n:"
        pass
# ---
from deepslate import flow


@flow
async def handle_truth(e: DSErrorAlias):  ### "unknown type DSErrorAlias" at "DSErrorAlias"
    pass
# ---
from deepslate import flow


@flow
async def zero_step():
    for i in range(0, 10, 0):  ### "range\(\) step must not be zero" at "0)"
        pass
# ---
from deepslate import flow


@flow
async def dict_value_type(d: dict[str, int]):
    d["a"] = "b"  ### "cannot store into the dict: expected int, got str" at "\"b\""
# ---
from deepslate import flow


@flow
async def str_item_assign(s: str):
    s[0] = "a"  ### "cannot assign items of str; only list and dict items can be assigned" at "s[0]"
# ---
from deepslate import flow, DSError


@flow
async def narrowed_by_and(r: int | DSError) -> int:
    if isinstance(r, int) and r > 0:
        return r
    if r > 0 or isinstance(r, int):  ### "cannot compare int \| DSError and int" at "r > 0"
        return 3
    return 0
# ---
from deepslate import flow, DSError


@flow
async def narrowed_by_or(r: int | DSError) -> int:
    if isinstance(r, DSError) or r > 1:
        return 2
    x: int = r
    if isinstance(r, int) or r.message == "":  ### "int has no attribute message" at "r.message"
        return x
    return 0
# ---
from deepslate import flow


@flow
async def negative_power(n: int) -> int:
    return n ** -2  ### "int \*\* negative int is a float in Python; write float\(x\) \*\* -n" at "n ** -2"
# ---
from deepslate import flow


@flow
async def calls_unannotated_later() -> int:
    return later_value(1)  ### "flow later_value returns a value but has no return annotation; annotate it" at "later_value"


@flow
async def later_value(n: int):
    return n
