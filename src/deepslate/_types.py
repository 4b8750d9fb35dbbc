"""Static types of the flow language, and checking Python values against them.

The compiler builds these from annotations; the runtime uses ``check_value``
on spawn arguments and ``from_json`` for ``json_unmarshal[T]``; programs carry
them in serialized form (``str(t)`` round-trips through ``parse_type_str``
given the dataclass table).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ._values import DSError, Lock, Queue, WaitGroup


class Type:
    __slots__ = ()
    # which register file a value of this type lives in: "I", "F" or "O"
    file = "O"


@dataclass(frozen=True, slots=True)
class Prim(Type):
    name: str   # "int" | "bool" | "float" | "str" | "bytes" | "None"

    @property
    def file(self) -> str:  # type: ignore[override]
        return {"int": "I", "bool": "I", "float": "F"}.get(self.name, "O")

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class ListT(Type):
    elem: Type

    def __str__(self) -> str:
        return f"list[{self.elem}]"


@dataclass(frozen=True, slots=True)
class DictT(Type):
    key: Type
    value: Type

    def __str__(self) -> str:
        return f"dict[{self.key}, {self.value}]"


@dataclass(frozen=True, slots=True)
class ErrorT(Type):
    """DSError."""

    def __str__(self) -> str:
        return "DSError"


@dataclass(frozen=True, slots=True)
class HandleT(Type):
    kind: str                   # "Queue" | "Lock" | "WaitGroup"
    elem: Type | None = None    # Queue element type

    def __str__(self) -> str:
        return f"dpslio.Queue[{self.elem}]" if self.kind == "Queue" else f"dpslio.{self.kind}"


@dataclass(frozen=True, slots=True)
class UnionT(Type):
    members: tuple[Type, ...]   # flattened, no duplicates, order as written

    def __str__(self) -> str:
        return " | ".join(str(m) for m in self.members)


@dataclass(frozen=True, eq=False, slots=True)
class DataclassT(Type):
    """A user @dataclass. Identity is its ref; fields are filled after creation
    (dataclasses may refer to each other)."""
    ref: str                                    # "module:qualname"
    name: str
    fields: list[Any] = None  # type: ignore[assignment]  # [(name, Type)], set by the compiler
    cls: Any = None                             # the Python class, bound at link time

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DataclassT) and other.ref == self.ref

    def __hash__(self) -> int:
        return hash(self.ref)

    def __str__(self) -> str:
        return self.name


INT, BOOL, FLOAT, STR, BYTES, NONE = (Prim(n) for n in ("int", "bool", "float", "str", "bytes", "None"))
ERROR = ErrorT()


def union(*types: Type) -> Type:
    out: list[Type] = []
    for t in types:
        for m in (t.members if isinstance(t, UnionT) else (t,)):
            if m not in out:
                out.append(m)
    return out[0] if len(out) == 1 else UnionT(tuple(out))


def handle_in(t: Type, seen: set[str] | None = None) -> HandleT | None:
    """The first queue, lock or wait-group type inside ``t`` (lists, dicts, unions, dataclass fields)."""
    if isinstance(t, HandleT):
        return t
    if isinstance(t, ListT):
        return handle_in(t.elem, seen)
    if isinstance(t, DictT):
        return handle_in(t.key, seen) or handle_in(t.value, seen)
    if isinstance(t, UnionT):
        for m in t.members:
            h = handle_in(m, seen)
            if h is not None:
                return h
    if isinstance(t, DataclassT):
        seen = seen if seen is not None else set()
        if t.ref in seen:
            return None
        seen.add(t.ref)
        for _, ft in t.fields or ():
            h = handle_in(ft, seen)
            if h is not None:
                return h
    return None


def collect_dataclasses(t: Type | None, out: dict[str, DataclassT]) -> None:
    """Add to ``out``, by ref, every dataclass type inside ``t`` (fields included)."""
    if isinstance(t, DataclassT):
        if t.ref not in out:
            out[t.ref] = t
            for _, ft in t.fields or ():
                collect_dataclasses(ft, out)
    elif isinstance(t, ListT):
        collect_dataclasses(t.elem, out)
    elif isinstance(t, DictT):
        collect_dataclasses(t.key, out)
        collect_dataclasses(t.value, out)
    elif isinstance(t, UnionT):
        for m in t.members:
            collect_dataclasses(m, out)
    elif isinstance(t, HandleT) and t.elem is not None:
        collect_dataclasses(t.elem, out)


# the Python class of each primitive and handle type's values (a float parameter also takes an int)
PRIM_CLASSES: dict[str, type] = {"int": int, "bool": bool, "float": float, "str": str, "bytes": bytes,
                                 "None": type(None)}
HANDLE_CLASSES: dict[str, type] = {"Queue": Queue, "Lock": Lock, "WaitGroup": WaitGroup}


def _pytype_name(v: Any) -> str:
    if v is None:
        return "None"
    return type(v).__name__


def check_value(t: Type, v: Any, path: str = "$") -> str | None:
    """None if ``v`` is a value of type ``t``; else a message naming the path."""
    if isinstance(t, Prim):
        ok = type(v) is PRIM_CLASSES[t.name] or (t.name == "float" and type(v) is int)
        return None if ok else f"{path}: expected {t}, got {_pytype_name(v)}"
    if isinstance(t, ListT):
        if type(v) is not list:
            return f"{path}: expected {t}, got {_pytype_name(v)}"
        for i, x in enumerate(v):
            err = check_value(t.elem, x, f"{path}[{i}]")
            if err:
                return err
        return None
    if isinstance(t, DictT):
        if type(v) is not dict:
            return f"{path}: expected {t}, got {_pytype_name(v)}"
        for k, x in v.items():
            err = check_value(t.key, k, f"{path}.<key>") or check_value(t.value, x, f"{path}[{k!r}]")
            if err:
                return err
        return None
    if isinstance(t, ErrorT):
        return None if type(v) is DSError else f"{path}: expected DSError, got {_pytype_name(v)}"
    if isinstance(t, HandleT):
        return None if type(v) is HANDLE_CLASSES[t.kind] else f"{path}: expected {t}, got {_pytype_name(v)}"
    if isinstance(t, UnionT):
        errs = [check_value(m, v, path) for m in t.members]
        return None if any(e is None for e in errs) else f"{path}: expected {t}, got {_pytype_name(v)}"
    if isinstance(t, DataclassT):
        if t.cls is None or type(v) is not t.cls:
            return f"{path}: expected {t}, got {_pytype_name(v)}"
        for name, ft in t.fields or ():
            err = check_value(ft, getattr(v, name), f"{path}.{name}")
            if err:
                return err
        return None
    raise TypeError(f"unknown type {t!r}")


# JSON has no NaN or infinity: they travel as these strings (JavaScript's names), and a
# float read from JSON takes them back
NONFINITE_NAMES = ("NaN", "Infinity", "-Infinity")
NONFINITE = dict(zip(NONFINITE_NAMES, (math.nan, math.inf, -math.inf)))


def from_json(t: Type, obj: Any, path: str = "$") -> Any:
    """Convert decoded JSON ``obj`` to a value of ``t``; ValueError names the path
    (``$[2]: expected int, got str``)."""
    def fail(want: Any) -> ValueError:
        got = {dict: "object", list: "array", str: "str", bool: "bool", int: "int",
               float: "float", type(None): "null"}.get(type(obj), type(obj).__name__)
        return ValueError(f"{path}: expected {want}, got {got}")

    if isinstance(t, Prim):
        if t.name == "int" and type(obj) is int:
            return obj
        if t.name == "float" and type(obj) in (int, float):
            try:
                return float(obj)
            except OverflowError:
                raise ValueError(f"{path}: an int of {obj.bit_length()} bits is too large for a float") from None
        if t.name == "float" and type(obj) is str and obj in NONFINITE:
            return NONFINITE[obj]
        if t.name == "bool" and type(obj) is bool:
            return obj
        if t.name == "str" and type(obj) is str:
            return obj
        if t.name == "None" and obj is None:
            return None
        if t.name == "bytes" and type(obj) is str:
            return obj.encode()
        raise fail(t)
    if isinstance(t, ListT):
        if type(obj) is not list:
            raise fail(t)
        return [from_json(t.elem, x, f"{path}[{i}]") for i, x in enumerate(obj)]
    if isinstance(t, DictT):
        if type(obj) is not dict:
            raise fail(t)
        out = {}
        for k, x in obj.items():
            key: Any = k
            if t.key == INT:
                try:
                    key = int(k)
                except ValueError:
                    raise ValueError(f"{path}.{k}: expected int key, got str") from None
            elif t.key != STR:
                raise ValueError(f"{path}: dict keys of type {t.key} cannot come from JSON")
            out[key] = from_json(t.value, x, f"{path}.{k}")
        return out
    if isinstance(t, DataclassT):
        if type(obj) is not dict:
            raise fail(t)
        kwargs = {}
        for name, ft in t.fields or ():
            if name not in obj:
                raise ValueError(f"{path}.{name}: missing field of {t}")
            kwargs[name] = from_json(ft, obj[name], f"{path}.{name}")
        extra = set(obj) - {n for n, _ in t.fields or ()}
        if extra:
            raise ValueError(f"{path}: unknown field {sorted(extra)[0]!r} for {t}")
        return t.cls(**kwargs)
    if isinstance(t, UnionT):
        errors = []
        for m in t.members:
            if isinstance(m, ErrorT):
                continue
            try:
                return from_json(m, obj, path)
            except ValueError as e:
                errors.append(str(e))
        raise ValueError(errors[0] if errors else f"{path}: cannot decode {t} from JSON")
    raise ValueError(f"{path}: values of type {t} cannot come from JSON")


def to_jsonable(v: Any) -> Any:
    """A JSON-ready copy of a flow value (for json_marshal and the inspector)."""
    if v is None or type(v) in (bool, int, str):
        return v
    if type(v) is float:
        return v if math.isfinite(v) else NONFINITE_NAMES[0 if v != v else 1 if v > 0 else 2]
    if type(v) is bytes:
        return v.decode("utf-8", "backslashreplace")
    if type(v) is list or type(v) is tuple:
        return [to_jsonable(x) for x in v]
    if type(v) is dict:
        return {str(k) if not isinstance(k, str) else k: to_jsonable(x) for k, x in v.items()}
    if type(v) is DSError:
        if v.code:
            return {"error": v.message, "kind": v.kind, "code": v.code}
        return {"error": v.message, "kind": v.kind}
    if isinstance(v, (Queue, Lock, WaitGroup)):
        return {type(v).__name__.lower(): v.id}
    fields = getattr(type(v), "__dataclass_fields__", None)
    if fields is not None:
        return {name: to_jsonable(getattr(v, name)) for name in fields}
    return repr(v)
