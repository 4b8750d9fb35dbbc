"""Name resolution for flows: module globals, names defined later in the same
module (read from the module's AST), annotations -> ``_types`` types, and the
signatures of the Python functions and flows a flow may call."""
from __future__ import annotations

import ast
import builtins
import dataclasses
import inspect
import linecache
import types as pytypes
import typing
import weakref
from dataclasses import dataclass, field
from typing import Any

from .. import _builtins, dpslio
from .._types import (BOOL, BYTES, ERROR, FLOAT, INT, NONE, STR, DataclassT, DictT, HandleT,
                      ListT, Type, UnionT, union)
from .._values import DSError, Lock, Queue, WaitGroup
from ..program.link import LIVE
from .errors import CompileError

DEFAULT_POLICY = (0, 0.5, 0.0)   # @impure: no retries, 0.5 s backoff base, no timeout
CONST_TYPES = (int, float, str, bytes, bool, type(None))
PRIMS = {"int": INT, "bool": BOOL, "float": FLOAT, "str": STR, "bytes": BYTES, "None": NONE}
PY_PRIMS = {int: INT, bool: BOOL, float: FLOAT, str: STR, bytes: BYTES, type(None): NONE}
TYPE_HELP = ("use int, bool, str, float, bytes, None, list[T], dict[K, V], a @dataclass, "
             "T | DSError or a dpslio handle")


class TypeErr(Exception):
    """An annotation that is not a flow type; ``node`` is where, when known."""

    def __init__(self, msg: str, node: ast.AST | None = None) -> None:
        super().__init__(msg)
        self.msg = msg
        self.node = node


@dataclass
class Sig:
    """What a flow needs to know to call a function or a flow."""
    kind: str                       # "pure" | "impure" | "flow"
    name: str
    ref: str
    params: list[tuple[str, Type]]
    returns: Type
    obj: Any = None                 # the live function or Flow, when defined already
    policy: tuple = (0, 0.5, 0.0)   # impure (retries, backoff, timeout); DEFAULT_POLICY
    env: Any = None                 # the ModuleEnv a flow that is defined later lives in
    defaults: dict = field(default_factory=dict)   # parameter -> constant default value


@dataclass
class FlowRef:
    """A call or create_task of a flow, resolved to a code index when a program is built."""
    ref: str
    name: str
    env: Any = field(repr=False, default=None)

    def __repr__(self) -> str:
        return f"<flow {self.name}>"


class CompiledFlow:
    """An ``@flow`` as name resolution sees it: its name, signature and compile errors.

    ``flow.Flow`` is the one kind there is. It is declared here because ``flow`` is built
    on this module and on ``calls``, which recognise a flow by it without importing ``flow``."""
    __slots__ = ()
    name: str
    errors: list[CompileError]

    @property
    def sig(self) -> Sig:
        raise NotImplementedError


def ref_of(obj: Any) -> str:
    return f"{obj.__module__}:{obj.__qualname__}"


def marker(obj: Any) -> dict | None:
    m = getattr(obj, "__deepslate__", None)
    return m if isinstance(m, dict) else None


