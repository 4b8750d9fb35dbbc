"""The effect handlers: what the engine does at each durable point once the snapshot
pending at it is durable.

Each handler ends the isolate's wait one of three ways: it resumes the isolate now (a
shared-object operation that can go on, through ``_advance`` with the ops to commit), it
arranges for a later wake-up through the ready queue (a timer, an @impure call, a getter
registered on a queue), or it fails the isolate. User code runs here only in @impure
functions, on the impure pool or (async ones) in an effect task; whatever those raise, of
any type, is an outcome of that call and never leaves the isolate.
"""
from __future__ import annotations

import asyncio
import contextvars
import enum
import functools
import inspect
import logging
from typing import TYPE_CHECKING, Any

from .._values import DSError, Lock, Queue, WaitGroup
from ..store.base import InboxTake, IsolateNew, IsolateRow
from .blocking import CallTimedOut, Outcome
from . import events
from .errors import _KEY
from .httpclient import outcome_of
from .isolate import Iso, frames_of
from .shared import Go, Refused

if TYPE_CHECKING:
    from .engine import Engine

log = logging.getLogger("deepslate.runtime")



@functools.lru_cache(maxsize=4096)
def _is_async(fn: Any) -> bool:
    """Whether an @impure function is async (asked once per function, not per call)."""
    return inspect.iscoroutinefunction(fn)

class Effect(str, enum.Enum):
    """The kinds of durable point (``EffectSpec.kind``), and the three ends of a run."""
    SLEEP = "sleep"
    IMPURE = "impure"
    HTTP_REQUEST = "http_request"
    HTTP_LISTEN = "http_listen"
    NEW_QUEUE = "new_queue"
    QUEUE_PUT = "queue_put"
    QUEUE_GET = "queue_get"
    SELECT = "select"
    NEW_LOCK = "new_lock"
    LOCK_ACQUIRE = "lock_acquire"
    LOCK_RELEASE = "lock_release"
    NEW_WAITGROUP = "new_waitgroup"
    WG_ADD = "wg_add"
    WG_DONE = "wg_done"
    WG_WAIT = "wg_wait"
    CREATE_TASK = "create_task"
    RETURN = "return"
    FAULT = "fault"
    YIELD = "yield"


# an isolate at one of these waits for another isolate or a message, not for us
BLOCKING = frozenset({Effect.QUEUE_GET, Effect.QUEUE_PUT, Effect.SELECT, Effect.LOCK_ACQUIRE, Effect.WG_WAIT,
                      Effect.HTTP_LISTEN})
_IMMUTABLE = frozenset({int, float, str, bool, bytes, type(None), DSError, Queue, Lock, WaitGroup})


