"""A tiny effect loop for tests: runs flows on ``deepslate._vm.VM`` without a runtime.

``run_flow(flow, args, effects=...)`` starts the flow's program on a VM and answers
every effect request in memory: ``sleep`` returns None at once, ``@impure`` calls
the real function (with its retries, and a DSError for ``-> T | DSError``), queues,
locks and wait groups are simulated for one isolate and the children it starts
with ``create_task``, which run round-robin in the same loop, and ``http_*`` are
answered from a script. A fault raises ``FlowFault``; an isolate set that can no
longer make progress raises ``Deadlock``.

The language corpus (``tests/compiler/testdata/corpus/*.py``) declares what to run
and what to expect in comment lines of this mini-format (a ``# run:`` line starts a
case; the lines after it, up to the next ``# run:``, belong to that case; lines
before the first ``# run:`` are defaults for every case of the file)::

    # run: main(n=10, s="x")      entry flow and keyword arguments (Python literals)
    # expect: 55                  repr() of the value the flow returns
    # expect fault: ZeroDivisionError @div
                                  the isolate faults with that exception type at the
                                  source line carrying the trailing marker ``#@div``
    # effect: http_listen -> b'{"n": 3}'
                                  a scripted answer (a Python expression; DSError is
                                  in scope) for the next request of that kind, or of
                                  ``impure:NAME`` for one @impure function; answers are
                                  used in order and every one must be used
    # log: total 3                one printed line, in order; when a case has any
                                  ``# log:`` line the whole log must match
    # trace: sleep impure:charge  the durable effects the entry isolate requested, in order
    # cpython: no (why)           skip the differential check against CPython

Unless a case says ``# cpython: no``, ``run_cpython`` runs the same source as plain
Python (decorators replaced by ``CPYTHON_SHIM``: a flow call runs the coroutine to
its end, ``sleep`` does nothing, ``@impure`` calls the function) and the test checks
that CPython agrees with the expectation, so expected values are never invented.
"""
from __future__ import annotations

import ast
import asyncio
import collections
import contextlib
import copy
import dataclasses
import functools
import inspect
import io
import pathlib
import re
import sys
import traceback
import types
import typing
import warnings
from typing import Any, Callable

from deepslate._values import DSError, Lock, Queue, WaitGroup

CORPUS = pathlib.Path(__file__).resolve().parent / "compiler" / "testdata" / "corpus"

# ----------------------------------------------------------------------------------
# corpus headers


@dataclasses.dataclass
class Case:
    path: pathlib.Path
    flow: str
    args: dict
    lineno: int                                   # line of the "# run:" header
    expect: str | None = None                     # repr of the result
    fault: tuple[str, int] | None = None          # (exception type name, line)
    effects: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    log: list[str] | None = None
    trace: list[str] | None = None
    cpython: bool = True
    cpython_reason: str = ""

    @property
    def id(self) -> str:
        args = ",".join(f"{k}={v!r}" for k, v in self.args.items())
        return f"{self.path.stem}:{self.flow}({args})"


class HeaderError(ValueError):
    """A corpus file's header does not follow the mini-format."""


_HEADER = re.compile(r"^# (run|expect|expect fault|effect|log|trace|cpython):(.*)$")


