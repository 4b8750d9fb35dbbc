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
from typing import Any, Callable, Iterator

from .._program import Code, EffectSpec, Program
from .._types import NONE, DataclassT, DictT, HandleT, ListT, Type, UnionT
from . import env as envmod
from .codegen import FunctionCompiler
from .env import FlowRef, ModuleEnv, Sig
from .errors import CompileError, Source, raise_all

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


def _source_of(fn: Callable) -> tuple[ast.AsyncFunctionDef | ast.FunctionDef, Source, str]:
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


def compile_flow(fn: Callable) -> tuple[Code, list[FlowRef], list[CompileError], ModuleEnv]:
    node, src, text = _source_of(fn)
    env = envmod.module_env_for(sys.modules.get(fn.__module__), fn.__globals__, src.filename)
    ref = f"{fn.__module__}:{fn.__qualname__}"
    fc = FunctionCompiler(env, src, node, ref, text)  # type: ignore[arg-type]
    if not isinstance(node, ast.AsyncFunctionDef):
        fc.report(node, f"flows are async functions; write @flow async def {node.name}(...)")
    code = fc.compile()
    return code, fc.flow_refs, fc.errors, env


class Flow:
    """A compiled flow. Calling it with no arguments returns it (``spawn_workers(…, [counter()])``)."""

    def __init__(self, fn: Callable, code: Code, refs: list[FlowRef], env: ModuleEnv,
                 errors: list[CompileError]) -> None:
        self.fn = fn
        self.name = fn.__name__
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
    def params(self) -> tuple:
        return self.raw_code.params

    @property
    def returns(self) -> Type:
        return self.raw_code.returns

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

    def __call__(self, *args: Any, **kwargs: Any) -> Flow:
        if not args and not kwargs:
            return self
        raise TypeError(f"flow {self.name} cannot be called from Python; start it with "
                        f"spawn(name, {self.name!r}, {{...}}) (or call it from another flow)")

    def __repr__(self) -> str:
        return f"<Flow {self.ref}>"


def flow(fn: Callable | None = None) -> Any:
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
        return fn  # type: ignore[return-value]
    if not inspect.isfunction(fn):
        raise TypeError(f"@flow decorates an async def function, not {type(fn).__name__}")
    try:
        code, refs, errors, env = compile_flow(fn)
    except CompileError as e:
        if not _collecting:
            raise
        code, refs, errors, env = None, [], [e], envmod.module_env_for(None, fn.__globals__)
    if errors and not _collecting:
        raise_all(errors)
    if errors:
        _collecting[-1].extend(errors)
        code = code or Code(fn.__name__, f"{fn.__module__}:{fn.__qualname__}", "", 0, "", (), NONE,
                            array("i"), array("i"), (), 0, 0, 0)
    return Flow(fn, code, refs, env, errors)  # type: ignore[arg-type]


def pure(fn: Callable) -> Callable:
    """Mark a deterministic Python function that flows may call inline (no checkpoint)."""
    if not callable(fn):
        raise TypeError("@pure decorates a function")
    fn.__deepslate__ = {"kind": "pure"}  # type: ignore[attr-defined]
    return fn


def impure(fn: Callable | None = None, *, retries: int = envmod.DEFAULT_POLICY[0],
           backoff: float = envmod.DEFAULT_POLICY[1], timeout: float = envmod.DEFAULT_POLICY[2]) -> Any:
    """Mark a side-effecting function; its result is checkpointed once.

    ``@impure`` or ``@impure(retries=3, backoff=0.5, timeout=30.0)``."""
    if retries < 0 or backoff < 0 or timeout < 0:
        raise ValueError("impure: retries, backoff and timeout must not be negative")

    def mark(f: Callable) -> Callable:
        if not callable(f):
            raise TypeError("@impure decorates a function")
        f.__deepslate__ = {"kind": "impure", "retries": int(retries),  # type: ignore[attr-defined]
                           "backoff": float(backoff), "timeout": float(timeout)}
        return f

    return mark(fn) if fn is not None else mark


# -- programs -----------------------------------------------------------------------

def _resolve_flow(fr: FlowRef, caller: Flow) -> Flow:
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


def walk_types(t: Any, out: dict[str, DataclassT]) -> None:
    if isinstance(t, DataclassT):
        if t.ref not in out:
            out[t.ref] = t
            for _, ft in t.fields or ():
                walk_types(ft, out)
    elif isinstance(t, ListT):
        walk_types(t.elem, out)
    elif isinstance(t, DictT):
        walk_types(t.key, out)
        walk_types(t.value, out)
    elif isinstance(t, UnionT):
        for m in t.members:
            walk_types(m, out)
    elif isinstance(t, HandleT) and t.elem is not None:
        walk_types(t.elem, out)


def program_types(codes: list[Code]) -> list[DataclassT]:
    from .._program import CallTarget, TypeTest  # noqa: PLC0415
    found: dict[str, DataclassT] = {}
    for c in codes:
        for _, t in c.params:
            walk_types(t, found)
        walk_types(c.returns, found)
        for lv in c.locals:
            walk_types(lv.type, found)
        for k in c.consts:
            if isinstance(k, TypeTest):
                walk_types(k.type, found)
            elif isinstance(k, CallTarget) and k.type is not None:
                walk_types(k.type, found)
    return [found[r] for r in sorted(found)]


def build_program(entry: Flow) -> Program:
    from .serial import link, program_hash  # noqa: PLC0415
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