class Effects:
    """The handlers, mixed into Engine (they use its ready queue, writer and shared objects)."""

    def _perform(self: "Engine", iso: Iso, spec: Any, args: tuple[Any, ...]) -> None:
        handler = _HANDLERS.get(spec.kind)
        if handler is None:
            self._fail(iso, f"unknown durable operation {spec.kind!r}", frames_of(iso), kind="internal")
            return
        try:
            handler(self, iso, spec, args)
        except Refused as e:
            self._fail(iso, str(e), frames_of(iso), kind="fault")

    def _go(self: "Engine", iso: Iso, go: Go | None) -> None:
        if go is None:
            iso.status = "waiting"
        else:
            self._advance(iso, go.value, go.ops)

    # -- timers --------------------------------------------------------------------

    def _sleep(self: "Engine", iso: Iso, spec: Any, args: tuple[Any, ...]) -> None:
        delay = (iso.wake_at or 0.0) - self._now()
        iso.status = "sleeping"
        if delay <= 0:
            self.ready.put_nowait((iso, None, []))
        else:
            iso.handle = self._timer(delay, self._wake_timer, iso)

    def _wake_timer(self: "Engine", iso: Iso) -> None:
        iso.handle = None
        if iso.active:
            self.ready.put_nowait((iso, None, []))

    # -- shared objects ------------------------------------------------------------------

    def _queue_put(self: "Engine", iso: Iso, spec: Any, args: tuple[Any, ...]) -> None:
        self._go(iso, self.shared.put(iso, args[0].id, self.vm.encode_value(args[1])))

    def _queue_get(self: "Engine", iso: Iso, spec: Any, args: tuple[Any, ...]) -> None:
        self._go(iso, self.shared.get(iso, [args[0].id], single=True))


    def _lock_acquire(self: "Engine", iso: Iso, spec: Any, args: tuple[Any, ...]) -> None:
        self._go(iso, self.shared.acquire(iso, args[0].id))

    def _lock_release(self: "Engine", iso: Iso, spec: Any, args: tuple[Any, ...]) -> None:
        self._go(iso, self.shared.release(iso, args[0].id))

    def _wg_add(self: "Engine", iso: Iso, spec: Any, args: tuple[Any, ...]) -> None:
        n = int(args[1]) if spec.kind == Effect.WG_ADD else -1
        self._go(iso, self.shared.wg_add(iso, args[0].id, n))

    def _wg_wait(self: "Engine", iso: Iso, spec: Any, args: tuple[Any, ...]) -> None:
        self._go(iso, self.shared.wg_wait(iso, args[0].id))

    def _new_queue(self: "Engine", iso: Iso, spec: Any, args: tuple[Any, ...]) -> None:
        go = self.shared.new_queue(iso.root_id, int(args[0]) if args else 0, str(spec.extra[0]) if spec.extra else "")
        self._advance(iso, Queue(go.value), go.ops)

    def _new_lock(self: "Engine", iso: Iso, spec: Any, args: tuple[Any, ...]) -> None:
        go = self.shared.new_lock(iso.root_id)
        self._advance(iso, Lock(go.value), go.ops)

    def _new_waitgroup(self: "Engine", iso: Iso, spec: Any, args: tuple[Any, ...]) -> None:
        go = self.shared.new_waitgroup(iso.root_id)
        self._advance(iso, WaitGroup(go.value), go.ops)

    # -- children --------------------------------------------------------------------

    def _create_task(self: "Engine", iso: Iso, spec: Any, args: tuple[Any, ...]) -> None:
        code_index = int(spec.extra[0])
        program = iso.program
        child_vm = self.vm.VM(program, code_index, tuple(self._copy(list(args), program)))
        snap = self.vm.encode_snapshot(program.hash, child_vm.export_state())
        if len(snap) > self.max_snapshot_bytes:
            raise Refused(f"the child's first snapshot is {len(snap)} bytes, over the limit of "
                          f"{self.max_snapshot_bytes} (max_snapshot_bytes): its arguments are too large")
        iso.children += 1
        cid = self.shared.new_id("isolate")
        name = f"{iso.name}/{iso.children}"
        flow = program.codes[code_index].name
        child = Iso(cid, name, flow, program, child_vm, parent_id=iso.id, root_id=iso.root_id)
        child.detached = len(spec.extra) > 1 and bool(spec.extra[1])
        self.by_name[name] = child
        self.by_id[cid] = child
        self.kids.setdefault(iso.id, set()).add(child)
        row = IsolateRow(cid, name, flow, program.hash, parent_id=iso.id, root_id=iso.root_id, snapshot=snap,
                         detached=child.detached)
        # the child starts once the parent's commit, which creates its row, is durable (_publish)
        self._advance(iso, None, [IsolateNew(row)])

    # -- @impure -------------------------------------------------------------------------

    def _idempotency_key(self: "Engine", iso: Iso) -> str:
        """The same on every re-run of the pending effect: store, isolate and step it waits at."""
        return f"{self.key_prefix}-{iso.id}-{iso.vm.steps}"

    def _impure(self: "Engine", iso: Iso, spec: Any, args: tuple[Any, ...], attempt: int = 0) -> None:
        iso.handle = None
        if not iso.active:
            return
        fn = spec.fn if self.impure_fn is None else self.impure_fn(spec)
        if any(type(a) not in _IMMUTABLE for a in args):
            args = tuple(self._copy(list(args), iso.program))    # the function gets its own values
        ctx = contextvars.copy_context()
        ctx.run(_KEY.set, self._idempotency_key(iso))
        tag = (iso, spec, args, attempt)
        self.metrics.impure_calls += 1
        if _is_async(fn):
            iso.task = self._effect_task(self._impure_async(tag, ctx.run(_call_coro, fn, args)), ctx)
        else:
            self.in_flight.n += 1
            self.impure_pool.submit(ctx, fn, args, tag, _timeout(spec))

    def _impure_delivered(self: "Engine", tag: tuple[Iso, Any, tuple[Any, ...], int], out: Outcome) -> None:
        """A blocking call's outcome, from the pool."""
        try:
            self._impure_ended(tag, out)
        finally:
            self.in_flight.done()

    async def _impure_async(self: "Engine", tag: tuple[Iso, Any, tuple[Any, ...], int], awaitable: Any) -> None:
        """Await an async @impure call (or an awaitable a plain one returned) in this task, so
        that whatever it raises, SystemExit and CancelledError included, lands here."""
        spec = tag[1]
        out: Outcome
        try:
            async with asyncio.timeout(_timeout(spec)):
                out = (True, await awaitable)
        except asyncio.CancelledError as e:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise                     # cancel or stop: this call is not wanted any more
            out = (False, e)
        except TimeoutError:
            out = (False, TimeoutError(f"{spec.extra[0]} timed out after {_timeout(spec)} s"))
        except BaseException as e:
            out = (False, e)
        tag[0].task = None
        self._impure_ended(tag, out)

    def _impure_ended(self: "Engine", tag: tuple[Iso, Any, tuple[Any, ...], int], out: Outcome) -> None:
        iso, spec, args, attempt = tag
        if not self.started or self.failure is not None or not iso.active:
            return
        ok, value = out
        if ok and inspect.isawaitable(value):
            iso.task = self._effect_task(self._impure_async(tag, value))
            return
        ref = spec.extra[0] if spec.extra else getattr(spec.fn, "__qualname__", "?")
        if ok:
            if type(value) not in _IMMUTABLE:
                try:
                    value = self._copy(value, iso.program)
                except BaseException as e:
                    self._fail(iso, f"@impure {ref} returned a value a flow cannot hold: {type(value).__name__} "
                                    f"({type(e).__name__}: {e})", frames_of(iso), kind="impure", keep_snapshot=True,
                               exc_type="TypeError")
                    return
            self.ready.put_nowait((iso, value, []))
            return
        if isinstance(value, CallTimedOut):     # named as the async path names it
            value = TimeoutError(f"{ref} timed out after {_timeout(spec)} s")
        retries = int(spec.extra[1] or 0) if len(spec.extra) > 1 else 0
        if attempt < retries:
            backoff = float(spec.extra[2] or 0.0) if len(spec.extra) > 2 else 0.0
            self.metrics.impure_retries += 1
            events.emit(events.ISOLATE, logging.INFO, "impure_retry", isolate=iso.name, flow=iso.flow, step=iso.steps,
                        function=ref, attempt=attempt + 2, of=retries + 1, after=backoff * (2 ** attempt),
                        error=f"{type(value).__name__}: {value}")
            iso.handle = self._timer(backoff * (2 ** attempt), self._impure, iso, spec, args, attempt + 1)
            return
        self.metrics.impure_failures += 1
        if len(spec.extra) > 4 and spec.extra[4]:       # declared -> T | DSError
            self.ready.put_nowait((iso, DSError(str(value) or type(value).__name__), []))
            return
        tries = f" after {attempt + 1} attempts" if attempt else ""
        self._fail(iso, f"{type(value).__name__}: {value} (raised by @impure {ref}{tries})", frames_of(iso),
                   kind="impure", keep_snapshot=True, exc_type=type(value).__name__)

    # -- waits that end one of several ways: http_listen (with a deadline) and select --------
    #
    # A Wait is decided once: the first of a queue hand-off (shared.py sets ``won`` as it hands
    # the item over), a message found in the inbox and the deadline takes it, and the others
    # back off. Nothing is consumed until then: getters are registrations, a peek only reads.
    # Everything here runs on the loop thread, so checking and setting ``won`` is one step.

    def _http_listen(self: "Engine", iso: Iso, spec: Any, args: tuple[Any, ...]) -> None:
        timeout = (0, float(args[2])) if len(args) > 2 else None
        self._wait_on(iso, Wait([(0, str(args[0]).upper(), str(args[1]))], timeout, False), [], [])

    def _select(self: "Engine", iso: Iso, spec: Any, args: tuple[Any, ...]) -> None:
        queues, routes, timeout = select_cases(spec, args)
        self._wait_on(iso, Wait(routes, timeout, True), [q for _, q in queues], [i for i, _ in queues])

    def _wait_on(self: "Engine", iso: Iso, w: "Wait", qids: list[int], cases: list[int]) -> None:
        old = iso.wait
        if old is not None:
            # performed again while it waits (a message was delivered): look at the inbox again
            if not old.won[0] and old.routes:
                self._look(iso, old)
            return
        iso.wait = w
        if qids:
            go = self.shared.get(iso, qids, single=False, cases=cases, served=w.won)
            if go is not None:
                self._drop_wait(iso)
                self._advance(iso, go.value, go.ops)
                return
            w.qids = qids
        iso.status = "waiting"
        if w.timeout is not None:
            delay = (iso.wake_at or 0.0) - self._now()
            if delay > 0:
                iso.handle = self._timer(delay, self._deadline, iso, w)
            else:
                w.due = True
        if w.routes:
            self._look(iso, w)      # a message already there wins over a deadline already past
        elif w.due:
            self._win(iso, w, w.expired(), [])

    def _deadline(self: "Engine", iso: Iso, w: "Wait") -> None:
        iso.handle = None
        if not iso.active or iso.wait is not w or w.won[0]:
            return
        w.due = True
        if iso.listen in ("peeking", "again"):
            return                  # the peek in flight decides: a message it finds still wins
        self._win(iso, w, w.expired(), [])

    def _win(self: "Engine", iso: Iso, w: "Wait", value: Any, ops: list[Any]) -> None:
        w.won[0] = True
        self._drop_wait(iso)
        self.ready.put_nowait((iso, value, ops))

    def _drop_wait(self: "Engine", iso: Iso) -> None:
        """The wait is over (won, or the isolate ended): withdraw what is left of it."""
        w, iso.wait = iso.wait, None
        iso.listen = None
        if w is None:
            return
        w.won[0] = True
        if w.routes:
            self._unlisten(iso)
        if w.qids:
            self.shared.withdraw(iso, w.qids)
        if iso.handle is not None:
            iso.handle.cancel()
            iso.handle = None

    def _look(self: "Engine", iso: Iso, w: "Wait") -> None:
        if iso.listen in ("peeking", "again"):
            iso.listen = "again"    # the peek in flight may have missed it
            return
        iso.listen = "peeking"
        self._effect_task(self._peek(iso, w))

    async def _peek(self: "Engine", iso: Iso, w: "Wait") -> None:
        while True:
            iso.listen = "peeking"
            found = None
            for case, method, route in w.routes:
                msg = await self._inbox_next(iso, method, route)
                if msg is not None:
                    found = (case, msg)
                    break
                if not iso.active or iso.wait is not w or w.won[0]:
                    return
            if not iso.active or iso.wait is not w or w.won[0]:
                if found is not None:       # another case won meanwhile: the message stays for others
                    key = self._untake(found[1][0])
                    if key is not None:
                        self._wake_listeners(key)
                return
            if found is not None:
                case, (mid, body) = found
                self._win(iso, w, [case, body] if w.select else body, [InboxTake(mid)])
                return
            if iso.listen == "again":
                continue
            iso.listen = "waiting"
            if w.due:
                self._win(iso, w, w.expired(), [])
            return

    def _http_request(self: "Engine", iso: Iso, spec: Any, args: tuple[Any, ...]) -> None:
        # the flow's per-call options follow the four arguments; spec.extra names them
        try:
            policy = self.http_policy.override(**dict(zip(spec.extra, args[4:])))
        except (TypeError, ValueError) as e:
            self._fail(iso, str(e), frames_of(iso), kind="fault", exc_type=type(e).__name__)
            return
        iso.task = self._effect_task(self._request(iso, policy, *args[:4]))

    async def _request(self: "Engine", iso: Iso, policy: Any, method: str, url: str, headers: dict[str, str],
                       body: bytes) -> None:
        if not self.started or self.failure is not None:
            return      # performed while the engine stops: the next start performs it again
        try:
            value = await self.http.fetch(method, url, headers, body, policy, self._idempotency_key(iso))
        except BaseException as e:  # of any type (a test's stub runs user code here): this isolate's
            task = asyncio.current_task()
            if isinstance(e, asyncio.CancelledError) and task is not None and task.cancelling():
                raise               # cancel or stop: this call is not wanted any more
            self.metrics.http_requests["error"] += 1
            iso.task = None
            if self.started and self.failure is None:
                self._internal_error(iso, e, " in http_request")
            return
        self.metrics.http_requests[outcome_of(value)] += 1
        iso.task = None
        if iso.active:
            self.ready.put_nowait((iso, value, []))

    def _effect_task(self: "Engine", coro: Any, context: contextvars.Context | None = None) -> "asyncio.Task[Any]":
        """An effect performed off the worker: kept so that stop and a halt can cancel it."""
        t = self.loop.create_task(coro, context=context)
        self._effect_tasks.add(t)
        t.add_done_callback(self._effect_tasks.discard)
        return t


