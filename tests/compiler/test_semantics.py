"""Flows compute what CPython computes: one regression test per divergence class once found.

Each case is a flow body run on the VM and as plain Python (``test_differential``'s two
runners); the value (with exact types), the printed lines and any fault must agree. Where
the typed subset refuses code rather than compute something else, the refusal is tested
with its message.
"""
from __future__ import annotations

import re

import pytest

from deepslate import DSError
from test_differential import run_cpython, run_deepslate

HEAD = "from deepslate import flow, pure, json_marshal, json_unmarshal, DSError\n\n\n"


def agree(ret: str, body: str, params: str = "", args: dict | None = None) -> tuple:
    src = f"{HEAD}@flow\nasync def main({params}) -> {ret}:\n" + "".join(
        f"    {line}\n" for line in body.strip("\n").splitlines())
    ours, theirs = run_deepslate(src, args or {}), run_cpython(src, args or {})
    assert ours == theirs, f"\n ours   {ours}\n CPython {theirs}\n{src}"
    return ours


def refused(ret: str, body: str, match: str) -> None:
    from deepslate.compiler import CompileError

    import driver
    src = f"{HEAD}@flow\nasync def main() -> {ret}:\n" + "".join(f"    {line}\n" for line in body.strip("\n").splitlines())
    with pytest.raises(CompileError, match=match):
        driver.compile_source(src, "refused.py")


# -- min and max of mixed numbers return one argument as it is --------------------------


@pytest.mark.parametrize("expr", [
    "str(max(1, 1.0))", "str(min(1.0, 1))", "str(max(1.0, 1))", "str(max(2**63 + 1, 2.0**63))",
    "str(max(10**400, 1.0))", "str(min(-10**400, 1.0))", "str(min(True, 2))", "str(max(False, 0, 0.0))",
    "str(min(True, False))", "str(max(3, 2.5, 1))", "str(max(2**53 + 1, 2.0**53))",
])
def test_mixed_min_max_return_pythons_argument(expr):
    agree("str", f"return {expr}")


@pytest.mark.parametrize("body, ret", [
    ("a: int = 3\nreturn int(max(a, 0.5))", "int"),
    ("a: int = 3\nreturn float(max(a, 0.5)) * 2", "float"),
    ("a: int = 2**63 + 1\nreturn max(a, 2.0**63) > 2.0**63", "bool"),
    ("a: int = 3\nreturn min(a, 0.5) < 1", "bool"),
    ("a: int = 3\nreturn [max(a, 0.5) == 3, min(a, 3.0) == 3.0]", "list[bool]"),
    ("a: int = 3\nreturn max(a, 0.5)", "float"),
])
def test_a_mixed_min_max_result_converts_and_compares_like_python(body, ret):
    agree(ret, body)


def test_equality_across_bool_int_and_float_is_pythons():
    agree("list[bool]", """
a: int = 1
b: bool = True
f: float = 1.0
return [max(a, 0.5) == True, b == 1.0, f != False, min(0, 0.5) == False, b == a, max(a, 0.5) != b]
""")


def test_a_float_compares_exactly_with_an_int_expression():
    # only a literal beside a float becomes a float; (big if flag else 1) once was converted first
    agree("list[bool]", """
big: int = 10 ** e
f: float = -0.0
return [f < (big if flag else 1), f == (big if flag else 1), (big if flag else 1) > f, f < 1,
        2 ** 53 + 1 == float(2 ** 53)]
""", "e: int, flag: bool", {"e": 400, "flag": True})


def test_arithmetic_on_a_mixed_min_max_result_is_refused_with_a_hint():
    refused("float", "a: int = 3\nreturn max(a, 0.5) * 2",
            r"unsupported operand types for \*: int \| float and int; min/max of mixed numbers .* float\(\.\.\.\)")


# -- bool is a kind of int -------------------------------------------------------------


def test_isinstance_of_a_bool_is_int_too():
    agree("list[bool]", """
b: bool = True
v: int | bool | str = True
w: int | bool = False
return [isinstance(v, int), isinstance(b, int), isinstance(w, int), isinstance(w, bool),
        isinstance(v, bool), isinstance(v, (str, int))]
""")


def test_isinstance_int_narrows_to_both_int_and_bool():
    for arg in (True, 7, "s"):
        agree("str", """
if isinstance(v, int):
    return "int-like " + str(v)
return "other " + v
""", "v: int | bool | str", {"v": arg})


@pytest.mark.parametrize("subject, value", [
    ("b: bool = True", "1"), ("b: bool = False", "0"), ("b: bool = True", "1.0"), ("b: bool = True", "2"),
    ("b: int = 0", "0.0"), ("b: int = 0", "-0.0"), ("b: int = 3", "3.0"), ("b: int = 2**70", "1180591620717411303424.0"),
    ("b: float = 1.0", "1"), ("b: float = 2.0**53", "9007199254740992"),
])
def test_match_compares_neighbouring_number_types_like_python(subject, value):
    agree("str", f"""
{subject}
match b:
    case {value}:
        return "hit"
    case _:
        return "miss"
""")


@pytest.mark.parametrize("t, arg, value", [
    ("int | bool | str", True, "True"), ("int | bool | str", True, "1"), ("int | str", 1, "True"),
    ("int | str", 1, "1.0"), ("int | bool", False, "False"), ("int | str", 0, "False"), ("float | str", 0.0, "0"),
    ("bool | str", False, "0"),
    ("bool | str", True, "True"), ("int | float", 1.0, "True"), ("int | float", 2, "2.0"),
])
def test_match_on_a_union_compares_numbers_with_eq_and_true_false_by_identity(t, arg, value):
    agree("str", f"""
match b:
    case {value}:
        return "hit"
    case _:
        return "miss"
""", f"b: {t}", {"b": arg})


