# Calls: arity, keywords, argument types, await, durable operations.
from deepslate import flow


@flow
async def add(a: int, b: int) -> int:
    return a + b


@flow
async def too_many() -> int:
    return add(1, 2, 3)  ### "add takes 2 arguments but 3 were given" at "3)"
# ---
from deepslate import flow


@flow
async def add(a: int, b: int) -> int:
    return a + b


@flow
async def too_few() -> int:
    return add(1)  ### "add is missing argument b" at "add(1)"
# ---
from deepslate import flow


@flow
async def add(a: int, b: int) -> int:
    return a + b


@flow
async def unknown_keyword() -> int:
    return add(1, c=2)  ### "add has no parameter named c" at "c=2"
# ---
from deepslate import flow


@flow
async def add(a: int, b: int) -> int:
    return a + b


@flow
async def twice() -> int:
    return add(1, a=2)  ### "add got argument a twice" at "a=2"
# ---
from deepslate import flow, pure


@pure
def double(n: int) -> int:
    return 2 * n


@flow
async def wrong_arg_type() -> int:
    return double("x")  ### "argument n of double: expected int, got str" at "\"x\""
# ---
from deepslate import flow, pure


@pure
def double(n: int) -> int:
    return 2 * n


@flow
async def await_pure() -> int:
    return await double(1)  ### "await needs a durable operation, an @impure function or a flow call; double is not one" at "await"
# ---
from deepslate import flow, pure


@pure
def unannotated(n):
    return n


@flow
async def calls_unannotated() -> int:
    return unannotated(1)  ### "parameter n of pure function unannotated needs a type annotation" at "unannotated"
# ---
from deepslate import flow, impure


@impure
def no_return(n: int):
    return n


@flow
async def calls_no_return():
    no_return(1)  ### "impure function no_return needs a return annotation" at "no_return"
# ---
from deepslate import flow, json_unmarshal


@flow
async def untyped_unmarshal(data: bytes):
    json_unmarshal(data)  ### "json_unmarshal needs the target type, e.g. json_unmarshal\[list\[int\]\]\(data\)" at "json_unmarshal"
# ---
from deepslate import flow, json_unmarshal, DSError


@flow
async def unmarshal_result(data: bytes):
    xs: list[int] = json_unmarshal[list[int]](data)  ### "cannot initialise xs: expected list\[int\], got list\[int\] \| DSError" at "json_unmarshal"
# ---
from deepslate import flow, sleep


@flow
async def sleep_str():
    sleep("1")  ### "argument seconds of sleep: expected float, got str" at "\"1\""
# ---
from deepslate import flow, http_request


@flow
async def request_body_str():
    http_request("GET", "http://x", {}, "body")  ### "argument body of http_request: expected bytes, got str" at "\"body\""
# ---
from deepslate import flow, http_request


@flow
async def request_unknown_option():
    http_request("GET", "http://x", {}, b"", retry=2)  ### "http_request has no parameter or option named retry \(options: backoff, connect_timeout, max_backoff, max_response_bytes, read_timeout, retries, timeout\)" at "retry=2"
# ---
from deepslate import flow, http_request


@flow
async def request_option_type():
    http_request("GET", "http://x", {}, b"", timeout="5")  ### "argument timeout of http_request: expected float, got str" at "\"5\""
# ---
from deepslate import flow, http_request


@flow
async def request_retries_float():
    http_request("GET", "http://x", {}, b"", retries=2.5)  ### "argument retries of http_request: expected int, got float" at "2.5"
# ---
from deepslate import flow, http_request


@flow
async def request_negative_retries():
    http_request("GET", "http://x", {}, b"", retries=-1)  ### "http_request option retries must be at least 0, not -1" at "-1"
# ---
from deepslate import flow, http_request


@flow
async def request_zero_timeout():
    http_request("GET", "http://x", {}, b"", timeout=0)  ### "http_request option timeout must be a finite number of seconds, positive, not 0" at "0"
# ---
from deepslate import flow, http_request


@flow
async def request_option_positional():
    http_request("GET", "http://x", {}, b"", 5.0)  ### "http_request takes 4 arguments but 5 were given" at "5.0"
# ---
from deepslate import flow, http_request


@flow
async def request_missing_body_with_options():
    http_request("GET", "http://x", {}, timeout=1.0)  ### "http_request is missing argument body" at "http_request("
# ---
from deepslate import flow, dpslio


def plain(n: int) -> None:
    pass


@flow
async def create_plain():
    dpslio.create_task(plain(1))  ### "dpslio.create_task starts flows; plain is not a flow" at "plain(1)"
# ---
from deepslate import flow, dpslio


@flow
async def create_nothing():
    dpslio.create_task(1)  ### "dpslio.create_task takes one flow call" at "dpslio.create_task"
# ---
from deepslate import flow


@flow
async def str_method(s: str) -> str:
    return s.upper()  ### "str.upper\(\) is not supported in flows; use a @pure function" at "s.upper"
# ---
from deepslate import flow


@flow
async def print_sep(n: int):
    print(n, sep=",")  ### "print in flows takes no keyword arguments" at "sep"
# ---
from deepslate import flow


@flow
async def enumerate_value(xs: list[int]):
    print(enumerate(xs))  ### "enumerate is only supported as the iterable of a for loop" at "enumerate"
# ---
from deepslate import flow, dpslio