def _markers(lines: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for n, line in enumerate(lines, 1):
        m = re.search(r"#@(\w+)\s*$", line)
        if m:
            if m.group(1) in out:
                raise HeaderError(f"marker #@{m.group(1)} appears twice (lines {out[m.group(1)]} and {n})")
            out[m.group(1)] = n
    return out


def parse_cases(path: pathlib.Path) -> list[Case]:
    lines = path.read_text().splitlines()
    marks = _markers(lines)
    defaults: dict[str, Any] = {}
    cases: list[Case] = []

    def where(n: int) -> str:
        return f"{path.name}:{n}"

    for n, line in enumerate(lines, 1):
        m = _HEADER.match(line)
        if not m:
            continue
        key, val = m.group(1), m.group(2).strip()
        if key == "run":
            try:
                call = ast.parse(val, mode="eval").body
                assert isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and not call.args
                args = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
            except Exception as e:  # noqa: BLE001 - any malformed header is reported with its line
                raise HeaderError(f"{where(n)}: '# run:' wants flow(name=literal, ...): {val!r} ({e})") from None
            cases.append(Case(path, call.func.id, args, n, **copy.deepcopy(defaults)))
            continue
        target = cases[-1] if cases else None
        if key == "cpython":
            flag, _, reason = val.partition(" ")
            if flag not in ("yes", "no"):
                raise HeaderError(f"{where(n)}: '# cpython:' wants yes or no, got {flag!r}")
            if target is None:
                defaults["cpython"] = flag == "yes"
                defaults["cpython_reason"] = reason.strip("() ")
            else:
                target.cpython, target.cpython_reason = flag == "yes", reason.strip("() ")
            continue
        if target is None:
            raise HeaderError(f"{where(n)}: '# {key}:' before any '# run:'")
        if key == "expect":
            target.expect = val
        elif key == "expect fault":
            exc, _, mark = val.partition("@")
            mark = mark.strip()
            if mark not in marks:
                raise HeaderError(f"{where(n)}: no line carries the marker #@{mark}")
            target.fault = (exc.strip(), marks[mark])
        elif key == "effect":
            kind, arrow, expr = val.partition("->")
            if not arrow:
                raise HeaderError(f"{where(n)}: '# effect:' wants KIND -> EXPR")
            target.effects.append((kind.strip(), expr.strip()))
        elif key == "log":
            target.log = (target.log or []) + [m.group(2)[1:] if m.group(2).startswith(" ") else m.group(2)]
        elif key == "trace":
            target.trace = val.split()
    for c in cases:
        if (c.expect is None) == (c.fault is None):
            raise HeaderError(f"{where(c.lineno)}: a case needs exactly one of '# expect:' and '# expect fault:'")
    if not cases:
        raise HeaderError(f"{path.name}: no '# run:' header")
    return cases


def corpus_files() -> list[pathlib.Path]:
    return sorted(CORPUS.glob("*.py"))


def all_cases() -> list[Case]:
    return [c for p in corpus_files() for c in parse_cases(p)]


def load_module(path: pathlib.Path) -> types.ModuleType:
    """Import a corpus module by its file name so that @pure/@impure refs resolve
    ("stem:qualname") when a program is linked."""
    import importlib

    d = str(path.parent)
    if d not in sys.path:
        sys.path.insert(0, d)
    return importlib.import_module(path.stem)


def module_flows(mod: types.ModuleType) -> dict[str, Any]:
    """The flows a module defines (not the ones it imports), by name."""
    from deepslate.compiler import Flow

    return {name: obj for name, obj in vars(mod).items()
            if isinstance(obj, Flow) and obj.__module__ == mod.__name__}


_COMPILED = [0]


def compile_source(source: str, filename: str) -> dict[str, Any]:
    """Compile a module's text as importing it would: every ``@flow`` in it compiles at decoration
    time and each flow's program is built. Returns the flows by name; raises the module's
    ``CompileError`` (all of its errors), or Python's own ``SyntaxError`` when the text is not
    Python at all. The source is served from linecache, so no file is written."""
    import linecache

    from deepslate.compiler.errors import raise_all
    from deepslate.compiler.flow import Flow, collect_errors

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)   # e.g. "is" with a literal: Python's concern
        code = compile(source, filename, "exec", dont_inherit=True)
    _COMPILED[0] += 1
    name = f"_compiled_source_{_COMPILED[0]}"
    mod = types.ModuleType(name)
    mod.__file__ = filename
    sys.modules[name] = mod
    # lines as a file read would give them (str.splitlines would also split at \f and \x1c)
    lines = io.StringIO(source, newline=None).readlines()
    linecache.cache[filename] = (len(source), None, lines, filename)
    try:
        with collect_errors() as errors:
            exec(code, mod.__dict__)  # noqa: S102 - compiling test input is the point
        raise_all(errors)
        flows = {n: o for n, o in vars(mod).items() if isinstance(o, Flow)}
        for f in flows.values():
            f.program  # noqa: B018 - building the program links flow-to-flow calls
        return flows
    finally:
        sys.modules.pop(name, None)
        linecache.cache.pop(filename, None)


