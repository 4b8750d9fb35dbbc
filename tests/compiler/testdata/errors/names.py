# Names: declarations, scoping, unknown and unmarked names.
from deepslate import flow


@flow
async def undefined() -> int:
    return missing + 1  ### "missing is not defined" at "missing"
# ---
from deepslate import flow


@flow
async def undeclared():
    x = 1  ### "x is not declared; declare it with a type first, e.g. x: int = \.\.\." at "x"
# ---
from deepslate import flow


@flow
async def redeclared():
    x: int = 1
    x: int = 2  ### "x is already declared at line 21 \(in this block\)" at "x"
# ---
from deepslate import flow


@flow
async def shadows(n: int):
    x: int = 1
    if n > 0:
        x: int = 2  ### "x is already declared at line 29 \(in an enclosing block\)" at "x"
# ---
from deepslate import flow


@flow
async def shadows_param(n: int):
    n: int = 2  ### "n is already declared at line 37 \(as a parameter\)" at "n: int"
# ---
from deepslate import flow


@flow
async def used_before_assigned() -> int:
    x: int
    return x  ### "x is used before it is assigned" at "x"
# ---
from deepslate import flow


@flow
async def assigned_on_one_path(n: int) -> int:
    x: int
    if n > 0:
        x = 1
    return x  ### "x is used before it is assigned" at "x"
# ---
from deepslate import flow


@flow
async def out_of_scope(n: int) -> int:
    if n > 0:
        y: int = 1
    return y  ### "y is not defined" at "y"
# ---
import os

from deepslate import flow


@flow
async def unmarked_module_function() -> int:
    return os.getpid()  ### "os.getpid is not a flow function; mark a Python function @pure or @impure to call it from a flow" at "os.getpid"
# ---
from deepslate import flow


def helper(n: int) -> int:
    return n


@flow
async def unmarked_function() -> int:
    return helper(1)  ### "helper is not a flow function; mark a Python function @pure or @impure" at "helper"
# ---
from deepslate import flow


@flow
async def unmarked_later() -> int:
    return helper_later(1)  ### "helper_later is not a flow function" at "helper_later"


def helper_later(n: int) -> int:
    return n
# ---
from deepslate import flow


@flow
async def calls_variable(n: int) -> int:
    return n(1)  ### "n is a variable, not a function" at "n(1)"
# ---
from deepslate import flow


@flow
async def python_builtin(xs: list[int]) -> list[int]:
    return sorted(xs)  ### "sorted\(\) is not available in flows; call it from a @pure function" at "sorted"
# ---
import os

from deepslate import flow


@flow
async def module_value() -> str:
    return os.sep + os.environ  ### "os.environ cannot be used as a value in a flow" at "os.environ"
# ---
from deepslate import flow


@flow
async def function_as_value() -> int:
    f: int = function_as_value  ### "function_as_value cannot be used as a value in a flow; call it" at "function_as_value  "
    return f
# ---
from deepslate import flow


@flow
async def two_errors(n: int) -> int:
    a: int = b  ### "b is not defined" at "b"
    c: str = 1  ### "cannot initialise c: expected str, got int" at "1"
    return n
# ---
import asyncio

from deepslate import flow


@flow
async def asyncio_sleep():
    await asyncio.sleep(1)  ### "asyncio.sleep is not a flow function; .* for a durable sleep use deepslate's sleep\(seconds\)" at "asyncio.sleep"
# ---
from deepslate import flow


@flow
async def calls_constant() -> int:
    return LIMIT(1)  ### "LIMIT is an int constant, not a function" at "LIMIT"


LIMIT = 10
