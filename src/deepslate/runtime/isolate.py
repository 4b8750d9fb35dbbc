"""An isolate in memory, and the checks of what a caller hands the engine for one."""
from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import struct
from typing import Any

from .._values import DSError
from ..store.base import Op
from .errors import SpawnConflict

START = object()       # ready-queue value: run without resuming (a fresh, restored or preempted isolate)
RELOCK = object()      # ready-queue value: a retried isolate got back a lock its snapshot holds


class Iso:
    """An isolate in memory."""
    __slots__ = ("id", "name", "flow", "program", "vm", "status", "steps", "children", "log_seq",
                 "parent_id", "root_id", "waiters", "wake_at", "handle", "task", "active", "held",
                 "listen", "created", "carry", "yields", "relock", "detached", "wait", "args_hash")

    def __init__(self, id: int, name: str, flow: str, program: Any, vm: Any, parent_id: int | None = None,
                 root_id: int | None = None):
        self.id = id
        self.name = name
        self.flow = flow
        self.program = program
        self.vm = vm
        self.status = "running"
        self.steps = 0
        self.children = 0
        self.log_seq = 0
        self.parent_id = parent_id
        self.root_id = id if root_id is None else root_id   # the spawned isolate atop its create_task tree
        self.waiters: list[asyncio.Future[Any]] = []
        self.wake_at: float | None = None
        self.handle: asyncio.TimerHandle | None = None
        self.task: asyncio.Task[Any] | None = None
        self.active = True                     # False once finished, failed or cancelled
        self.held: set[int] = set()            # locks held (or being acquired), released when it ends
        self.listen: str | None = None         # http_listen: None, "peeking", "again" or "waiting"
        self.created: asyncio.Future[None] | None = None   # a spawn's row commit while it is in flight
        self.carry: list[Op] = []              # ops of a step preempted before its durable point
        self.yields = 0                        # preemptions since the last durable point
        self.relock: list[int] = []            # a retry's locks still to take back before it resumes
        self.detached = False                  # a create_task child that outlives its parent
        self.wait: Any = None                  # the pending http_listen or select (effects.Wait)
        self.args_hash: bytes | None = None    # args_digest of a spawn's arguments (None: unknown)

    def __repr__(self) -> str:
        return f"<isolate {self.name!r} #{self.id} {self.status}>"


def flow_of(f: Any) -> Any:
    """A Flow from what ``spawn_workers`` accepts: the decorated function or ``counter()``."""
    if hasattr(f, "program") and hasattr(f, "name"):
        return f
    raise TypeError(f"flows must be @flow functions (or their no-argument call), not {type(f).__name__}")


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError(f"isolate name must be a non-empty str, not {name!r}")
    if "/" in name:
        raise ValueError(f"isolate name {name!r} must not contain '/' (reserved for child isolates)")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"isolate name {name!r} is not valid Unicode text ({e.reason} at index {e.start}); "
                         "names are stored and shown as UTF-8") from None
    return name


def check_args(flow: str, params: Any, args: Any) -> tuple[Any, ...]:
    """The spawn arguments in parameter order, checked against the parameter types."""
    from .._types import FLOAT, check_value, handle_in
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise TypeError(f"arguments of flow {flow!r} must be a dict of parameter name to value, "
                        f"not {type(args).__name__}")
    names = [p[0] for p in params]
    for k in args:
        if k not in names:
            raise TypeError(f"flow {flow!r} has no parameter {k!r} (parameters: {', '.join(names) or 'none'})")
    out = []
    for pname, ptype in params:
        if pname not in args:
            raise TypeError(f"flow {flow!r}: missing argument for parameter {pname!r}: {ptype}")
        h = handle_in(ptype)
        if h is not None:
            raise TypeError(f"flow {flow!r}: parameter {pname} holds a {h}, which only a flow can pass "
                            "(a flow call or create_task); spawn it from a flow that makes the object")
        v = args[pname]
        err = check_value(ptype, v, pname)
        if err:
            raise TypeError(f"flow {flow!r}: parameter {err}")
        if ptype == FLOAT and type(v) is int:
            v = float(v)
        if type(v) is float and v != v:
            raise ValueError(f"flow {flow!r}: parameter {pname}: NaN is not a valid float argument")
        out.append(v)
    return tuple(out)