# ----------------------------------------------------------------------------------
# the effect loop


class DriverError(AssertionError):
    """The flow asked for something the test did not script, or never finished."""


class Deadlock(DriverError):
    """Every live isolate waits on something that can no longer happen."""


class FlowFault(Exception):
    """An isolate failed: a VM fault, or an @impure function without DSError that raised."""

    def __init__(self, isolate: str, exc_type: str, message: str, frames: list[tuple[str, str, int, int]]):
        super().__init__(f"{isolate}: {message} at {frames[-1] if frames else '?'}")
        self.isolate = isolate
        self.exc_type = exc_type
        self.message = message
        self.frames = frames

    @property
    def line(self) -> int:
        return self.frames[-1][2] if self.frames else 0

    @property
    def filename(self) -> str:
        return self.frames[-1][1] if self.frames else ""


_BLOCK = object()   # an effect handler's answer meaning "not yet, ask again later"


def _copy_across(value: Any, program: Any) -> Any:
    """Values crossing isolates are copies (the VM's value codec when it exists)."""
    try:
        from deepslate._vm import decode_value, encode_value
    except ImportError:
        return copy.deepcopy(value)
    return decode_value(encode_value(value), program)


class Isolate:
    def __init__(self, name: str, vm: Any):
        self.name = name
        self.vm = vm
        self.done = False
        self.result: Any = None
        self.waiting: tuple[Any, tuple] | None = None   # a blocked effect, retried each round
        self.trace: list[str] = []


