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
        case _:  ### "each case of match dpslio.select must be `case _ if v := await q.get\(\):`, `case _ if body := await http_listen\(method, route\):` or `case _ if await sleep\(seconds\):`" at "_"
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
# ---
from deepslate import flow, dpslio, sleep


@flow
async def select_two_timeouts(q: dpslio.Queue[int]) -> int:
    match dpslio.select:
        case _ if v := await q.get():
            return v
        case _ if await sleep(1.0):
            return 0
        case _ if await sleep(2.0):  ### "match dpslio.select takes one timeout case; the first is at line 92" at "sleep"
            return 1
    return 0
# ---
from deepslate import flow, dpslio, sleep


@flow
async def select_walrus_on_sleep(q: dpslio.Queue[int]) -> int:
    match dpslio.select:
        case _ if v := await q.get():
            return v
        case _ if t := await sleep(1.0):  ### "the sleep case of select binds no variable: write `case _ if await sleep\(seconds\):`" at "t :="
            return 0
    return 0
# ---
from deepslate import flow, dpslio, http_listen


@flow
async def select_listen_route_not_str(q: dpslio.Queue[int], route: int) -> int:
    match dpslio.select:
        case _ if v := await q.get():
            return v
        case _ if body := await http_listen("POST", route):  ### "argument route of http_listen: expected str, got int" at "route)"
            return len(body)
    return 0
# ---
from deepslate import flow, dpslio, http_listen


@flow
async def select_listen_no_walrus(q: dpslio.Queue[int]) -> int:
    match dpslio.select:
        case _ if v := await q.get():
            return v
        case _ if await http_listen("POST", "/x"):  ### "a select case on http_listen binds the request body" at "await"
            return 0
    return 0
# ---
from deepslate import flow, dpslio, http_listen


@flow
async def select_listen_with_timeout(q: dpslio.Queue[int]) -> int:
    match dpslio.select:
        case _ if v := await q.get():
            return v
        case _ if body := await http_listen("POST", "/x", timeout=5.0):  ### "http_listen in select takes no timeout; add a case `case _ if await sleep\(seconds\):`" at "timeout"
            return 0
    return 0
# ---
from deepslate import flow, dpslio


@flow
async def select_queue_no_walrus(q: dpslio.Queue[int]) -> int:
    match dpslio.select:
        case _ if await q.get():  ### "a select case on a queue binds the item" at "await"
            return 1
    return 0
# ---
from deepslate import flow, dpslio, sleep


@flow
async def select_sleep_not_float(q: dpslio.Queue[int]) -> int:
    match dpslio.select:
        case _ if v := await q.get():
            return v
        case _ if await sleep("soon"):  ### "argument seconds of sleep: expected float, got str" at "\"soon\""
            return 0
    return 0
# ---
from deepslate import flow, dpslio


@flow
async def select_other_call(q: dpslio.Queue[int]) -> int:
    match dpslio.select:
        case _ if v := await q.put(1):  ### "each case of match dpslio.select must be" at "v :="
            return 1
    return 0
# ---
from deepslate import flow, dpslio, http_listen


@flow
async def select_listen_body_is_bytes(q: dpslio.Queue[int]) -> int:
    match dpslio.select:
        case _ if v := await q.get():
            return v
        case _ if body := await http_listen("POST", "/x"):
            return body  ### "returns int: expected int, got bytes" at "body"
    return 0