class ModuleEnv:
    """The globals of one module plus its top-level definitions by AST."""

    def __init__(self, module: str, globals_: dict, filename: str) -> None:
        self.module = module
        self.globals = globals_
        self.filename = filename
        self._defs: dict[str, ast.AST] | None = None
        self._dataclasses: dict[Any, DataclassT] = {}
        self.field_defaults: dict[str, dict] = {}   # dataclass ref -> field -> constant default

    @property
    def defs(self) -> dict[str, ast.AST]:
        if self._defs is None:
            self._defs = {}
            try:
                tree = ast.parse("".join(linecache.getlines(self.filename, self.globals)))
            except (SyntaxError, ValueError):
                tree = ast.Module(body=[], type_ignores=[])
            assigned: dict[str, int] = {}
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    self._defs[node.name] = node
                elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for t in targets:
                        if isinstance(t, ast.Name):
                            assigned[t.id] = assigned.get(t.id, 0) + 1
                            value = node.value
                            # a constant bound once (LIMIT = 10 below the flow) can be read early
                            if isinstance(value, ast.Constant) and type(value.value) in CONST_TYPES \
                                    and value.value is not None and assigned[t.id] == 1:
                                self._defs[t.id] = value
                            elif self._defs.get(t.id) is not None and isinstance(self._defs[t.id], ast.Constant):
                                del self._defs[t.id]
        return self._defs

    # -- names ---------------------------------------------------------------
    def lookup(self, name: str) -> tuple[str, Any]:
        """("live", obj) | ("later", ast node) | ("builtin", name) | ("missing", None)."""
        if name in self.globals:
            return "live", self.globals[name]
        node = self.defs.get(name)
        if node is not None:
            return "later", node
        if hasattr(builtins, name):
            return "builtin", name
        return "missing", None

    # -- types ---------------------------------------------------------------
    def type_from_ast(self, node: ast.expr) -> Type:
        if isinstance(node, ast.Constant):
            if node.value is None:
                return NONE
            if isinstance(node.value, str):
                try:
                    inner = ast.parse(node.value, mode="eval").body
                except SyntaxError:
                    raise TypeErr(f"cannot parse the annotation {node.value!r}", node) from None
                try:
                    return self.type_from_ast(inner)
                except TypeErr as e:
                    raise TypeErr(e.msg, node) from None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return union(self.type_from_ast(node.left), self.type_from_ast(node.right))
        if isinstance(node, ast.Name):
            if node.id in PRIMS and node.id not in self.globals:
                return PRIMS[node.id]
            kind, obj = self.lookup(node.id)
            if kind == "live":
                try:
                    return self.type_from_py(obj)
                except TypeErr as e:
                    raise TypeErr(e.msg, node) from None
            if kind == "later" and isinstance(obj, ast.ClassDef):
                return self.dataclass_from_ast(obj, node)
            if node.id in ("list", "dict"):
                raise TypeErr(f"{node.id} needs its element type{'s' if node.id == 'dict' else ''}, "
                              f"e.g. {'list[int]' if node.id == 'list' else 'dict[str, int]'}", node)
            raise TypeErr(f"unknown type {node.id}; {TYPE_HELP}", node)
        if isinstance(node, ast.Attribute):
            obj = self.attr_object(node)
            if obj is not None:
                try:
                    return self.type_from_py(obj)
                except TypeErr as e:
                    raise TypeErr(e.msg, node) from None
        if isinstance(node, ast.Subscript):
            base = node.value
            args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            bname = base.id if isinstance(base, ast.Name) else None
            if bname == "list" and "list" not in self.globals:
                if len(args) != 1:
                    raise TypeErr("list takes one type argument, e.g. list[int]", node)
                return ListT(self.type_from_ast(args[0]))
            if bname == "dict" and "dict" not in self.globals:
                if len(args) != 2:
                    raise TypeErr("dict takes two type arguments, e.g. dict[str, int]", node)
                k = self.type_from_ast(args[0])
                if k not in (INT, STR, BOOL):
                    raise TypeErr(f"dict keys must be int, str or bool, not {k}", node)
                return DictT(k, self.type_from_ast(args[1]))
            obj = self.attr_object(base) if isinstance(base, ast.Attribute) else (
                self.globals.get(bname) if bname else None)
            if obj is Queue:
                if len(args) != 1:
                    raise TypeErr("dpslio.Queue takes one type argument, e.g. dpslio.Queue[int]", node)
                return HandleT("Queue", self.type_from_ast(args[0]))
            if obj is not None and all(isinstance(n, (ast.Name, ast.Attribute, ast.Subscript, ast.Tuple,
                                                      ast.Constant, ast.BinOp, ast.BitOr, ast.Load,
                                                      ast.expr_context))
                                       for n in ast.walk(node)):
                # typing.Optional[int], List[int], an alias...: evaluate it the way Python
                # evaluates annotations (names and subscripts only, no calls)
                try:
                    value = eval(compile(ast.Expression(node), "<annotation>", "eval"), self.globals)  # noqa: S307
                except Exception:
                    value = None
                if value is not None:
                    try:
                        return self.type_from_py(value)
                    except TypeErr as e:
                        raise TypeErr(e.msg, node) from None
        raise TypeErr(f"unsupported type annotation {ast.unparse(node)}; {TYPE_HELP}", node)

    def attr_object(self, node: ast.expr) -> Any:
        """The live object a dotted name (``dpslio.Queue``) names, or None."""
        if isinstance(node, ast.Name):
            return self.globals.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.attr_object(node.value)
            if isinstance(base, pytypes.ModuleType):
                return getattr(base, node.attr, None)
        return None

    def type_from_py(self, obj: Any) -> Type:
        if obj is None:
            return NONE
        if isinstance(obj, str):
            return self.type_from_ast(ast.Constant(obj))
        if isinstance(obj, type) and obj in PY_PRIMS:
            return PY_PRIMS[obj]
        if obj is DSError:
            return ERROR
        if obj is Lock:
            return HandleT("Lock")
        if obj is WaitGroup:
            return HandleT("WaitGroup")
        if obj is Queue:
            raise TypeErr("dpslio.Queue needs its element type, e.g. dpslio.Queue[int]")
        origin = typing.get_origin(obj)
        args = typing.get_args(obj)
        if origin is list and len(args) == 1:
            return ListT(self.type_from_py(args[0]))
        if origin is dict and len(args) == 2:
            return DictT(self.type_from_py(args[0]), self.type_from_py(args[1]))
        if origin in (pytypes.UnionType, typing.Union):
            return union(*(self.type_from_py(a) for a in args))
        if origin is Queue and len(args) == 1:
            return HandleT("Queue", self.type_from_py(args[0]))
        if isinstance(obj, type) and dataclasses.is_dataclass(obj):
            return self.dataclass_from_class(obj)
        name = getattr(obj, "__name__", None) or repr(obj)
        raise TypeErr(f"unsupported type {name}; {TYPE_HELP}")

    def dataclass_from_class(self, cls: type) -> DataclassT:
        ref = ref_of(cls)
        known = self._dataclasses.get(ref)
        if known is not None and known.cls in (None, cls):
            if known.cls is None:   # first met in the AST, before the class existed
                object.__setattr__(known, "cls", cls)
                LIVE[ref] = cls
            return known
        t = DataclassT(ref, cls.__name__, [], cls)
        self._dataclasses[ref] = t
        LIVE[t.ref] = cls
        mod = inspect.getmodule(cls)
        env = self if mod is None or mod.__dict__ is self.globals else module_env_for(mod)
        defaults = self.field_defaults.setdefault(t.ref, {})
        for f in dataclasses.fields(cls):
            t.fields.append((f.name, env.type_from_py(f.type)))
            if f.default is not dataclasses.MISSING and type(f.default) in CONST_TYPES:
                defaults[f.name] = f.default
        return t

    def dataclass_from_ast(self, node: ast.ClassDef, use: ast.AST) -> DataclassT:
        ref = f"{self.module}:{node.name}"
        if ref in self._dataclasses:
            return self._dataclasses[ref]
        if not any(_decorator_name(d) == "dataclass" for d in node.decorator_list):
            raise TypeErr(f"{node.name} is not a @dataclass; only dataclasses can be used in flows", use)
        t = DataclassT(ref, node.name, [])
        self._dataclasses[ref] = t
        defaults = self.field_defaults.setdefault(ref, {})
        for stmt in node.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                t.fields.append((stmt.target.id, self.type_from_ast(stmt.annotation)))
                if isinstance(stmt.value, ast.Constant) and type(stmt.value.value) in CONST_TYPES:
                    defaults[stmt.target.id] = stmt.value.value
        return t

    # -- signatures ------------------------------------------------------------
    def sig_from_function(self, fn: Any, kind: str) -> Sig:
        if isinstance(fn, CompiledFlow):
            return fn.sig
        m = marker(fn) or {}
        mod = inspect.getmodule(fn)
        env = self if mod is None or mod.__dict__ is self.globals else module_env_for(mod)
        if kind == "pure" and inspect.iscoroutinefunction(fn):
            raise TypeErr(f"pure function {fn.__name__} is async; pure functions run inline and must be "
                          "plain def (make it @impure to await things)")
        ann = inspect.get_annotations(fn)
        params = []
        defaults: dict = {}
        for p in inspect.signature(fn).parameters.values():
            if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                raise TypeErr(f"{kind} function {fn.__name__} has *args, **kwargs or keyword-only "
                              "parameters, which flows cannot call")
            if p.name not in ann:
                raise TypeErr(f"parameter {p.name} of {kind} function {fn.__name__} needs a type annotation")
            params.append((p.name, env.type_from_py(ann[p.name])))
            if p.default is not p.empty and type(p.default) in CONST_TYPES:
                defaults[p.name] = p.default
        if "return" not in ann:
            raise TypeErr(f"{kind} function {fn.__name__} needs a return annotation (-> None if it returns nothing)")
        ref = ref_of(fn)
        LIVE[ref] = fn
        return Sig(kind, fn.__name__, ref, params, env.type_from_py(ann["return"]), fn,
                   (m.get("retries", 0), m.get("backoff", DEFAULT_POLICY[1]), m.get("timeout", 0.0)), defaults=defaults)

    def sig_from_ast(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> Sig | None:
        kind = policy = None
        for d in node.decorator_list:
            name = _decorator_name(d)
            if name in ("flow", "pure", "impure"):
                kind = name
                if isinstance(d, ast.Call):
                    kw = {k.arg: k.value.value for k in d.keywords if isinstance(k.value, ast.Constant)}
                    policy = (kw.get("retries", 0), kw.get("backoff", DEFAULT_POLICY[1]), kw.get("timeout", 0.0))
        if kind is None:
            return None
        if kind == "pure" and isinstance(node, ast.AsyncFunctionDef):
            raise TypeErr(f"pure function {node.name} is async; pure functions run inline and must be "
                          "plain def (make it @impure to await things)")
        params = []
        a = node.args
        plist = a.posonlyargs + a.args
        defaults = {p.arg: d.value for p, d in zip(plist[len(plist) - len(a.defaults):], a.defaults)
                    if isinstance(d, ast.Constant) and type(d.value) in CONST_TYPES}
        for p in plist:
            if p.annotation is None:
                raise TypeErr(f"parameter {p.arg} of {kind} function {node.name} needs a type annotation")
            params.append((p.arg, self.type_from_ast(p.annotation)))
        if node.returns is None and kind != "flow":
            raise TypeErr(f"{kind} function {node.name} needs a return annotation (-> None if it returns nothing)")
        if node.returns is None and any(isinstance(n, ast.Return) and n.value is not None for n in ast.walk(node)):
            raise TypeErr(f"flow {node.name} returns a value but has no return annotation; annotate it "
                          f"(async def {node.name}(...) -> T) to call it from a flow defined above it")
        returns = NONE if node.returns is None else self.type_from_ast(node.returns)
        return Sig(kind, node.name, f"{self.module}:{node.name}", params, returns, None,
                   policy or DEFAULT_POLICY, self, defaults if kind != "flow" else {})


def _decorator_name(d: ast.expr) -> str | None:
    if isinstance(d, ast.Call):
        d = d.func
    if isinstance(d, ast.Name):
        return d.id
    if isinstance(d, ast.Attribute):
        return d.attr
    return None


# Flows keep their ModuleEnv alive; the table only finds it again for the next flow
# of the same module (module dicts cannot be weakly referenced, envs can).
_ENVS: "weakref.WeakValueDictionary[int, ModuleEnv]" = weakref.WeakValueDictionary()


def module_env_for(mod: pytypes.ModuleType | None, globals_: dict | None = None,
                   filename: str | None = None) -> ModuleEnv:
    g = globals_ if globals_ is not None else mod.__dict__  # type: ignore[union-attr]
    env = _ENVS.get(id(g))
    if env is None or env.globals is not g:
        env = ModuleEnv(g.get("__name__", "__main__"), g, filename or g.get("__file__") or "<unknown>")
        _ENVS[id(g)] = env
    return env


__all__ = ["ModuleEnv", "Sig", "FlowRef", "CompiledFlow", "TypeErr", "DEFAULT_POLICY", "module_env_for",
           "marker", "ref_of", "PRIMS", "_builtins", "dpslio"]
