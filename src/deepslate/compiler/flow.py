"""The decorators users write (``@flow``, ``@pure``, ``@impure``) and the
``Flow`` registration object with its lazily built ``Program``."""
from __future__ import annotations

import ast
import contextlib
import dataclasses
import inspect
import linecache
import sys
import textwrap
from array import array
from typing import Any, Awaitable, Callable, Coroutine, Generic, Iterator, ParamSpec, Protocol, TypeVar, overload

from .._types import NONE, DataclassT, Type, check_value, collect_dataclasses
from ..program.link import link
from ..program.model import CallTarget, Code, EffectSpec, Program, TypeTest
from ..program.serial import program_hash
from . import env as envmod
from .codegen import FunctionCompiler
from .env import CompiledFlow, FlowRef, ModuleEnv, Sig
from .errors import CompileError, Source, raise_all

P = ParamSpec("P")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)
F = TypeVar("F", bound=Callable[..., Any])


class SpawnFn(Protocol[R_co]):
    """What ``Flow.spawn`` starts an isolate with: the ``spawn`` of ``spawn_workers``,
    ``Engine.spawn`` or any callable of that shape; its result is passed back."""

    def __call__(self, name: str, flow_name: str, args: dict[str, Any], /) -> R_co: ...


class WaitFn(Protocol):
    """The ``wait`` of ``spawn_workers`` (or any callable of its shape)."""

    def __call__(self, name: str, /, *, timeout: float | None = None) -> object: ...


class AsyncWaitFn(Protocol):
    """``Engine.wait`` (or any async callable of its shape)."""

    def __call__(self, name: str, /, *, timeout: float | None = None) -> Awaitable[object]: ...


# When set (by `deepslate check`), @flow records errors here instead of raising.
_collecting: list[list[CompileError]] = []


@contextlib.contextmanager
def collect_errors() -> Iterator[list[CompileError]]:
    """Within the block @flow does not raise; every CompileError lands in the list."""
    errors: list[CompileError] = []
    _collecting.append(errors)
    try:
        yield errors
    finally:
        _collecting.remove(errors)


def _source_of(fn: Callable[..., Any]) -> tuple[ast.AsyncFunctionDef | ast.FunctionDef, Source, str]:
    filename = fn.__code__.co_filename
    try:
        lines, start = inspect.getsourcelines(fn)
    except (OSError, TypeError) as e:
        raise CompileError(f"cannot read the source of flow {fn.__name__} ({e}); flows must be "
                           "defined in a file", filename, fn.__code__.co_firstlineno, 1, None) from None
    text = "".join(lines)
    dedented = textwrap.dedent(text)
    first = next((ln for ln in lines if ln.strip()), "")
    first_dedented = next((ln for ln in dedented.splitlines() if ln.strip()), "")
    indent = len(first) - len(first.lstrip()) - (len(first_dedented) - len(first_dedented.lstrip()))
    src = Source(filename, [ln.rstrip("\r\n") for ln in lines], start, indent)
    try:
        tree = ast.parse(dedented)
    except SyntaxError as e:
        raise CompileError(f"cannot parse flow {fn.__name__}: {e.msg}", filename,
                           (e.lineno or 1) + start - 1, (e.offset or 0) + indent or 1, None) from None
    node = tree.body[0]
    assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    return node, src, text


def compile_flow(fn: Callable[..., Any]) -> tuple[Code, list[FlowRef], list[CompileError], ModuleEnv]:
    node, src, text = _source_of(fn)
    env = envmod.module_env_for(sys.modules.get(fn.__module__), fn.__globals__, src.filename)
    ref = f"{fn.__module__}:{fn.__qualname__}"
    fc = FunctionCompiler(env, src, node, ref, text)  # type: ignore[arg-type]
    if not isinstance(node, ast.AsyncFunctionDef):
        fc.report(node, f"flows are async functions; write @flow async def {node.name}(...)")
    code = fc.compile()
    return code, fc.flow_refs, fc.errors, env


