"""``deepslate check MODULE_OR_FILE`` and ``deepslate dis MODULE_OR_FILE:FLOW``."""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
import types
from typing import Any

from ..program.dis import dis
from .errors import CompileError
from .flow import Flow, collect_errors


class _LoadError(Exception):
    pass


def load(target: str) -> types.ModuleType:
    """Import a module by name, or a .py file by path (its directory goes on sys.path)."""
    if target.endswith(".py") or os.sep in target or os.path.exists(target):
        path = os.path.abspath(target)
        if not os.path.isfile(path):
            raise _LoadError(f"{target}: no such file")
        name = os.path.splitext(os.path.basename(path))[0]
        sys.path.insert(0, os.path.dirname(path))
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise _LoadError(f"{target}: cannot load this file as a Python module")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
        return mod
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as e:
        if e.name == target or (e.name and target.startswith(e.name + ".")):
            raise _LoadError(f"{target}: no such module or file") from None
        raise


def _flows(mod: types.ModuleType) -> list[Flow[..., Any]]:
    out = [v for v in vars(mod).values() if isinstance(v, Flow) and v.__module__ == mod.__name__]
    return sorted(out, key=lambda f: f.fn.__code__.co_firstlineno)


def run_check(args: argparse.Namespace) -> int:
    with collect_errors() as errors:
        try:
            mod = load(args.target)
        except _LoadError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        except CompileError as e:
            errors.append(e)
            mod = None
        except SyntaxError as e:
            print(f"{e.filename}:{e.lineno}:{e.offset or 1}: {e.msg}", file=sys.stderr)
            return 1
        except Exception as e:  # the module itself failed at import
            print(f"error: importing {args.target} failed: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
    flows = _flows(mod) if mod is not None else []
    problems = [str(e) for e in errors]
    for f in flows:
        if f.errors:
            continue
        try:
            f.program   # links the flows it calls, which may be missing
        except CompileError as e:   # a flow it calls did not compile: reported once already
            problems.extend(str(x) for x in e.errors if str(x) not in problems)
        except (RuntimeError, ImportError) as e:
            problems.append(f"{f.fn.__code__.co_filename}:{f.fn.__code__.co_firstlineno}:1: {e}")
    for p in problems:
        print(p)
    sys.stdout.flush()
    if problems:
        print(f"{len(problems)} error{'s' if len(problems) != 1 else ''} in {args.target}", file=sys.stderr)
        return 1
    print(f"ok: {len(flows)} flow{'s' if len(flows) != 1 else ''} in {args.target}")
    return 0


def run_dis(args: argparse.Namespace) -> int:
    target, sep, name = args.target.rpartition(":")
    if not sep or not target or not name:
        print(f"error: expected MODULE_OR_FILE:FLOW, got {args.target!r}", file=sys.stderr)
        return 2
    try:
        mod = load(target)
    except _LoadError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except CompileError as e:
        print(str(e), file=sys.stderr)
        return 1
    obj = getattr(mod, name, None)
    if not isinstance(obj, Flow):
        known = ", ".join(f.name for f in _flows(mod)) or "none"
        print(f"error: {target} has no flow named {name} (flows: {known})", file=sys.stderr)
        return 1
    try:
        print(dis(obj, source=not args.no_source), end="")
    except (CompileError, RuntimeError, ImportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


def add_check(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="MODULE_OR_FILE", help="a module name or a .py file")
    parser.set_defaults(run=run_check)


def add_dis(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="MODULE_OR_FILE:FLOW", help="e.g. app.flows:checkout")
    parser.add_argument("--no-source", action="store_true", help="omit the source lines")
    parser.set_defaults(run=run_dis)
