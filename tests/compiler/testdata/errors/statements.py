# Statements that have no place in a flow.
from deepslate import flow, DSError


@flow
async def uses_try() -> int:
    try:  ### "exceptions are not supported in flows; return a DSError" at "try"
        pass
    except ValueError:
        pass
    return 1
# ---
from deepslate import flow


@flow
async def uses_raise():
    raise ValueError("no")  ### "raise is not supported in flows; return a DSError value instead" at "raise"
# ---
from deepslate import flow


@flow
async def uses_with():
    with open("x") as f:  ### "with statements are not supported" at "with"
        pass
# ---
from deepslate import flow


@flow
async def uses_import():
    import os  ### "imports are not allowed inside flows; import at module level" at "import"
# ---
from deepslate import flow


@flow
async def uses_from_import():
    from os import path  ### "imports are not allowed inside flows" at "from"
# ---
from deepslate import flow

COUNT = 0


@flow
async def uses_global():
    global COUNT  ### "global is not supported in flows" at "global"
# ---
from deepslate import flow


@flow
async def nested_def():
    def helper() -> int:  ### "nested functions are not supported in flows" at "def"
        return 1
# ---
from deepslate import flow


@flow
async def nested_class():
    class Point:  ### "classes cannot be defined inside flows; define a @dataclass at module level" at "class"
        x: int
# ---
from deepslate import flow


@flow
async def uses_del():
    xs: list[int] = [1]
    del xs[0]  ### "del is not supported in flows" at "del"
# ---
from deepslate import flow


@flow
async def uses_assert(n: int):
    assert n > 0  ### "assert is not supported in flows; test the condition with if" at "assert"
# ---
from deepslate import flow


@flow
async def while_else(n: int):
    while n > 0:
        n = n - 1
    else:
        n = 5  ### "while \.\.\. else is not supported" at "n = 5"
# ---
from deepslate import flow


@flow
async def for_else(xs: list[int]):
    for x in xs:
        pass
    else:
        pass  ### "for \.\.\. else is not supported" at "pass"
# ---
from deepslate import flow


@flow
async def chained(n: int):
    a: int = 0
    b: int = 0
    a = b = n  ### "chained assignment is not supported in flows" at "a = b"
# ---
from deepslate import flow


@flow
async def unpack(n: int):
    a: int = 0
    b: int = 0
    a, b = n, n  ### "unpacking assignment is not supported in flows" at "a, b"
# ---
from deepslate import flow


@flow
async def no_effect(n: int):
    n + 1  ### "this expression has no effect; assign its value to a variable or remove it" at "n + 1"
# ---
from deepslate import flow


@flow
async def async_for(xs: list[int]):
    async for x in xs:  ### "async for is not supported in flows" at "async for"
        pass
# ---
from deepslate import flow


def plain():
    pass


@flow
def not_async(n: int):  ### "flows are async functions; write @flow async def not_async" at "def"
    pass
# ---
from deepslate import flow


@flow
async def broken(n: int) -> int:
    return "x"  ### "flow broken returns int: expected int, got str" at "\"x\""


@flow
async def calls_broken(n: int) -> int:
    return broken(n) + 1