def test_a_bool_where_only_int_is_declared_is_refused():
    # narrowed to int, a bool would be read back as an int (str(v) would be '1', not 'True')
    refused("str", "v: int | str = True\nreturn str(v)", r"cannot initialise v: expected int \| str, got bool")


@pytest.mark.parametrize("subject, value, why", [
    ("b: int = 1", "0.5", r"case 0\.5 can never match a subject of type int \(no int equals it\)"),
    ("b: float = 0.0", "9007199254740993", "can never match a float: no float equals it exactly"),
    ("b: int = 1", "True", "case True can never match a subject of type int"),
    ("b: float = 1.0", "True", "case True can never match a subject of type float"),
])
def test_a_case_that_no_value_can_match_is_refused(subject, value, why):
    refused("str", f"{subject}\nmatch b:\n    case {value}:\n        return 'hit'\n    case _:\n        return 'miss'", why)


# -- JSON encodes every flow value and reads it back -----------------------------------

JSON_HEAD = """from dataclasses import dataclass

from deepslate import DSError, flow, json_marshal, json_unmarshal


@dataclass
class Reading:
    name: str
    value: float
    count: int

"""


def run_json(body: str, ret: str):
    import driver
    src = JSON_HEAD + f"@flow\nasync def main() -> {ret}:\n" + "".join(f"    {line}\n" for line in body.strip("\n").splitlines())
    out = driver.run_flow(driver.compile_source(src, "json_semantics.py")["main"], {})
    return out


@pytest.mark.parametrize("value, wire", [
    ([2**64], b"[18446744073709551616]"),
    ([-2**70, 2**63 - 1], b"[-1180591620717411303424,9223372036854775807]"),
    ([float("nan"), float("inf"), -float("inf"), -0.0], b'["NaN","Infinity","-Infinity",-0.0]'),
    (["\ud800", "\U0001f600"], b'["\\ud800","\\ud83d\\ude00"]'),
])
def test_json_wire_forms(value, wire):
    from deepslate._builtins import json_marshal_value
    assert json_marshal_value(value) == wire


@pytest.mark.parametrize("decl, ret", [
    ("v: list[int] = [2**64, -2**70, 7]", "list[int]"),
    ("v: list[float] = [float('nan'), float('inf'), -float('inf'), -0.0, 1e300]", "list[float]"),
    ("v: list[str] = ['\\ud800', '\\U0001f600', 'é']", "list[str]"),
    ("v: dict[str, int] = {'big': 10**30}", "dict[str, int]"),
    ("v: Reading = Reading('x', float('nan'), 2**65)", "Reading"),
])
def test_json_round_trips_big_ints_non_finite_floats_and_any_str(decl, ret):
    import math
    out = run_json(f"""
{decl}
data: bytes | DSError = json_marshal(v)
if isinstance(data, DSError):
    return data
back: {ret} | DSError = json_unmarshal[{ret}](data)
return back
""", f"{ret} | DSError")
    assert not isinstance(out, Exception) and type(out).__name__ != "DSError", out
    want = eval(decl.split(" = ", 1)[1], {"Reading": type(out)} if ret == "Reading" else {})  # noqa: S307
    if ret == "Reading":
        assert (out.name, math.isnan(out.value), out.count) == ("x", True, 2**65)
    elif ret == "list[float]":
        assert [str(x) for x in out] == [str(x) for x in want] and math.copysign(1, out[3]) == -1
    else:
        assert out == want


@pytest.mark.parametrize("data, ret, message", [
    (b"[1, NaN]", "list[float]", "invalid JSON: unexpected character"),
    (b"[12345678901234567890123, Infinity]", "list[float]", "Infinity is not JSON"),
    (b'["NaN"]', "list[int]", r"\$\[0\]: expected int, got str"),
    (b"[" + b"9" * 400 + b"]", "list[float]", r"\$\[0\]: an int of 1329 bits is too large for a float"),
    (b"[18446744073709551616, ", "list[int]", "invalid JSON"),
])
def test_json_refuses_what_json_does_not_allow(data, ret, message):
    from deepslate._builtins import json_unmarshal_value
    from deepslate._types import FLOAT, INT, ListT
    err = json_unmarshal_value(ListT(FLOAT if "float" in ret else INT), data)
    assert type(err).__name__ == "DSError" and err.kind == "json"
    assert re.search(message, err.message), err.message


# -- in compares with ==: a bool finds an equal int, and the other way round ------------------


@pytest.mark.parametrize("arg", [True, False, 1, 0, 2])
@pytest.mark.parametrize("expr", [
    "x in [1, 2]", "x not in [1, 2]", "x in [True]", "x in [0.0, 2.5]", "x in {1: 'a'}",
    "x in ys", "x not in bs", "x in {False: 0.5}",
])
def test_in_finds_numbers_by_equality_across_bool_int_and_float(expr, arg):
    agree("bool", f"ys: list[float] = [1.0, 2.5]\nbs: list[bool] = [False]\nreturn {expr}", "x: int | bool",
          {"x": arg})


# -- a DSError's code is an int (0 unless the error carries one) -------------------------


@pytest.mark.parametrize("err", [DSError("x"), DSError("HTTP 404", "http", 404), DSError("y", code=-2**70)])
def test_an_error_code_reads_as_an_int(err):
    out = agree("int", "c: int = e.code\nif e.code == 404 and e.kind == 'http':\n    return c * 2\nreturn c + 1",
                "e: DSError", {"e": err})
    assert out[:2] == ("value", ("int", err.code * 2 if err.code == 404 else err.code + 1))


def test_an_error_code_is_not_a_str():
    refused("str", 'e: DSError = DSError("x")\nreturn e.code', "expected str, got int")
