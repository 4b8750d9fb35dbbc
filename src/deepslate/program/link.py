"""Binding a program to the Python objects it names.

A program names every callable and class by ref ("module:qualname" or "builtin:name");
``link`` binds ``CallTarget.fn``, ``EffectSpec.fn`` (impure), ``TypeTest.check`` and
``DataclassT.cls`` by importing the ref's module, so a program read from the store runs
in a process that never compiled it. Only running needs this: reading a program for
display (``names``, ``dis``) works on the unlinked one.
"""
from __future__ import annotations

import functools
import importlib
import sys
from typing import Any, Callable

from .. import _builtins
from .._types import (HANDLE_CLASSES, PRIM_CLASSES, DataclassT, DictT, ErrorT, HandleT, ListT, Prim, Type, UnionT,
                      collect_dataclasses)
from .._values import DSError
from .model import CallTarget, EffectSpec, Program, TypeTest

# Functions and classes the compiler met, by ref, so a program built in this process links
# even when one is not importable by name (a class defined inside a function).
LIVE: dict[str, Any] = {}


class LinkError(ImportError):
    """A program names a Python callable or class that cannot be found."""


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
        found: dict[str, DataclassT] = {}
        collect_dataclasses(t, found)
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