class Flow(CompiledFlow, Generic[P, R]):
    """A compiled flow: ``Flow[P, R]`` takes the parameters ``P`` and returns ``R``.

    Inside a flow a call ``child(x)`` is the child's result, and that is what a type
    checker sees. From Python a flow is started by name (``spawn(name, "child", {...})``)
    or, checked by the type checker, with ``child.spawn(spawn, name, x)`` and its result
    read with ``child.wait(wait, name)``. Calling it with no arguments returns it
    (``spawn_workers(…, [counter()])``)."""

    def __init__(self, fn: Callable[P, Coroutine[Any, Any, R]], code: Code, refs: list[FlowRef],
                 env: ModuleEnv, errors: list[CompileError]) -> None:
        self.fn = fn
        self.name: str = fn.__name__
        self.__name__ = fn.__name__
        self.__qualname__ = fn.__qualname__
        self.__module__ = fn.__module__
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn
        self.ref = code.ref
        self.raw_code = code
        self.refs = refs
        self.env = env
        self.errors = errors
        self._program: Program | None = None

    @property
    def sig(self) -> Sig:
        return Sig("flow", self.name, self.ref, list(self.raw_code.params), self.raw_code.returns, self)

    @property
    def params(self) -> tuple[tuple[str, Type], ...]:
        return self.raw_code.params

    @property
    def returns(self) -> Type:
        t: Type = self.raw_code.returns
        return t

    @property
    def program(self) -> Program:
        if self.errors:
            raise_all(self.errors)
        if self._program is None:
            self._program = build_program(self)
        return self._program

    @property
    def code(self) -> Code:
        p = self.program
        return p.codes[p.entry]

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        if not args and not kwargs:
            # the README's spawn_workers(…, [counter()]): to a type checker this is the call's
            # result, which is what it means inside a flow, the only place a flow is called
            return self  # type: ignore[return-value]
        raise TypeError(f"flow {self.name} cannot be called from Python; start it with "
                        f"spawn(name, {self.name!r}, {{...}}) or {self.name}.spawn(spawn, name, ...) "
                        "(or call it from another flow)")

    # -- typed doors ------------------------------------------------------------------

    def arguments(self, *args: P.args, **kwargs: P.kwargs) -> dict[str, Any]:
        """The ``args`` dict of ``spawn(name, flow_name, args)`` for this call of the flow."""
        names = [p for p, _ in self.params]
        if len(args) > len(names):
            raise TypeError(f"flow {self.name} takes {len(names)} argument(s) ({', '.join(names) or 'none'}), "
                            f"not {len(args)}")
        out = dict(zip(names, args))
        for k, v in kwargs.items():
            if k not in names:
                raise TypeError(f"flow {self.name} has no parameter {k!r} (parameters: {', '.join(names) or 'none'})")
            if k in out:
                raise TypeError(f"flow {self.name}: parameter {k!r} is given twice")
            out[k] = v
        return out

    def spawn(self, spawn: SpawnFn[R_co], name: str, /, *args: P.args, **kwargs: P.kwargs) -> R_co:
        """Start isolate ``name`` running this flow with these arguments, through ``spawn``
        (the ``spawn`` of ``spawn_workers``, ``Engine.spawn`` …); returns what it returns:
        ``(id, exists)``, or an awaitable of it for an async one. The type checker checks the
        arguments against the flow's parameters."""
        return spawn(name, self.name, self.arguments(*args, **kwargs))

    def wait(self, wait: WaitFn, name: str, /, *, timeout: float | None = None) -> R:
        """The result of isolate ``name`` through ``wait`` (the one of ``spawn_workers``), as
        this flow's return type; a ``TypeError`` if the isolate returned something else (it
        runs another flow, or an older version of this one)."""
        value = wait(name, timeout=timeout)
        if inspect.isawaitable(value):
            if inspect.iscoroutine(value):
                value.close()
            raise TypeError(f"{self.name}.wait: {_callable_name(wait)} is asynchronous; "
                            f"use await {self.name}.wait_async(...)")
        return self._result(name, value)

    async def wait_async(self, wait: AsyncWaitFn, name: str, /, *, timeout: float | None = None) -> R:
        """``wait`` for an async ``wait`` (``Engine.wait``): ``await flow.wait_async(engine.wait, name)``."""
        value = wait(name, timeout=timeout)
        if not inspect.isawaitable(value):
            raise TypeError(f"{self.name}.wait_async: {_callable_name(wait)} is not asynchronous "
                            f"(it returned {type(value).__name__}); use {self.name}.wait(...)")
        return self._result(name, await value)

    def _result(self, name: str, value: object) -> R:
        err = check_value(self.returns, value, "result")
        if err:
            raise TypeError(f"isolate {name!r} did not return what flow {self.name} returns ({self.returns}): "
                            f"{err}; is it an isolate of another flow?")
        return value  # type: ignore[return-value]   # checked against the flow's return type just above

    def __repr__(self) -> str:
        return f"<Flow {self.ref}>"


def _callable_name(fn: object) -> str:
    return getattr(fn, "__qualname__", None) or type(fn).__name__


@overload
def flow(fn: Callable[P, Coroutine[Any, Any, R]], /) -> Flow[P, R]: ...
@overload
def flow(fn: None = None, /) -> Callable[[Callable[P, Coroutine[Any, Any, R]]], Flow[P, R]]: ...