class Wait:
    """A pending http_listen or select."""
    __slots__ = ("routes", "timeout", "select", "won", "due", "qids")

    def __init__(self, routes: list[tuple[int, str, str]], timeout: tuple[int, float] | None, select: bool):
        self.routes = routes        # [(case, METHOD, route)]
        self.timeout = timeout      # (case, seconds) or None; the deadline itself is iso.wake_at
        self.select = select        # results are [case, value]
        self.won: list[bool] = [False]   # shared with its queue getter registrations
        self.due = False            # the deadline has passed; the timeout wins unless a message is found
        self.qids: list[int] = []   # queues it is registered on

    def expired(self) -> Any:
        assert self.timeout is not None
        case, seconds = self.timeout
        if self.select:
            return [case, None]
        _, method, route = self.routes[0]
        return DSError(f"http_listen {method} {route}: no request within {seconds:g} s", kind="timeout")


def select_cases(spec: Any, args: tuple[Any, ...]) -> tuple[list[tuple[int, int]], list[tuple[int, str, str]],
                                                            tuple[int, float] | None]:
    """A select's cases from its arguments: [(case, queue id)], [(case, METHOD, route)] and
    (case, seconds) of its timeout. ``extra`` names the kind of each case; () means all queues."""
    if not spec.extra:
        return [(i, h.id) for i, h in enumerate(args)], [], None
    queues, routes, timeout, at = [], [], None, 0
    for case, kind in enumerate(spec.extra):
        if kind == "queue":
            queues.append((case, args[at].id))
            at += 1
        elif kind == "listen":
            routes.append((case, str(args[at]).upper(), str(args[at + 1])))
            at += 2
        elif kind == "sleep":
            timeout = (case, float(args[at]))
            at += 1
        else:
            raise ValueError(f"select case of unknown kind {kind!r}")
    return queues, routes, timeout


