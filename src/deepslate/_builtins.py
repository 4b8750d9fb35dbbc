"""The Python side of the ``builtin:*`` call targets, and the durable
operations as plain-Python names.

``BUILTINS`` maps a ``CallTarget.ref`` suffix to the callable ``link`` binds;
the VM calls it with the flow's values. A failed conversion (``int("x")``)
raises, and the VM turns that into a fault of the isolate.

``sleep``, ``http_listen`` … below are what users import: inside a flow the
compiler turns them into durable operations; called from ordinary Python
they raise, since only a flow can checkpoint.
"""
from __future__ import annotations

import json
import operator
import random as _random
import re
import threading
import time
import uuid
from typing import Any, Callable, NoReturn, TypedDict, TypeVar, Unpack, overload

import orjson

from ._types import Type, from_json, to_jsonable
from ._awaitable import AwaitableBytes, AwaitableError, AwaitableFloat, AwaitableStr, Durable
from ._values import DSError

T = TypeVar("T")


def b_range(*args: int) -> list[int]:
    return list(range(*args))


# an integer literal that may lie beyond what orjson reads exactly (it gives a float past 64 bits)
_LONG_DIGITS = re.compile(rb"\d{19}")


def json_marshal_value(v: Any) -> bytes | DSError:
    obj = to_jsonable(v)
    try:
        return orjson.dumps(obj)
    except orjson.JSONEncodeError:
        pass
    # an int beyond 64 bits or a str with a lone surrogate: the stdlib writes both exactly
    # (non-ASCII as \u escapes, so the bytes are always valid UTF-8)
    try:
        return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as e:
        return DSError(f"json_marshal: {e}", kind="json")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (a float that is not finite is written as a string)")


def _json_loads(data: Any) -> Any:
    raw = data.encode("utf-8", "surrogatepass") if type(data) is str else bytes(data)
    first: Exception | None = None
    if not _LONG_DIGITS.search(raw):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as e:
            first = e      # orjson also refuses a \ud800 escape, which is valid JSON
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except ValueError as e:
        raise first or e from None


def json_unmarshal_value(t: Type, data: Any) -> Any:
    try:
        obj = _json_loads(data)
    except ValueError as e:
        return DSError(f"json_unmarshal: invalid JSON: {e}", kind="json")
    try:
        return from_json(t, obj)
    except ValueError as e:
        return DSError(f"json_unmarshal: {e}", kind="json")


def b_dserror(message: Any, kind: Any) -> DSError:
    return DSError(message, kind)


def list_pop(xs: list[Any], index: int) -> Any:
    return xs.pop(index)


def dict_get(d: dict[Any, Any], key: Any, default: Any) -> Any:
    return d.get(key, default)


def dict_keys(d: dict[Any, Any]) -> list[Any]:
    return list(d)


def dict_values(d: dict[Any, Any]) -> list[Any]:
    return list(d.values())


class _FlowClock(threading.local):
    """The clock a flow's ``now()`` reads on this thread: real time unless an engine on a
    virtual clock set its own around the run of a flow (runtime/clock.py)."""
    now = staticmethod(time.time)


flow_clock = _FlowClock()


def b_now() -> float:
    return flow_clock.now()


BUILTINS: dict[str, Any] = {
    # the types themselves: a C call is the cheapest conversion the VM can make
    "str": str, "int": int, "float": float, "abs": abs, "min": min, "max": max,
    "range": b_range, "repr": repr, "json_marshal": json_marshal_value,
    "json_unmarshal": json_unmarshal_value, "DSError": b_dserror,
    # drawn inline: a value is kept by the snapshot of the next durable point, and nothing
    # outside the isolate sees it before then, so a re-run that draws another is unobservable
    "now": b_now, "random": _random.random, "uuid4": lambda: str(uuid.uuid4()),
    "iadd": operator.iadd, "imul": operator.imul, "list_pop": list_pop, "dict_get": dict_get, "dict_keys": dict_keys, "dict_values": dict_values,
}


def _outside(name: str) -> RuntimeError:
    return RuntimeError(f"{name}() is a flow operation and only works inside an @flow function; "
                        "start the flow with spawn")


class HttpOptions(TypedDict, total=False):
    """``http_request``'s per-call options: any field of ``deepslate.HttpPolicy``."""
    retries: int
    backoff: float
    max_backoff: float
    connect_timeout: float
    read_timeout: float
    timeout: float
    max_response_bytes: int


def sleep(seconds: float) -> Durable[object]:
    """Inside a flow: sleep durably (survives restarts). Its value is None; a type checker
    sees ``object`` so that ``case _ if await sleep(s):`` of a select type-checks."""
    raise _outside("sleep")


@overload
def http_listen(method: str, route: str) -> AwaitableBytes: ...
@overload
def http_listen(method: str, route: str, *, timeout: float) -> AwaitableBytes | AwaitableError: ...


def http_listen(method: str, route: str, *, timeout: float | None = None) -> AwaitableBytes | AwaitableError:
    """Inside a flow: wait for an HTTP request on ``route`` and take its body; with ``timeout``,
    a DSError of kind "timeout" when that many seconds pass first."""
    raise _outside("http_listen")


def http_request(method: str, url: str, headers: dict[str, str], body: bytes,
                 **options: Unpack[HttpOptions]) -> AwaitableBytes | AwaitableError:
    """Inside a flow: a durable outbound HTTP call; the body of a 2xx answer, else a DSError."""
    raise _outside("http_request")


def json_marshal(value: object) -> AwaitableBytes | AwaitableError:
    """Inside a flow: encode ``value`` as JSON bytes."""
    raise _outside("json_marshal")


class _JsonUnmarshal:
    """``json_unmarshal[T](data)``: decode JSON bytes into a value of type T."""

    @overload
    def __getitem__(self, t: type[T]) -> Callable[[bytes], T | DSError]: ...
    @overload
    def __getitem__(self, t: object) -> Callable[[bytes], Any]: ...   # a union: typing cannot name it

    def __getitem__(self, t: object) -> Callable[[bytes], Any]:
        def call(data: bytes) -> Any:
            raise _outside("json_unmarshal")
        return call

    def __call__(self, data: bytes) -> NoReturn:
        raise _outside("json_unmarshal")

    def __repr__(self) -> str:
        return "json_unmarshal"


json_unmarshal = _JsonUnmarshal()


def now() -> AwaitableFloat:
    """Inside a flow: the time (seconds since the epoch); a resumed flow sees the value it had."""
    raise _outside("now")


def random() -> AwaitableFloat:
    """Inside a flow: a random float in [0, 1); a resumed flow sees the value it had."""
    raise _outside("random")


def uuid4() -> AwaitableStr:
    """Inside a flow: a random UUID as a str; a resumed flow sees the value it had."""
    raise _outside("uuid4")


# name -> the object users import; the compiler recognises them by identity
DURABLE: dict[str, object] = {"sleep": sleep, "http_listen": http_listen, "http_request": http_request,
           "json_marshal": json_marshal, "json_unmarshal": json_unmarshal, "now": now, "random": random,
           "uuid4": uuid4}