def flow(fn: Any = None, /) -> Any:
    """Compile ``fn`` (an ``async def`` in the flow language) into a ``Flow``
    (``@flow`` and ``@flow()`` both work)."""
    if fn is None:
        return flow
    if isinstance(fn, Flow):
        return fn
    if inspect.isclass(fn):
        try:
            line = inspect.getsourcelines(fn)[1]
        except (OSError, TypeError):
            line = 1
        filename = getattr(sys.modules.get(fn.__module__), "__file__", None) or "<unknown>"
        err = CompileError(f"@flow decorates async def functions; {fn.__name__} is a class",
                           filename, line, 1, linecache.getline(filename, line) or None)
        if not _collecting:
            raise err
        _collecting[-1].append(err)
        return fn
    if not inspect.isfunction(fn):
        raise TypeError(f"@flow decorates an async def function, not {type(fn).__name__}")
    code: Code | None
    try:
        code, refs, errors, env = compile_flow(fn)
    except CompileError as e:
        if not _collecting:
            raise
        code, refs, errors, env = None, [], [e], envmod.module_env_for(None, fn.__globals__)
    if errors and not _collecting:
        raise_all(errors)
    if errors or code is None:
        _collecting[-1].extend(errors)
        code = code or Code(fn.__name__, f"{fn.__module__}:{fn.__qualname__}", "", 0, "", (), NONE,
                            array("i"), array("i"), (), 0, 0, 0)
    return Flow(fn, code, refs, env, errors)


class Impure(Protocol[P, R_co]):
    """An ``@impure`` function as a flow calls it: its result, also when it is ``async def``."""

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...


def pure(fn: F, /) -> F:
    """Mark a deterministic Python function that flows may call inline (no checkpoint)."""
    if not callable(fn):
        raise TypeError("@pure decorates a function")
    fn.__deepslate__ = {"kind": "pure"}  # type: ignore[attr-defined]
    return fn


@overload
def impure(fn: Callable[P, Coroutine[Any, Any, R]], /) -> Impure[P, R]: ...
@overload
def impure(fn: Callable[P, R], /) -> Impure[P, R]: ...
@overload
def impure(*, retries: int = ..., backoff: float = ..., timeout: float = ...) -> _ImpureMarker: ...


def impure(fn: Callable[..., Any] | None = None, /, *, retries: int = envmod.DEFAULT_POLICY[0],
           backoff: float = envmod.DEFAULT_POLICY[1], timeout: float = envmod.DEFAULT_POLICY[2]) -> Any:
    """Mark a side-effecting function; its result is checkpointed once.

    ``@impure`` or ``@impure(retries=3, backoff=0.5, timeout=30.0)``. To a type checker a
    call of it is its result, awaited when it is ``async def``: that is what it is in a flow."""
    if retries < 0 or backoff < 0 or timeout < 0:
        raise ValueError("impure: retries, backoff and timeout must not be negative")

    def mark(f: Callable[..., Any]) -> Callable[..., Any]:
        if not callable(f):
            raise TypeError("@impure decorates a function")
        f.__deepslate__ = {"kind": "impure", "retries": int(retries),  # type: ignore[attr-defined]
                           "backoff": float(backoff), "timeout": float(timeout)}
        return f

    return mark(fn) if fn is not None else mark


class _ImpureMarker(Protocol):
    """``@impure(retries=...)``: the decorator it returns."""

    @overload
    def __call__(self, fn: Callable[P, Coroutine[Any, Any, R]], /) -> Impure[P, R]: ...
    @overload
    def __call__(self, fn: Callable[P, R], /) -> Impure[P, R]: ...


# -- programs -----------------------------------------------------------------------

def _resolve_flow(fr: FlowRef, caller: Flow[..., Any]) -> Flow[..., Any]:
    if isinstance(fr.env, Flow):
        return fr.env
    target = fr.env.globals.get(fr.name) if isinstance(fr.env, ModuleEnv) else None
    if not isinstance(target, Flow):
        raise RuntimeError(f"flow {caller.name} calls {fr.name}, which is not defined as an @flow "
                           f"in {caller.__module__}")
    if target.errors:
        raise_all(target.errors)
    return target


def _relocate(code: Code, index: dict[str, int]) -> Code:
    consts = []
    for k in code.consts:
        if isinstance(k, FlowRef):
            k = index[k.ref]
        elif isinstance(k, EffectSpec) and k.kind == "create_task" and isinstance(k.extra[0], FlowRef):
            k = EffectSpec("create_task", k.nargs, (index[k.extra[0].ref], *k.extra[1:]))
        consts.append(k)
    return dataclasses.replace(code, consts=tuple(consts))


def program_types(codes: list[Code]) -> list[DataclassT]:
    found: dict[str, DataclassT] = {}
    for c in codes:
        for _, t in c.params:
            collect_dataclasses(t, found)
        collect_dataclasses(c.returns, found)
        for lv in c.locals:
            collect_dataclasses(lv.type, found)
        for k in c.consts:
            if isinstance(k, TypeTest):
                collect_dataclasses(k.type, found)
            elif isinstance(k, CallTarget) and k.type is not None:
                collect_dataclasses(k.type, found)
    return [found[r] for r in sorted(found)]


def build_program(entry: Flow[..., Any]) -> Program:
    order = [entry]
    index = {entry.ref: 0}
    i = 0
    while i < len(order):
        f = order[i]
        i += 1
        for fr in f.refs:
            if fr.ref not in index:
                target = _resolve_flow(fr, f)
                index[fr.ref] = len(order)
                order.append(target)
    codes = [_relocate(f.raw_code, index) for f in order]
    program = Program(codes, 0, program_types(codes))
    link(program)
    program.hash = program_hash(program)
    return program