def deadline(spec: Any, args: tuple[Any, ...]) -> float | None:
    """Seconds until a blocking effect gives up waiting (http_listen's timeout, a select's
    sleep case), or None when it waits for ever."""
    if spec.kind == Effect.HTTP_LISTEN:
        return float(args[2]) if len(args) > 2 else None
    if spec.kind == Effect.SELECT and spec.extra:
        t = select_cases(spec, args)[2]
        return t[1] if t is not None else None
    return None


def _timeout(spec: Any) -> float | None:
    t = spec.extra[3] if len(spec.extra) > 3 else None
    return float(t) if t else None


def _call_coro(fn: Any, args: tuple[Any, ...]) -> Any:
    """Call an async function; what its call itself raises becomes the awaitable's outcome."""
    try:
        return fn(*args)
    except BaseException as e:
        return _raise(e)


async def _raise(e: BaseException) -> Any:
    raise e


_HANDLERS = {
    Effect.SLEEP: Effects._sleep,
    Effect.IMPURE: Effects._impure,
    Effect.HTTP_REQUEST: Effects._http_request,
    Effect.HTTP_LISTEN: Effects._http_listen,
    Effect.NEW_QUEUE: Effects._new_queue,
    Effect.QUEUE_PUT: Effects._queue_put,
    Effect.QUEUE_GET: Effects._queue_get,
    Effect.SELECT: Effects._select,
    Effect.NEW_LOCK: Effects._new_lock,
    Effect.LOCK_ACQUIRE: Effects._lock_acquire,
    Effect.LOCK_RELEASE: Effects._lock_release,
    Effect.NEW_WAITGROUP: Effects._new_waitgroup,
    Effect.WG_ADD: Effects._wg_add,
    Effect.WG_DONE: Effects._wg_add,
    Effect.WG_WAIT: Effects._wg_wait,
    Effect.CREATE_TASK: Effects._create_task,
}