@flow
async def untyped_queue():
    q: dpslio.Queue[int] = dpslio.Queue()  ### "dpslio.Queue needs its element type" at "dpslio.Queue()"
# ---
from deepslate import flow, dpslio


@flow
async def put_wrong(q: dpslio.Queue[int]):
    await q.put("a")  ### "argument value of put: expected int, got str" at "\"a\""
# ---
from deepslate import flow, dpslio


@flow
async def get_wrong(q: dpslio.Queue[int]):
    s: str = await q.get()  ### "cannot initialise s: expected str, got int" at "await"
# ---
from deepslate import flow, dpslio


@flow
async def lock_put(mu: dpslio.Lock):
    mu.put(1)  ### "dpslio.Lock.put\(\) is not supported in flows" at "mu.put"
# ---
from deepslate import flow


@flow
async def len_int(n: int) -> int:
    return len(n)  ### "len needs a list, dict, str or bytes, not int" at "n)"
# ---
from deepslate import flow


@flow
async def int_of_list(xs: list[int]) -> int:
    return int(xs)  ### "int\(\) cannot convert list\[int\]" at "xs)"
# ---
from deepslate import flow


@flow
async def max_of_str(s: str, n: int) -> int:
    return max(n, s)  ### "max needs numbers, not str" at "s)"
# ---
from deepslate import flow


@flow
async def await_constant():
    await 1  ### "await needs a durable operation, an @impure function or a flow call" at "await"
# ---
from deepslate import flow, DSError


@flow
async def dserror_kwarg() -> DSError:
    return DSError("x", code=1)  ### "DSError has no parameter named code" at "code=1"
# ---
from deepslate import flow, pure


@pure
async def fetch(n: int) -> int:
    return n


@flow
async def calls_async_pure() -> int:
    return fetch(1)  ### "pure function fetch is async; pure functions run inline and must be plain def" at "fetch"
# ---
from deepslate import flow, pure


@flow
async def calls_async_pure_later() -> int:
    return fetch_later(1)  ### "pure function fetch_later is async" at "fetch_later"


@pure
async def fetch_later(n: int) -> int:
    return n
# ---
from deepslate import flow


@flow
async def await_pop(xs: list[int]) -> int:
    return await xs.pop()  ### "await needs a durable operation, an @impure function or a flow call; xs.pop is not one" at "await"
# ---
from deepslate import flow


@flow
async def get_default_type(d: dict[str, int]) -> int:
    return d.get("a", "x")  ### "argument default of get: expected int, got str" at "\"x\""
# ---
from deepslate import flow


@flow
async def get_maybe_none(d: dict[str, int]) -> int:
    return d.get("a")  ### "flow get_maybe_none returns int: expected int, got int \| None" at "d.get"
# ---
from deepslate import flow, impure, dpslio

SEEN: list = []


@impure
def stash(q: dpslio.Queue[int]) -> None:
    SEEN.append(q)


@flow
async def queue_to_python() -> None:
    q: dpslio.Queue[int] = dpslio.Queue[int]()
    stash(q)  ### "impure function stash: parameter q holds a dpslio.Queue\[int\]; queues, locks and wait groups stay inside flows" at "stash"
# ---
from dataclasses import dataclass

from deepslate import flow, pure, dpslio


@dataclass
class Guarded:
    n: int
    mu: dpslio.Lock


@pure
def peek(gs: list[Guarded]) -> int:
    return len(gs)


@flow
async def lock_in_dataclass_to_pure() -> int:
    gs: list[Guarded] = []
    return peek(gs)  ### "pure function peek: parameter gs holds a dpslio.Lock" at "peek"
# ---
from deepslate import flow, impure, dpslio


@impure
def make() -> dpslio.WaitGroup | None:
    return None


@flow
async def wait_group_from_python() -> None:
    wg: dpslio.WaitGroup | None = make()  ### "impure function make returns a dpslio.WaitGroup; a Python function cannot make one: create it in the flow with dpslio.WaitGroup\(\)" at "make"
# ---
from deepslate import flow, json_unmarshal, dpslio, DSError


@flow
async def queue_from_json(b: bytes) -> int:
    q: dpslio.Queue[int] | DSError = json_unmarshal[dpslio.Queue[int]](b)  ### "json_unmarshal cannot make a dpslio.Queue\[int\]" at "json_unmarshal"
    return 0
# ---
from deepslate import flow, dpslio


@flow
async def kid(n: int) -> None:
    pass


@flow
async def create_detach_not_literal(d: bool):
    dpslio.create_task(kid(1), detach=d)  ### "detach of dpslio.create_task must be True or False, written out" at "d)"
# ---
from deepslate import flow, dpslio


@flow
async def kid(n: int) -> None:
    pass


@flow
async def create_unknown_keyword():
    dpslio.create_task(kid(1), daemon=True)  ### "dpslio.create_task has no parameter named daemon; its only keyword is detach" at "daemon"
# ---
from deepslate import flow, http_listen, DSError


@flow
async def listen_timeout_positional() -> bytes:
    r: bytes | DSError = http_listen("POST", "/x", 5.0)  ### "http_listen takes its timeout as a keyword" at "5.0"
    return b""
# ---
from deepslate import flow, http_listen, DSError


@flow
async def listen_timeout_not_number() -> None:
    r: bytes | DSError = http_listen("POST", "/x", timeout="soon")  ### "argument timeout of http_listen: expected float, got str" at "\"soon\""