class Driver:
    """Runs one root isolate and its create_task children to the root's return."""

    def __init__(self, program: Any, effects: list[tuple[str, Any]] | None = None, *,
                 budget: int = 997, max_rounds: int = 200_000,
                 on_durable: Callable[[Isolate, str], None] | None = None):
        # on_durable(isolate, phase) runs while the VM is not executing and may replace
        # isolate.vm: phase "pending" (an effect is requested), "ready" (its result was
        # delivered) or "yield" (the instruction budget ran out)
        self.program = program
        self.budget = budget
        self.max_rounds = max_rounds
        self.on_durable = on_durable
        self.script: dict[str, collections.deque] = collections.defaultdict(collections.deque)
        for kind, answer in effects or ():
            self.script[kind].append(answer)
        self.log: list[str] = []
        self.isolates: list[Isolate] = []
        self.durable_points = 0
        self._next_id = 0
        self.queues: dict[int, tuple[collections.deque, int]] = {}
        self.locks: dict[int, str | None] = {}
        self.groups: dict[int, int] = {}

    # -- public -------------------------------------------------------------------

    def start(self, code_index: int, args: tuple) -> Isolate:
        from deepslate._vm import VM

        iso = Isolate("root" if not self.isolates else f"root/{len(self.isolates)}",
                      VM(self.program, code_index, tuple(args)))
        self.isolates.append(iso)
        return iso

    def run(self, root: Isolate) -> Any:
        ring = collections.deque([root])
        rounds = 0
        while not root.done:
            rounds += 1
            if rounds > self.max_rounds:
                raise DriverError(f"flow did not finish within {self.max_rounds} scheduling rounds")
            self._add_children(ring)
            progressed = False
            for _ in range(len(ring)):
                iso = ring[0]
                ring.rotate(-1)
                if iso.done:
                    continue
                if self._step(iso):
                    progressed = True
                if root.done:
                    break
            ring = collections.deque(i for i in ring if not i.done)
            self._add_children(ring)
            if not progressed and not root.done and all(i.waiting for i in ring):
                waits = ", ".join(f"{i.name} on {i.waiting[0].kind}" for i in ring)
                raise Deadlock(f"no isolate can proceed: {waits}")
        leftover = {k: list(v) for k, v in self.script.items() if v}
        if leftover:
            raise DriverError(f"scripted effect answers were never used: {leftover}")
        return root.result

    # -- one isolate ----------------------------------------------------------------

    def _add_children(self, ring: collections.deque) -> None:
        for iso in self.isolates:
            if not iso.done and iso not in ring:
                ring.append(iso)

    def _step(self, iso: Isolate) -> bool:
        if iso.waiting is not None:
            spec, args = iso.waiting
            answer = self._perform(iso, spec, args)
            if answer is _BLOCK:
                return False
            iso.waiting = None
            self._resume(iso, answer)
            return True
        spec, args = iso.vm.run(self.budget)
        kind = spec.kind
        if kind == "yield":
            if self.on_durable is not None:
                self.on_durable(iso, "yield")
            return True
        if kind == "return":
            iso.done, iso.result = True, args[0]
            return True
        if kind == "fault":
            f = args[0]
            raise FlowFault(iso.name, f.exc_type, f.message, list(f.frames))
        self.durable_points += 1
        if self.on_durable is not None:
            self.on_durable(iso, "pending")
            pend = iso.vm.pending()
            if pend is None or pend[0].kind != kind:
                raise DriverError(f"after a restore the VM is pending {pend!r}, want {kind}")
            spec, args = pend
        iso.trace.append(kind if kind != "impure" else f"impure:{self._impure_name(spec)}")
        answer = self._perform(iso, spec, args)
        if answer is _BLOCK:
            iso.waiting = (spec, args)
            return True
        self._resume(iso, answer)
        return True

    def _resume(self, iso: Isolate, answer: Any) -> None:
        iso.vm.resume(answer)
        if self.on_durable is not None:
            self.on_durable(iso, "ready")

    @staticmethod
    def _impure_name(spec: Any) -> str:
        ref = spec.extra[0] if spec.extra else "?"
        return ref.split(":")[-1]

    def _scripted(self, *keys: str) -> tuple[bool, Any]:
        for key in keys:
            if self.script.get(key):
                return True, self.script[key].popleft()
        return False, None

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _fail(self, iso: Isolate, exc: BaseException) -> FlowFault:
        frames = [(f["function"], f["filename"], f["line"], f["col"]) for f in iso.vm.frames_view()]
        return FlowFault(iso.name, type(exc).__name__, f"{type(exc).__name__}: {exc}", frames)

    def _perform(self, iso: Isolate, spec: Any, args: tuple) -> Any:
        kind = spec.kind
        if kind == "impure":
            name = self._impure_name(spec)
            hit, answer = self._scripted(f"impure:{name}", "impure")
            if hit:
                return answer
            _ref, retries, _backoff, _timeout, returns_error = spec.extra
            err: BaseException | None = None
            for _ in range(1 + int(retries)):
                try:
                    value = spec.fn(*args)
                    if inspect.isawaitable(value):   # an async def @impure function
                        value = asyncio.run(_awaited(value))
                    return value
                except Exception as e:  # noqa: BLE001 - the flow decides what a failure means
                    err = e
            assert err is not None
            if returns_error:
                return DSError(str(err))
            raise self._fail(iso, err)
        hit, answer = self._scripted(kind)
        if hit:
            return answer
        if kind == "sleep":
            return None
        if kind in ("http_request", "http_listen"):
            raise DriverError(f"{iso.name} requested {kind}{args!r} but the case scripts no answer")
        if kind == "new_queue":
            qid = self._new_id()
            self.queues[qid] = (collections.deque(), int(args[0]) if args else 0)
            return Queue(qid)
        if kind == "queue_put":
            items, cap = self.queues[args[0].id]
            if cap and len(items) >= cap:
                return _BLOCK
            items.append(_copy_across(args[1], self.program))
            return None
        if kind == "queue_get":
            items, _ = self.queues[args[0].id]
            return items.popleft() if items else _BLOCK
        if kind == "select":
            for n, q in enumerate(args):
                items, _ = self.queues[q.id]
                if items:
                    return [n, items.popleft()]
            return _BLOCK
        if kind == "new_lock":
            lid = self._new_id()
            self.locks[lid] = None
            return Lock(lid)
        if kind == "lock_acquire":
            if self.locks[args[0].id] is not None:
                return _BLOCK
            self.locks[args[0].id] = iso.name
            return None
        if kind == "lock_release":
            if self.locks[args[0].id] is None:
                raise self._fail(iso, RuntimeError("release of an unlocked lock"))
            self.locks[args[0].id] = None
            return None
        if kind == "new_waitgroup":
            gid = self._new_id()
            self.groups[gid] = 0
            return WaitGroup(gid)
        if kind in ("wg_add", "wg_done"):
            gid = args[0].id
            self.groups[gid] += int(args[1]) if kind == "wg_add" else -1
            if self.groups[gid] < 0:
                raise self._fail(iso, RuntimeError("negative wait group counter"))
            return None
        if kind == "wg_wait":
            return None if self.groups[args[0].id] == 0 else _BLOCK
        if kind == "create_task":
            child_args = tuple(_copy_across(a, self.program) for a in args)
            self.start(spec.extra[0], child_args)
            return None
        raise DriverError(f"{iso.name} requested an unknown effect kind {kind!r}")


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def flow_program(flow: Any) -> Any:
    prog = getattr(flow, "program", None)
    if prog is None:
        raise TypeError(f"{flow!r} is not a compiled flow (no .program)")
    return prog