def args_digest(values: tuple[Any, ...]) -> bytes:
    """A digest of checked spawn arguments that equal arguments share: a dict's order does not
    count, a value's type does (1, 1.0 and True differ). Not the snapshot codec's bytes: those
    carry its format version and keep dict order, so the same spawn would differ after an upgrade."""
    h = hashlib.sha256()
    _feed(h, values)
    return h.digest()[:16]


def same_spawn(name: str, flow: str, stored: bytes | None, wanted_flow: str, digest: bytes,
                args: dict[str, Any] | None) -> None:
    """Raise SpawnConflict unless a spawn of ``wanted_flow`` with arguments ``digest`` is the one
    that made the existing isolate. A row stored before arguments were recorded (schema version
    5) has no digest: only its flow can be compared, and the same flow counts as the same spawn."""
    if flow != wanted_flow:
        raise SpawnConflict(name, flow, wanted_flow, args or {}, same_flow=False)
    if stored is not None and stored != digest:
        raise SpawnConflict(name, flow, wanted_flow, args or {}, same_flow=True)


def _feed(h: Any, v: Any) -> None:
    t = type(v)
    if v is None or t is bool:
        h.update(b"N" if v is None else b"T" if v else b"F")
    elif t is int:
        b = str(v).encode()
        h.update(b"i%d:" % len(b) + b)
    elif t is float:
        h.update(b"f" + struct.pack("<d", v))
    elif t is str or t is bytes:
        b = v.encode("utf-8", "surrogatepass") if t is str else v
        h.update((b"s" if t is str else b"b") + b"%d:" % len(b) + b)
    elif t is list or t is tuple:
        h.update(b"l%d:" % len(v))
        for x in v:
            _feed(h, x)
    elif t is dict:
        items = []
        for k, x in v.items():
            kh = hashlib.sha256()
            _feed(kh, k)
            items.append((kh.digest(), x))
        h.update(b"d%d:" % len(items))
        for kd, x in sorted(items, key=lambda it: it[0]):
            h.update(kd)
            _feed(h, x)
    elif dataclasses.is_dataclass(v) and not isinstance(v, type):
        name = f"{t.__module__}.{t.__qualname__}".encode()
        fs = dataclasses.fields(v)
        h.update(b"c%d:" % len(name) + name + b"%d:" % len(fs))
        for f in fs:
            _feed(h, f.name)
            _feed(h, getattr(v, f.name))
    elif t is DSError:
        h.update(b"e")
        for x in (v.message, v.kind, v.code):
            _feed(h, x)
    else:       # check_args lets no other type through
        raise TypeError(f"cannot compare spawn arguments of type {t.__name__}")


def describe(kind: str, args: tuple[Any, ...], extra: tuple[Any, ...] = ()) -> str:
    """What an isolate waits on, for its row and the inspector."""
    if kind == "select" and extra:
        parts, at = [], 0
        for case in extra:
            if case == "listen":
                parts.append(f"http_listen {args[at]} {args[at + 1]}")
                at += 2
            else:
                parts.append(repr(args[at]) if case == "queue" else f"timeout {float(args[at]):g} s")
                at += 1
        return "select " + ", ".join(parts)
    if kind in ("queue_get", "select"):
        return f"{kind} " + ", ".join(repr(a) for a in args)
    if kind == "http_listen" and len(args) > 2:
        return f"http_listen {args[0]} {args[1]} (timeout {float(args[2]):g} s)"
    if kind in ("lock_acquire", "wg_wait", "queue_put"):     # not a put's value: it may be large
        return f"{kind} {args[0]!r}"
    if kind == "http_listen":
        return f"http_listen {args[0]} {args[1]}"
    return kind


def frames_of(iso: Iso) -> list[tuple[str, str, int, int]]:
    try:
        return [(f["function"], f["filename"], f["line"], f["col"]) for f in iso.vm.frames_view()]
    except Exception:
        return []
