"""Programs as bytes, and binding them to Python callables.

``program_to_bytes`` is canonical (sorted keys, no whitespace, floats by
``float.hex``) so equal programs give equal bytes and ``Program.hash`` is the
SHA-256 of those bytes. Grammar (JSON via orjson)::

    program = {"v": 1, "entry": int, "types": [dataclass], "codes": [code]}
    dataclass = {"ref": "mod:qualname", "name": str, "fields": [[name, type]]}
    code    = {"name", "ref", "filename", "firstlineno", "source", "params": [[name, type]],
               "returns": type, "insns": [int], "positions": [int], "consts": [const],
               "n_o", "n_i", "n_f", "locals": [[name, file, reg, type, start_pc, end_pc]]}
    type    = ["int"|"bool"|"float"|"str"|"bytes"|"None"] | ["list", type] | ["dict", type, type]
            | ["DSError"] | ["handle", kind, type|null] | ["union", [type]] | ["dc", ref]
    const   = ["n"] | ["b", 0|1] | ["i", decimal str] | ["f", hex str] | ["s", str] | ["y", hex str]
            | ["S", hex of the UTF-8 (surrogatepass) of a str with a lone surrogate]
            | ["call", kind, ref, nargs, type|null] | ["effect", kind, nargs, [const]]
            | ["test", type]

Callables never appear: ``link`` binds ``CallTarget.fn``, ``EffectSpec.fn``
(impure), ``TypeTest.check`` and ``DataclassT.cls`` by ref.
"""
from __future__ import annotations

import functools
import hashlib
import importlib
import sys
from array import array
from typing import Any, Callable

import orjson

from .. import _builtins
from .._program import CallTarget, Code, EffectSpec, LocalVar, Program, TypeTest
from .._types import (ERROR, HANDLE_CLASSES, PRIM_CLASSES, DataclassT, DictT, ErrorT, HandleT, ListT, Prim, Type,
                      UnionT)
from .._values import DSError
from .env import LIVE

FORMAT = 1


class LinkError(ImportError):
    """A program names a Python callable or class that cannot be found."""


# -- types ------------------------------------------------------------------------
def type_to_json(t: Type | None) -> Any:
    if t is None:
        return None
    if isinstance(t, Prim):
        return [t.name]
    if isinstance(t, ListT):
        return ["list", type_to_json(t.elem)]
    if isinstance(t, DictT):
        return ["dict", type_to_json(t.key), type_to_json(t.value)]
    if isinstance(t, ErrorT):
        return ["DSError"]
    if isinstance(t, HandleT):
        return ["handle", t.kind, type_to_json(t.elem)]
    if isinstance(t, UnionT):
        return ["union", [type_to_json(m) for m in t.members]]
    if isinstance(t, DataclassT):
        return ["dc", t.ref]
    raise TypeError(f"cannot serialize type {t!r}")


def type_from_json(j: Any, dcs: dict[str, DataclassT]) -> Type | None:
    if j is None:
        return None
    tag = j[0]
    if tag in ("int", "bool", "float", "str", "bytes", "None"):
        return Prim(tag)
    if tag == "list":
        return ListT(type_from_json(j[1], dcs))  # type: ignore[arg-type]
    if tag == "dict":
        return DictT(type_from_json(j[1], dcs), type_from_json(j[2], dcs))  # type: ignore[arg-type]
    if tag == "DSError":
        return ERROR
    if tag == "handle":
        return HandleT(j[1], type_from_json(j[2], dcs))
    if tag == "union":
        return UnionT(tuple(type_from_json(m, dcs) for m in j[1]))  # type: ignore[misc]
    if tag == "dc":
        if j[1] not in dcs:
            raise ValueError(f"program refers to dataclass {j[1]} missing from its type table")
        return dcs[j[1]]
    raise ValueError(f"unknown type tag {tag!r}")