def _args_tuple(program: Any, code_index: int, args: dict | tuple | None) -> tuple:
    if args is None:
        return ()
    if isinstance(args, tuple):
        return args
    params = [p[0] for p in program.codes[code_index].params]
    unknown = set(args) - set(params)
    if unknown:
        raise TypeError(f"unknown argument(s) {sorted(unknown)}; the flow takes {params}")
    missing = [p for p in params if p not in args]
    if missing:
        raise TypeError(f"missing argument(s) {missing}")
    return tuple(args[p] for p in params)


def run_flow(flow: Any, args: dict | tuple | None = None, effects: list[tuple[str, Any]] | None = None,
             **driver_options: Any) -> Any:
    """Run ``flow`` to its return on the VM and give back its result."""
    return drive(flow, args, effects, **driver_options)[0]


def drive(flow: Any, args: dict | tuple | None = None, effects: list[tuple[str, Any]] | None = None,
          **driver_options: Any) -> tuple[Any, Driver, Isolate]:
    """Like ``run_flow`` but also hands back the driver (log, durable points) and the root."""
    program = flow_program(flow)
    driver = Driver(program, effects, **driver_options)
    root = driver.start(program.entry, _args_tuple(program, program.entry, args))
    try:
        result = driver.run(root)
    finally:
        for iso in driver.isolates:
            driver.log.extend(iso.vm.take_log())
    return result, driver, root


def eval_effects(case: Case) -> list[tuple[str, Any]]:
    return [(kind, eval(expr, {"DSError": DSError})) for kind, expr in case.effects]  # noqa: S307 - test data


# ----------------------------------------------------------------------------------
# the same source as plain Python


class ShimUnsupported(AssertionError):
    """The flow used something that has no plain-Python meaning; mark it '# cpython: no'."""


_SHIM_FLOW_NAMES: set[str] = set()


def _shim_flow(fn: Callable) -> Callable:
    _SHIM_FLOW_NAMES.add(fn.__code__.co_name)

    @functools.wraps(fn)
    def call(*a: Any, **k: Any) -> Any:
        coro = fn(*a, **k)
        try:
            coro.send(None)
        except StopIteration as stop:
            return stop.value
        coro.close()
        raise ShimUnsupported(f"flow {fn.__name__} awaited something")
    return call


def _shim_pure(fn: Callable | None = None, **_options: Any) -> Any:
    return fn if fn is not None else (lambda f: f)


def _shim_impure(fn: Callable | None = None, *, retries: int = 0, **_options: Any) -> Any:
    def wrap(f: Callable) -> Callable:
        ret = typing.get_type_hints(f).get("return")
        returns_error = DSError in typing.get_args(ret)

        @functools.wraps(f)
        def call(*a: Any) -> Any:
            err: BaseException | None = None
            for _ in range(1 + retries):
                try:
                    return f(*a)
                except Exception as e:  # noqa: BLE001
                    err = e
            if returns_error:
                return DSError(str(err))
            raise err  # type: ignore[misc]
        return call
    return wrap(fn) if fn is not None else wrap


