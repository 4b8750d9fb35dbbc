# match/case and dpslio.select.
from deepslate import flow


@flow
async def capture(n: int) -> int:
    match n:
        case x:  ### "capture patterns are not supported in flows" at "x"
            return 1
    return 0
# ---
from deepslate import flow


@flow
async def guard(n: int) -> int:
    match n:
        case 1 if n > 0:  ### "case guards are not supported in flows" at "n > 0"
            return 1
    return 0
# ---
from deepslate import flow


@flow
async def wrong_literal(n: int) -> int:
    match n:
        case "a":  ### "case 'a' can never match a subject of type int" at "\"a\""
            return 1
    return 0
# ---
from deepslate import flow


@flow
async def sequence_pattern(xs: list[int]) -> int:
    match xs:
        case [1, 2]:  ### "only literal patterns, \| alternatives and _ are supported in flows" at "[1"
            return 1
    return 0
# ---
from deepslate import flow


@flow
async def none_case(n: int) -> int:
    match n:
        case None:  ### "case None can never match a subject of type int" at "None"
            return 1
    return 0
# ---
from deepslate import flow, dpslio


@flow
async def select_default(q: dpslio.Queue[int]) -> int:
    match dpslio.select:
        case _ if v := await q.get():
            return v
        case _:  ### "each case of match dpslio.select must read `case _ if v := await q.get\(\):`" at "_"
            return 0
    return 0
# ---
from deepslate import flow, dpslio


@flow
async def select_not_queue(n: int) -> int:
    match dpslio.select:
        case _ if v := await n.get():  ### "select reads queues; n is int" at "n.get"
            return v
    return 0
# ---
from deepslate import flow, dpslio


@flow
async def select_scope(q: dpslio.Queue[int]) -> int:
    match dpslio.select:
        case _ if v := await q.get():
            pass
    return v  ### "v is not defined" at "v"