# -- constants ----------------------------------------------------------------------
def const_to_json(k: Any) -> Any:
    if k is None:
        return ["n"]
    if type(k) is bool:
        return ["b", int(k)]
    if type(k) is int:
        return ["i", str(k)]
    if type(k) is float:
        return ["f", k.hex()]
    if type(k) is str:
        try:
            k.encode("utf-8")
        except UnicodeEncodeError:   # JSON text cannot carry a lone surrogate
            return ["S", k.encode("utf-8", "surrogatepass").hex()]
        return ["s", k]
    if type(k) is bytes:
        return ["y", k.hex()]
    if isinstance(k, CallTarget):
        return ["call", k.kind, k.ref, k.nargs, type_to_json(k.type)]
    if isinstance(k, EffectSpec):
        return ["effect", k.kind, k.nargs, [const_to_json(x) for x in k.extra]]
    if isinstance(k, TypeTest):
        return ["test", type_to_json(k.type)]
    raise TypeError(f"constant {k!r} cannot be serialized (unresolved flow reference?)")


def const_from_json(j: Any, dcs: dict[str, DataclassT]) -> Any:
    tag = j[0]
    if tag == "n":
        return None
    if tag == "b":
        return bool(j[1])
    if tag == "i":
        return int(j[1])
    if tag == "f":
        return float.fromhex(j[1])
    if tag == "s":
        return j[1]
    if tag == "S":
        return bytes.fromhex(j[1]).decode("utf-8", "surrogatepass")
    if tag == "y":
        return bytes.fromhex(j[1])
    if tag == "call":
        return CallTarget(j[1], j[2], j[3], type_from_json(j[4], dcs))
    if tag == "effect":
        return EffectSpec(j[1], j[2], tuple(const_from_json(x, dcs) for x in j[3]))
    if tag == "test":
        return TypeTest(type_from_json(j[1], dcs))
    raise ValueError(f"unknown constant tag {tag!r}")


# -- programs -------------------------------------------------------------------------
def _code_to_json(c: Code) -> dict:
    return {
        "name": c.name, "ref": c.ref, "filename": c.filename, "firstlineno": c.firstlineno,
        "source": c.source, "params": [[n, type_to_json(t)] for n, t in c.params],
        "returns": type_to_json(c.returns), "insns": c.insns.tolist(), "positions": c.positions.tolist(),
        "consts": [const_to_json(k) for k in c.consts], "n_o": c.n_o, "n_i": c.n_i, "n_f": c.n_f,
        "locals": [[v.name, v.file, v.reg, type_to_json(v.type), v.start_pc, v.end_pc] for v in c.locals],
    }


def program_to_bytes(p: Program) -> bytes:
    doc = {
        "v": FORMAT, "entry": p.entry,
        "types": [{"ref": t.ref, "name": t.name, "fields": [[n, type_to_json(ft)] for n, ft in t.fields or ()]}
                  for t in p.types],
        "codes": [_code_to_json(c) for c in p.codes],
    }
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