def _py_to_type(t: Any) -> Any:
    from deepslate import _types as T

    prims = {int: T.INT, float: T.FLOAT, str: T.STR, bool: T.BOOL, bytes: T.BYTES, type(None): T.NONE}
    if t in prims:
        return prims[t]
    origin = typing.get_origin(t)
    if origin is list:
        return T.ListT(_py_to_type(typing.get_args(t)[0]))
    if origin is dict:
        k, v = typing.get_args(t)
        return T.DictT(_py_to_type(k), _py_to_type(v))
    if origin in (typing.Union, types.UnionType):
        return T.union(*(_py_to_type(a) for a in typing.get_args(t)))
    if t is DSError:
        return T.ERROR
    if dataclasses.is_dataclass(t):
        dt = T.DataclassT(f"{t.__module__}:{t.__qualname__}", t.__name__, cls=t)
        object.__setattr__(dt, "fields", [(f.name, _py_to_type(f.type)) for f in dataclasses.fields(t)])
        return dt
    raise ShimUnsupported(f"no deepslate type for {t!r}")


class _ShimUnmarshal:
    """``json_unmarshal[T]`` with the project's own decoder: its messages are part of the language."""

    def __getitem__(self, t: Any) -> Callable[[bytes], Any]:
        from deepslate._builtins import json_unmarshal_value

        target = _py_to_type(t)
        return lambda data: json_unmarshal_value(target, data)


def _shim_marshal(v: Any) -> Any:
    from deepslate._builtins import json_marshal_value

    return json_marshal_value(v)


class _NoPlainPython:
    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        raise ShimUnsupported(f"{self._name}.{attr} has no plain-Python meaning")

    def __call__(self, *a: Any, **k: Any) -> Any:
        raise ShimUnsupported(f"{self._name} has no plain-Python meaning")


def _make_shim() -> types.ModuleType:
    m = types.ModuleType("_deepslate_cpython")
    m.flow = _shim_flow
    m.pure = _shim_pure
    m.impure = _shim_impure
    m.sleep = lambda seconds: None
    m.DSError = DSError
    m.json_marshal = _shim_marshal
    m.json_unmarshal = _ShimUnmarshal()
    m.dpslio = _NoPlainPython("dpslio")
    m.http_listen = _NoPlainPython("http_listen")
    m.http_request = _NoPlainPython("http_request")
    return m


CPYTHON_SHIM = _make_shim()


@dataclasses.dataclass
class CPythonOutcome:
    value: Any = None
    exc_type: str | None = None
    line: int | None = None
    log: list[str] = dataclasses.field(default_factory=list)


def run_cpython(case: Case) -> CPythonOutcome:
    """Run ``case`` with the flow bodies as plain Python coroutines."""
    src = case.path.read_text()
    src = re.sub(r"^from deepslate import ", "from _deepslate_cpython import ", src, flags=re.M)
    sys.modules["_deepslate_cpython"] = CPYTHON_SHIM
    _SHIM_FLOW_NAMES.clear()
    name = f"_cpython_{case.path.stem}"
    mod = types.ModuleType(name)
    mod.__file__ = str(case.path)
    sys.modules[name] = mod
    try:
        exec(compile(src, str(case.path), "exec", dont_inherit=True), mod.__dict__)  # noqa: S102 - test corpus
        out = CPythonOutcome()
        buf = io.StringIO()
        try:
            with contextlib.redirect_stdout(buf):
                out.value = getattr(mod, case.flow)(**case.args)
        except ShimUnsupported:
            raise
        except Exception as e:  # noqa: BLE001 - the expectation says which one
            out.exc_type = type(e).__name__
            # a fault is reported at the flow line that was executing (a @pure call site)
            frames = [f for f in traceback.extract_tb(e.__traceback__)
                      if f.filename == str(case.path) and f.name in _SHIM_FLOW_NAMES]
            out.line = frames[-1].lineno if frames else None
        out.log = buf.getvalue().splitlines()
        return out
    finally:
        sys.modules.pop(name, None)
