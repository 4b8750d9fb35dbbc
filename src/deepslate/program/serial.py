"""Programs as bytes: what the store keeps and what ``Program.hash`` is taken over.

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

Callables never appear: ``link.link`` binds them by ref once the program is read.
"""
from __future__ import annotations

import hashlib
from array import array
from typing import Any

import orjson

from .._types import ERROR, DataclassT, DictT, ErrorT, HandleT, ListT, Prim, Type, UnionT
from .model import CallTarget, Code, EffectSpec, LocalVar, Program, TypeTest

FORMAT = 1


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
def _code_to_json(c: Code) -> dict[str, Any]:
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