def program_from_bytes(data: bytes) -> Program:
    """An unlinked Program (call ``link`` before running it)."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise ValueError(f"not a serialized program: {e}") from None
    if not isinstance(doc, dict) or doc.get("v") != FORMAT:
        got = doc.get("v") if isinstance(doc, dict) else type(doc).__name__
        raise ValueError(f"unsupported program format: got {got!r}, want {FORMAT}")
    dcs = {t["ref"]: DataclassT(t["ref"], t["name"], []) for t in doc["types"]}
    for t in doc["types"]:
        dcs[t["ref"]].fields.extend((n, type_from_json(ft, dcs)) for n, ft in t["fields"])
    codes = []
    for c in doc["codes"]:
        codes.append(Code(
            name=c["name"], ref=c["ref"], filename=c["filename"], firstlineno=c["firstlineno"],
            source=c["source"], params=tuple((n, type_from_json(t, dcs)) for n, t in c["params"]),
            returns=type_from_json(c["returns"], dcs), insns=array("i", c["insns"]),
            positions=array("i", c["positions"]),
            consts=tuple(const_from_json(k, dcs) for k in c["consts"]),
            n_o=c["n_o"], n_i=c["n_i"], n_f=c["n_f"],
            locals=tuple(LocalVar(n, f, r, type_from_json(t, dcs), s, e)
                         for n, f, r, t, s, e in c["locals"])))
    p = Program(codes, doc["entry"], [dcs[r] for r in sorted(dcs)])
    p.hash = hashlib.sha256(data).digest()
    return p


def program_hash(p: Program) -> bytes:
    return hashlib.sha256(program_to_bytes(p)).digest()


# -- linking ---------------------------------------------------------------------------
def resolve_ref(ref: str) -> Any:
    """The object ``module:qualname`` names (compiled in this process, or imported)."""
    if ref in LIVE:
        return LIVE[ref]
    mod_name, _, qualname = ref.partition(":")
    try:
        obj: Any = sys.modules.get(mod_name) or importlib.import_module(mod_name)
    except ImportError as e:
        raise LinkError(f"cannot link {ref}: module {mod_name} cannot be imported ({e})") from None
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise LinkError(f"cannot link {ref}: {mod_name} has no {qualname}")
    return getattr(obj, "__wrapped__", obj) if not hasattr(obj, "__deepslate__") else obj


def type_check(t: Type) -> Callable[[Any], bool]:
    """A shallow runtime test: which member of a union a value belongs to."""
    if isinstance(t, Prim):
        if t.name == "int":     # bool is a kind of int, as isinstance(True, int) says
            return lambda v: type(v) is int or type(v) is bool
        cls = PRIM_CLASSES[t.name]
        return lambda v: type(v) is cls
    if isinstance(t, ListT):
        return lambda v: type(v) is list
    if isinstance(t, DictT):
        return lambda v: type(v) is dict
    if isinstance(t, ErrorT):
        return lambda v: type(v) is DSError
    if isinstance(t, HandleT):
        hcls = HANDLE_CLASSES[t.kind]
        return lambda v: type(v) is hcls
    if isinstance(t, DataclassT):
        return lambda v: type(v) is t.cls
    if isinstance(t, UnionT):   # isinstance(x, (int, str))
        checks = [type_check(m) for m in t.members]
        return lambda v: any(c(v) for c in checks)
    raise TypeError(f"no runtime test for {t}")


def link(p: Program) -> Program:
    """Bind every callable and class the program names; LinkError names a missing ref."""
    for t in p.types:
        if t.cls is None:
            cls = resolve_ref(t.ref)
            object.__setattr__(t, "cls", cls)
    by_ref = {t.ref: t for t in p.types}

    def bind_types(t: Any) -> None:
        from .flow import walk_types  # noqa: PLC0415
        found: dict[str, DataclassT] = {}
        walk_types(t, found)
        for ref, dt in found.items():
            if dt.cls is None:
                object.__setattr__(dt, "cls", by_ref[ref].cls if ref in by_ref else resolve_ref(ref))

    for c in p.codes:
        for _, t in c.params:
            bind_types(t)
        bind_types(c.returns)
        for k in c.consts:
            if isinstance(k, CallTarget) and k.fn is None:
                if k.kind == "builtin":
                    name = k.ref.partition(":")[2]
                    if name not in _builtins.BUILTINS:
                        raise LinkError(f"cannot link {k.ref}: no such builtin")
                    fn = _builtins.BUILTINS[name]
                    if name == "json_unmarshal":
                        bind_types(k.type)
                        fn = functools.partial(fn, k.type)
                    k.fn = fn
                else:
                    k.fn = resolve_ref(k.ref)
                    if k.kind == "dataclass" and k.ref in by_ref and by_ref[k.ref].cls is None:
                        object.__setattr__(by_ref[k.ref], "cls", k.fn)
            elif isinstance(k, EffectSpec) and k.kind == "impure" and k.fn is None:
                k.fn = resolve_ref(k.extra[0])
            elif isinstance(k, TypeTest) and k.check is None:
                bind_types(k.type)
                k.check = type_check(k.type)
    return p
