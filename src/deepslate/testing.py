"""The testing kit: run flows against a real SQLite store on a virtual clock.

    from deepslate import testing

    def test_subscription():
        with testing.Env([subscription]) as env:
            env.spawn("sub-1", subscription, customer="ann")
            env.send("sub-1", "POST", "/approve", b"{}")
            assert env.wait("sub-1") == "renewed 12 times"      # a year of sleeps, at once

``Env`` (synchronous; the engine runs on a loop of its own in a thread) and ``AsyncEnv``
(``async with``, on the caller's loop) offer the same methods. docs/testing.md has the whole
tour. Time stands still between the test's calls; it moves only inside ``wait`` (to the next
timer each time every isolate is blocked, when ``auto_skip`` is on: the default),
``advance`` and ``run_until_idle``. So a message sent right after a spawn always comes
before the flow's deadlines, whatever the machine's speed.

"Every isolate is blocked" is decided by ``Engine.busy``: nothing ready, no step, @impure
call, http_request, inbox look or commit in flight, no timer due. Outside input (a real
HTTP request to the ingress, a thread of the test's) is not foreseen: send it before waiting.

The pytest plugin (entry point ``deepslate``, or ``-p deepslate.testing``) gives the
``deepslate_env`` fixture (a factory: ``env = deepslate_env([flows...])``, closed after the
test) and, with pytest-asyncio, ``deepslate_async_env`` (``env = await deepslate_async_env([...])``).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import datetime
import fnmatch
import http
import itertools
import math
import re
import shutil
import sys
import tempfile
import threading
from typing import Any, AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Iterator, Pattern, TypeVar, cast

from ._values import DSError
from .runtime.clock import VirtualClock
from .runtime.engine import Engine
from .runtime.errors import _KEY, FlowCancelled, FlowFailed
from .runtime.httpclient import EXCERPT, HttpClient, HttpPolicy, _Failed, _too_large
from .store.base import TERMINAL
from .store.sqlite import SQLiteStore

__all__ = ["Env", "AsyncEnv", "Stuck", "HttpStub", "HttpCall", "UnstubbedRequest", "IsolateInfo",
           "idempotency_key_for"]

_T = TypeVar("_T")
SETTLE_TIMEOUT = 30.0        # real seconds a kit call waits for the engine before it gives up


class Stuck(RuntimeError):
    """``wait`` can never end: every isolate is blocked and no timer will wake one (or, with
    ``auto_skip=False``, only a timer would, and time does not move by itself)."""


class UnstubbedRequest(LookupError):
    """An ``http_request`` that no stub matches, with the network off (``Env(network=False)``)."""


@contextlib.contextmanager
def idempotency_key_for(key: str) -> Iterator[str]:
    """Within the block, ``deepslate.idempotency_key()`` returns ``key``: for calling an
    @impure function directly in a unit test, outside any flow."""
    if not isinstance(key, str) or not key:
        raise ValueError(f"idempotency key must be a non-empty str, not {key!r}")
    token = _KEY.set(key)
    try:
        yield key
    finally:
        _KEY.reset(token)


# -- http_request stubs ----------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class HttpCall:
    """One attempt of an ``http_request`` that a stub answered (or the network, with it on)."""
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


class HttpStub:
    """Answers the ``http_request`` calls whose method and URL match: a glob (``fnmatch``:
    ``https://pay.example/charges/*``) or a compiled regex (full match). ``calls`` records
    each attempt it answered."""

    def __init__(self, method: str, url: str | Pattern[str], status: int, body: bytes,
                 handler: Callable[[HttpCall], Any] | None):
        if not isinstance(method, str) or not method:
            raise TypeError(f"stub method must be a str such as 'POST' or '*', not {method!r}")
        if not isinstance(url, (str, re.Pattern)):
            raise TypeError(f"stub url must be a glob str or a compiled regex, not {type(url).__name__}")
        _check_answer(status, body, "stub")
        if handler is not None and not callable(handler):
            raise TypeError(f"stub handler must be callable, not {type(handler).__name__}")
        self.method = method.upper()
        self.url = url
        self.status = status
        self.body = body
        self.handler = handler
        self.calls: list[HttpCall] = []

    def matches(self, method: str, url: str) -> bool:
        if self.method != "*" and self.method != method.upper():
            return False
        if isinstance(self.url, str):
            return fnmatch.fnmatchcase(url, self.url)
        return self.url.fullmatch(url) is not None

    def answer(self, call: HttpCall) -> tuple[int, bytes]:
        self.calls.append(call)
        if self.handler is None:
            return self.status, self.body
        out = self.handler(call)
        if isinstance(out, (bytes, bytearray)):
            return 200, bytes(out)
        if isinstance(out, tuple) and len(out) == 2:
            _check_answer(out[0], out[1], "stub handler's answer")
            return out[0], bytes(out[1])
        raise TypeError(f"stub handler for {self.method} {self.url} must return bytes or (status, bytes), "
                        f"not {type(out).__name__}")

    def __repr__(self) -> str:
        return f"<HttpStub {self.method} {self.url!r}: {len(self.calls)} calls>"


def _check_answer(status: Any, body: Any, what: str) -> None:
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError(f"{what}: status must be an int HTTP status (100-599), not {status!r}")
    if not isinstance(body, (bytes, bytearray)):
        raise TypeError(f"{what}: body must be bytes, not {type(body).__name__}")


class _StubbedHttp(HttpClient):
    """The engine's http client in the kit: stubs first, then the network if allowed. An
    answer goes through the same rules as a real one (2xx body; else a DSError with the
    status as ``code``, retried on 5xx and 429), without the pauses between attempts."""

    def __init__(self, stubs: list[HttpStub], calls: list[HttpCall], network: bool):
        super().__init__()
        self.stubs = stubs
        self.calls = calls
        self.network = network

    def open(self) -> None:
        if self.network:
            super().open()

    def _check_open(self) -> None:
        pass            # a stubbed call needs no session; _attempt checks before going out

    async def _pause(self, seconds: float) -> None:
        await asyncio.sleep(0)

    async def _attempt(self, method: str, url: str, headers: dict[str, str], body: bytes, policy: HttpPolicy,
                       what: str) -> bytes:
        call = HttpCall(method.upper(), url, dict(headers), body)
        stub = next((s for s in reversed(self.stubs) if s.matches(method, url)), None)
        if stub is None:
            if not self.network:
                known = ", ".join(f"{s.method} {s.url if isinstance(s.url, str) else s.url.pattern}"
                                  for s in self.stubs) or "none"
                raise UnstubbedRequest(f"no stub matches http_request {method} {url} (stubs: {known}); add one "
                                       "with env.stub_http(...), or let requests out with Env(network=True)")
            super()._check_open()
            self.calls.append(call)
            return await super()._attempt(method, url, headers, body, policy, what)
        self.calls.append(call)
        status, data = stub.answer(call)
        if not 200 <= status < 300:
            excerpt = data[:EXCERPT].decode("utf-8", "replace") + ("..." if len(data) > EXCERPT else "")
            reason = _reason(status)
            again = status >= 500 or status == 429
            raise _Failed(DSError(f"HTTP {status} {reason}".rstrip() + f" from {what}: {excerpt}", "http", status),
                          again)
        if len(data) > policy.max_response_bytes:
            raise _Failed(_too_large(what, status, policy.max_response_bytes, f"{len(data)} bytes"), False)
        return data


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


# -- what a test reads of an isolate -----------------------------------------------------------

@dataclasses.dataclass
class IsolateInfo:
    """An isolate as its last commit left it."""
    name: str
    flow: str
    status: str                        # running sleeping waiting done failed cancelled
    result: Any                        # the returned value, when done
    error: FlowFailed | None           # when failed
    waiting_on: str                    # what it waits on ("sleep", "http_listen POST /approve" ...)
    wake_at: float | None              # when its sleep or deadline ends (virtual time)
    steps: int                         # durable steps committed
    log: list[str]                     # what it printed (the last 100 lines)
    frames: list[dict[str, Any]]       # outermost first: {"function", "line", "locals"}

    @property
    def locals(self) -> dict[str, Any]:
        """The innermost frame's named locals ({} once finished)."""
        return dict(self.frames[-1]["locals"]) if self.frames else {}


def _seconds(days: float, hours: float, minutes: float, seconds: float) -> float:
    total = 0.0
    for name, v, unit in (("days", days, 86400.0), ("hours", hours, 3600.0), ("minutes", minutes, 60.0),
                          ("seconds", seconds, 1.0)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise TypeError(f"advance: {name} must be a finite number, not {v!r}")
        if v < 0:
            raise ValueError(f"advance: {name} must not be negative ({v}); time does not go back")
        total += v * unit
    return total


def _start_time(start: Any) -> float | None:
    if start is None:
        return None
    if isinstance(start, datetime.datetime):
        if start.tzinfo is None:
            raise ValueError("start must be an aware datetime (with a tzinfo) or seconds since the epoch")
        return start.timestamp()
    if isinstance(start, bool) or not isinstance(start, (int, float)) or not math.isfinite(start):
        raise TypeError(f"start must be a datetime or seconds since the epoch, not {start!r}")
    return float(start)


def _flow_name(flow: Any) -> str:
    if isinstance(flow, str):
        return flow
    name = getattr(flow, "name", None)
    if isinstance(name, str) and hasattr(flow, "program"):
        return name
    raise TypeError(f"flow must be an @flow function or its name, not {type(flow).__name__}")


# -- the async environment ----------------------------------------------------------------------

class AsyncEnv:
    """An engine on a fresh SQLite file (in a temporary directory, removed at exit unless
    ``path`` was given) with a virtual clock, on the running loop: ``async with``.

    ``start``: the virtual time at the start (a timezone-aware datetime or epoch seconds;
    default: now). ``auto_skip``: ``wait`` moves the time to the next timer whenever every
    isolate is blocked. ``network``: let ``http_request`` calls that match no stub out to the
    network (else they fail the isolate with ``UnstubbedRequest``). ``listen``: serve the
    real HTTP ingress on 127.0.0.1 (``ingress_url``)."""

    def __init__(self, flows: Iterable[Any], *, path: str | None = None, start: Any = None, auto_skip: bool = True,
                 network: bool = False, listen: bool = False, workers: int = 2,
                 http_policy: HttpPolicy | None = None):
        self.flows = list(flows)
        if not self.flows:
            raise ValueError("Env needs at least one flow")
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.clock = VirtualClock(_start_time(start))
        self.auto_skip = bool(auto_skip)
        self.network = bool(network)
        self.listen = bool(listen)
        self.workers = workers
        self.http_policy = http_policy
        self._given_path = path
        self._dir: str | None = None
        self.path = path or ""
        self.stubs: list[HttpStub] = []
        self.http_calls: list[HttpCall] = []
        self._fakes: dict[str, Callable[..., Any]] = {}
        self._engine: Engine | None = None
        self.restarts = 0

    # -- life ----------------------------------------------------------------------------

    async def __aenter__(self) -> "AsyncEnv":
        if self._engine is not None:
            raise RuntimeError("this Env is already open")
        if self._given_path is None:
            self._dir = tempfile.mkdtemp(prefix="deepslate-test-")
            self.path = f"{self._dir}/flows.db"
        try:
            self._engine = await self._open()
        except BaseException:
            self._remove_dir()
            raise
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def close(self) -> None:
        eng, self._engine = self._engine, None
        try:
            if eng is not None:
                await eng.stop()
                eng.store.close()
        finally:
            self.clock.drop_timers()
            self._remove_dir()

    def _remove_dir(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    async def _open(self) -> Engine:
        # NORMAL: a commit survives a crash of the process (all crash_and_restart simulates),
        # without an fsync per step
        store = SQLiteStore(self.path, synchronous="NORMAL")
        try:
            eng = Engine(store, self.flows, self.workers, clock=self.clock,
                         listen_addr="127.0.0.1:0" if self.listen else None, http_policy=self.http_policy)
            eng.http = _StubbedHttp(self.stubs, self.http_calls, self.network)
            eng.impure_fn = self._impure_fn
            await eng.start()
        except BaseException:
            store.close()
            raise
        return eng

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("the Env is not open: use it as `with Env(...) as env:` "
                               "(or `async with AsyncEnv(...)`)")
        return self._engine

    @property
    def ingress_url(self) -> str | None:
        return self.engine.ingress_url

    async def crash_and_restart(self) -> None:
        """Drop everything the engine holds in memory (steps under way, @impure calls in flight,
        timers) and start a new engine on the same file: every isolate resumes from its last
        commit, as after a crash of the process. Commits already handed to the store land
        first. The clock, stubs and replaced functions stay."""
        old = self.engine
        self._engine = None
        try:
            await old.stop()
        finally:
            old.store.close()
            self.clock.drop_timers()
        self._engine = await self._open()
        self.restarts += 1

    # -- time --------------------------------------------------------------------------------

    def now(self) -> float:
        """The virtual time (seconds since the epoch)."""
        return self.clock.now()

    async def settle(self, timeout: float = SETTLE_TIMEOUT) -> None:
        """Run until every isolate is blocked or finished (time does not move)."""
        await self._settled(None, timeout)

    async def _settled(self, until: "asyncio.Future[Any] | None", timeout: float) -> None:
        eng = self.engine
        try:
            async with asyncio.timeout(timeout):
                while until is None or not until.done():
                    f = eng.busy()
                    if f is None:
                        # once more after a turn of the loop: callbacks already scheduled run first
                        await asyncio.sleep(0)
                        if eng.busy() is None:
                            return
                        continue
                    waits: list[asyncio.Future[Any]] = [f] if until is None else [f, until]
                    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        except TimeoutError:
            raise TimeoutError(f"the engine did not settle within {timeout} s of real time (an @impure "
                               "call or a request still runs)") from None

    async def advance(self, *, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0,
                      timeout: float = SETTLE_TIMEOUT) -> None:
        """Move the time forward by the sum given, firing each timer due on the way at its own
        time and letting the isolates run in between, then settle."""
        target = self.clock.now() + _seconds(days, hours, minutes, seconds)
        await self.settle(timeout)
        while True:
            nxt = self.clock.next_at()
            if nxt is None or nxt > target:
                break
            self.clock.jump(nxt)
            await self.settle(timeout)
        self.clock.jump(target)
        await self.settle(timeout)

    async def run_until_idle(self, *, max_days: float = 3650, timeout: float = SETTLE_TIMEOUT) -> None:
        """Skip from timer to timer until no timer is left, or ``max_days`` have passed (a flow
        that sleeps in a loop for ever would never let it end)."""
        limit = self.clock.now() + _seconds(max_days, 0, 0, 0)
        await self.settle(timeout)
        while True:
            nxt = self.clock.next_at()
            if nxt is None:
                return
            if nxt > limit:
                self.clock.jump(limit)
                await self.settle(timeout)
                return
            self.clock.jump(nxt)
            await self.settle(timeout)

    # -- isolates -----------------------------------------------------------------------

    async def spawn(self, name: str, flow: Any, args: dict[str, Any] | None = None, **kwargs: Any) -> int:
        """Start isolate ``name`` of ``flow`` (the @flow function or its name) with ``args``
        or keyword arguments; its id. Time does not move."""
        if args is not None and kwargs:
            raise TypeError("spawn takes the arguments as a dict or as keywords, not both")
        iid, _ = await self.engine.spawn(name, _flow_name(flow), args if args is not None else kwargs)
        return iid

    async def wait(self, name: str, timeout: float = SETTLE_TIMEOUT) -> Any:
        """The flow's return value (FlowFailed, FlowCancelled as ``deepslate.wait``). Time jumps
        to the next timer whenever everything is blocked (``auto_skip``); ``Stuck`` when
        nothing can ever wake it. ``timeout`` is real seconds."""
        eng = self.engine
        waiting = asyncio.ensure_future(eng.wait(name))
        try:
            async with asyncio.timeout(timeout):
                while not waiting.done():
                    await self._settled(waiting, timeout)
                    if waiting.done():
                        break
                    iso = eng.by_name.get(name)
                    if iso is None or not iso.active:
                        await waiting           # it has ended: the answer is on its way from the store
                        break
                    nxt = self.clock.next_at()
                    if nxt is not None and self.auto_skip:
                        self.clock.jump(nxt)
                        continue
                    raise Stuck(await self._stuck_message(name, nxt))
        except TimeoutError:
            if waiting.done():
                raise
            raise TimeoutError(f"isolate {name!r} did not finish within {timeout} s of real time "
                               "(an @impure call or a request still runs)") from None
        finally:
            if not waiting.done():
                waiting.cancel()
                await asyncio.gather(waiting, return_exceptions=True)
        return waiting.result()

    async def _stuck_message(self, name: str, nxt: float | None) -> str:
        eng = self.engine
        rows = await eng._db(eng.store.list_isolates, None, None, None, 1000)
        blocked = [f"{r.name!r} {r.status}" + (f" on {r.waiting_on}" if r.waiting_on else "")
                   for r in rows if r.status not in TERMINAL]
        what = "; ".join(blocked) or "none"
        if nxt is not None:
            return (f"isolate {name!r} waits for a timer {nxt - self.clock.now():g} s ahead, and time moves only "
                    f"by env.advance(...) with auto_skip off (unfinished: {what})")
        return (f"isolate {name!r} can never finish: every isolate is blocked and no timer is pending "
                f"(unfinished: {what}); deliver a message with env.send(...) first")

    async def send(self, name: str, method: str, route: str, body: bytes | str = b"") -> int:
        """Commit a message for ``name``'s ``http_listen(method, route)`` (as the ingress does
        for a request answered 202); the message id. A str body is sent as UTF-8."""
        if isinstance(body, str):
            body = body.encode()
        return await self.engine.send(name, method, route, body)

    async def cancel(self, name: str) -> bool:
        return await self.engine.cancel(name)

    async def retry(self, name: str) -> bool:
        return await self.engine.retry(name)

    async def status(self, name: str) -> str | None:
        """running, sleeping, waiting, done, failed, cancelled (None: no such isolate)."""
        return await self.engine.status(name)

    async def isolate(self, name: str) -> IsolateInfo:
        """``name`` as its last commit left it: status, result or error, log, frames and locals."""
        eng = self.engine
        row = await eng._db(eng.store.get_isolate, name)
        if row is None:
            raise KeyError(f"no isolate named {name!r}")
        program = await eng._program(row.program_hash)
        result: Any = None
        error: FlowFailed | None = None
        if row.status == "done" and row.result is not None:
            result = eng.vm.decode_value(row.result, program)
        elif row.status == "failed":
            error = FlowFailed.from_stored(row.name, row.error)
        frames: list[dict[str, Any]] = []
        if row.snapshot is not None:
            vm = eng.vm.VM.from_state(program, eng.vm.decode_snapshot(row.snapshot, program))
            frames = [{"function": f["function"], "line": f["line"], "locals": f["locals"]}
                      for f in vm.frames_view()]
        log = await eng._db(eng.store.read_log, row.id)
        return IsolateInfo(row.name, row.flow, row.status, result, error, row.waiting_on, row.wake_at, row.steps,
                           log, frames)

    async def locals(self, name: str) -> dict[str, Any]:
        """The innermost frame's named locals at ``name``'s last commit."""
        return (await self.isolate(name)).locals

    async def log(self, name: str) -> list[str]:
        """What ``name`` printed (committed lines)."""
        return (await self.isolate(name)).log

    async def result(self, name: str) -> Any:
        """The value a finished isolate returned; FlowFailed / FlowCancelled as ``wait``; a
        ``RuntimeError`` while it has not finished (time does not move)."""
        info = await self.isolate(name)
        if info.status == "done":
            return info.result
        if info.status == "failed":
            raise info.error or FlowFailed(name, "failed")
        if info.status == "cancelled":
            raise FlowCancelled(name)
        raise RuntimeError(f"isolate {name!r} has not finished: it is {info.status}"
                           + (f" on {info.waiting_on}" if info.waiting_on else ""))

    # -- doubles -----------------------------------------------------------------------------

    def stub_http(self, method: str, url: str | Pattern[str], body: bytes = b"", *, status: int = 200,
                  handler: Callable[[HttpCall], Any] | None = None) -> HttpStub:
        """Answer ``http_request(method, url...)`` calls whose URL matches ``url`` (a glob or a
        compiled regex; method ``"*"`` for any) with ``status`` and ``body``, or with what
        ``handler(call)`` returns (bytes, or ``(status, bytes)``). The latest matching stub
        wins. The stub's ``calls`` (and ``env.http_calls``) record every attempt."""
        stub = HttpStub(method, url, status, bytes(body) if isinstance(body, bytearray) else body, handler)
        self.stubs.append(stub)
        return stub

    def replace_impure(self, original: Any, fake: Callable[..., Any]) -> None:
        """Run ``fake`` wherever a flow calls the @impure function ``original`` (the function,
        or its ``"module:qualname"``). Its retry policy stays the original's.

        ``monkeypatch.setattr(module, "charge", fake)`` works too: in an Env each @impure call
        looks the function up in its module, and runs what it finds there now."""
        if not callable(fake):
            raise TypeError(f"the replacement must be callable, not {type(fake).__name__}")
        self._fakes[_impure_ref(original)] = fake

    def _impure_fn(self, spec: Any) -> Callable[..., Any]:
        ref = spec.extra[0]
        fake = self._fakes.get(ref)
        if fake is not None:
            return fake
        live = _lookup(ref)
        return cast(Callable[..., Any], live if live is not None and callable(live) else spec.fn)


def _impure_ref(original: Any) -> str:
    if isinstance(original, str):
        if ":" not in original:
            raise ValueError(f"an @impure function's ref is 'module:qualname', not {original!r}")
        return original
    meta = getattr(original, "__deepslate__", None)
    if not callable(original) or not isinstance(meta, dict) or meta.get("kind") != "impure":
        raise TypeError(f"replace_impure takes an @impure function (or its 'module:qualname'), "
                        f"not {original!r}")
    return f"{original.__module__}:{original.__qualname__}"


def _lookup(ref: str) -> Any:
    """What ``module:qualname`` names now (None if it cannot be found)."""
    mod_name, _, qualname = ref.partition(":")
    obj: Any = sys.modules.get(mod_name)
    for part in qualname.split("."):
        if obj is None:
            return None
        obj = getattr(obj, part, None)
    return obj


# -- the synchronous environment ------------------------------------------------------------

class Env:
    """``AsyncEnv`` for synchronous tests: ``with Env(flows) as env:``. The engine runs on an
    event loop in a thread of its own; every method waits for its answer. Same arguments and
    methods as ``AsyncEnv``."""

    _ids = itertools.count()

    def __init__(self, flows: Iterable[Any], **options: Any):
        self._async = AsyncEnv(flows, **options)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "Env":
        if self._loop is not None:
            raise RuntimeError("this Env is already open")
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def main() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()
        self._thread = threading.Thread(target=main, name=f"deepslate-testing-{next(self._ids)}", daemon=True)
        self._thread.start()
        ready.wait()
        self._loop = loop
        try:
            self._call(self._async.__aenter__())
        except BaseException:
            self._shut()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        if self._loop is None:
            return
        try:
            self._call(self._async.close())
        finally:
            self._shut()

    def _shut(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        if not loop.is_running():
            loop.close()

    def _call(self, coro: Coroutine[Any, Any, _T]) -> _T:
        if self._loop is None:
            coro.close()
            raise RuntimeError("the Env is not open: use it as `with Env(...) as env:`")
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("an Env's methods cannot be called from its own engine loop (inside an "
                               "@impure function); use AsyncEnv there")
        fut = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return fut.result()
        except concurrent.futures.CancelledError:
            raise RuntimeError("the Env's engine loop stopped under the call") from None

    # the same verbs as AsyncEnv
    @property
    def engine(self) -> Engine:
        return self._async.engine

    @property
    def path(self) -> str:
        return self._async.path

    @property
    def clock(self) -> VirtualClock:
        return self._async.clock

    @property
    def http_calls(self) -> list[HttpCall]:
        return self._async.http_calls

    @property
    def ingress_url(self) -> str | None:
        return self._async.ingress_url

    @property
    def restarts(self) -> int:
        return self._async.restarts

    def now(self) -> float:
        return self._async.now()

    def settle(self, timeout: float = SETTLE_TIMEOUT) -> None:
        self._call(self._async.settle(timeout))

    def advance(self, *, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0,
                timeout: float = SETTLE_TIMEOUT) -> None:
        _seconds(days, hours, minutes, seconds)       # bad input is refused in the caller's thread
        self._call(self._async.advance(days=days, hours=hours, minutes=minutes, seconds=seconds, timeout=timeout))

    def run_until_idle(self, *, max_days: float = 3650, timeout: float = SETTLE_TIMEOUT) -> None:
        self._call(self._async.run_until_idle(max_days=max_days, timeout=timeout))

    def spawn(self, name: str, flow: Any, args: dict[str, Any] | None = None, **kwargs: Any) -> int:
        return self._call(self._async.spawn(name, flow, args, **kwargs))

    def wait(self, name: str, timeout: float = SETTLE_TIMEOUT) -> Any:
        return self._call(self._async.wait(name, timeout))

    def send(self, name: str, method: str, route: str, body: bytes | str = b"") -> int:
        return self._call(self._async.send(name, method, route, body))

    def cancel(self, name: str) -> bool:
        return self._call(self._async.cancel(name))

    def retry(self, name: str) -> bool:
        return self._call(self._async.retry(name))

    def status(self, name: str) -> str | None:
        return self._call(self._async.status(name))

    def isolate(self, name: str) -> IsolateInfo:
        return self._call(self._async.isolate(name))

    def locals(self, name: str) -> dict[str, Any]:
        return self._call(self._async.locals(name))

    def log(self, name: str) -> list[str]:
        return self._call(self._async.log(name))

    def result(self, name: str) -> Any:
        return self._call(self._async.result(name))

    def crash_and_restart(self) -> None:
        self._call(self._async.crash_and_restart())

    def stub_http(self, method: str, url: str | Pattern[str], body: bytes = b"", *, status: int = 200,
                  handler: Callable[[HttpCall], Any] | None = None) -> HttpStub:
        return self._async.stub_http(method, url, body, status=status, handler=handler)

    def replace_impure(self, original: Any, fake: Callable[..., Any]) -> None:
        self._async.replace_impure(original, fake)


# -- the pytest plugin ---------------------------------------------------------------------------

try:
    import pytest
except ImportError:        # the kit works without pytest; only the fixtures need it
    pytest = None           # type: ignore[assignment]

if pytest is not None:
    @pytest.fixture
    def deepslate_env() -> Iterator[Callable[..., Env]]:
        """A factory of open ``Env``s (``env = deepslate_env([flows...], **options)``), each
        closed after the test."""
        made: list[Env] = []

        def make(flows: Iterable[Any], **options: Any) -> Env:
            env = Env(flows, **options).__enter__()
            made.append(env)
            return env
        yield make
        for env in reversed(made):
            env.close()

    try:
        import pytest_asyncio
    except ImportError:
        @pytest.fixture
        def deepslate_async_env() -> Any:
            raise RuntimeError("the deepslate_async_env fixture needs pytest-asyncio "
                               "(pip install pytest-asyncio); use deepslate_env, or AsyncEnv directly")
    else:
        @pytest_asyncio.fixture
        async def deepslate_async_env() -> AsyncIterator[Callable[..., Awaitable[AsyncEnv]]]:  # type: ignore[misc]
            """A factory of open ``AsyncEnv``s on the test's loop
            (``env = await deepslate_async_env([flows...])``), each closed after the test."""
            made: list[AsyncEnv] = []

            async def make(flows: Iterable[Any], **options: Any) -> AsyncEnv:
                env = await AsyncEnv(flows, **options).__aenter__()
                made.append(env)
                return env
            yield make
            for env in reversed(made):
                await env.close()
