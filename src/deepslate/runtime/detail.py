"""One isolate as the inspector, ``deepslate show`` and the JSON API describe it.

Everything here is read from the store alone: the program's own tables (local names and
types per register, line table, each flow's source text) name the snapshot's registers,
and values are decoded for display without importing the user's modules. So any process
can inspect any store, including isolates of flows defined in a ``__main__`` script.
"""
from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

from .. import _vm
from .._program import Program
from ..store.base import IsolateRow

_PROGRAMS_KEPT = 64
_programs: "OrderedDict[bytes, Program | None]" = OrderedDict()   # content-addressed: any store's


def read_program(store: Any, h: bytes) -> Program | None:
    """The unlinked program stored under ``h`` (None if absent or unreadable); parsed once."""
    if h in _programs:
        _programs.move_to_end(h)
        return _programs[h]
    from ..compiler.serial import program_from_bytes
    body = store.get_program(h)
    try:
        p = program_from_bytes(body) if body is not None else None
    except (ValueError, KeyError, TypeError, IndexError):
        p = None
    _programs[h] = p
    if len(_programs) > _PROGRAMS_KEPT:
        _programs.popitem(last=False)
    return p


def _type_name(t: Any) -> str:
    return str(t) if t is not None else "?"


def name_frames(program: Program | None, snapshot: bytes) -> list[dict[str, Any]]:
    """The snapshot's frames, outermost first: ``{function, filename, line, col, locals, types}``
    with locals by source name as JSON values. Without the program (or when it does not match
    the snapshot) each frame shows its raw registers under ``registers`` instead."""
    info = _vm.inspect_snapshot(snapshot)
    out: list[dict[str, Any]] = []
    codes = program.codes if program is not None and program.hash.hex() == info["program_hash"] else None
    for f in info["frames"]:
        ci, pc = f["code_index"], f["pc"]
        if codes is None or not 0 <= ci < len(codes):
            out.append({"function": f"code #{ci}", "filename": None, "line": None, "col": None, "locals": {},
                        "types": {}, "registers": {"O": f["O"], "I": f["I"], "F": f["F"]}})
            continue
        code = codes[ci]
        line, col = code.position(pc) if 0 <= pc < len(code.positions) // 2 else (code.firstlineno, 0)
        values: dict[str, Any] = {}
        types: dict[str, str] = {}
        for lv in code.locals:
            if not lv.start_pc <= pc < lv.end_pc:
                continue
            regs = f[lv.file]
            if not 0 <= lv.reg < len(regs):
                continue
            v = regs[lv.reg]
            if lv.file == "I" and getattr(lv.type, "name", None) == "bool":
                v = bool(v)
            values[lv.name] = v
            types[lv.name] = _type_name(lv.type)
        out.append({"function": code.name, "filename": code.filename, "line": line, "col": col,
                    "locals": values, "types": types})
    return out


def sources(program: Program | None) -> dict[str, dict[str, Any]]:
    """Each flow of the program by name: where it is and its source text (as compiled)."""
    if program is None:
        return {}
    return {c.name: {"filename": c.filename, "firstlineno": c.firstlineno, "text": c.source}
            for c in program.codes}


def wait_of(row: IsolateRow) -> dict[str, Any] | None:
    """What an unfinished isolate waits on, as data: ``{kind, until, ...}`` (None if it is
    ready to run or has ended)."""
    if row.status == "sleeping":
        return {"kind": "sleep", "until": row.wake_at}
    if row.status != "waiting" or not row.waiting_on:
        return None
    kind, _, rest = row.waiting_on.partition(" ")
    w: dict[str, Any] = {"kind": kind, "until": row.wake_at, "detail": rest}
    if kind == "http_listen":
        parts = rest.split(" ", 2)
        if len(parts) >= 2:
            w["method"], w["route"] = parts[0], parts[1]
    return w


def _value(data: bytes) -> Any:
    try:
        return _vm.inspect_value(data)
    except Exception as e:      # a damaged row: say so, show the rest
        return f"<cannot decode: {type(e).__name__}: {e}>"


def describe_isolate(store: Any, row: IsolateRow, *, log_limit: int = 100,
                     inbox_limit: int = 50) -> dict[str, Any]:
    """The DESIGN §5 detail object of one isolate, plus its log, its tree's pending inbox and
    the source text of its program's flows."""
    parent = store.get_isolate_by_id(row.parent_id) if row.parent_id else None
    program = read_program(store, row.program_hash)
    out: dict[str, Any] = {
        "name": row.name, "id": row.id, "flow": row.flow, "status": row.status,
        "program": row.program_hash.hex(), "steps": row.steps,
        "snapshot_bytes": len(row.snapshot or b""), "wake_at": row.wake_at, "waiting_on": row.waiting_on,
        "wait": wait_of(row), "created_at": row.created_at, "updated_at": row.updated_at,
        "parent": parent.name if parent is not None else None, "detached": bool(row.detached),
        "children": store.children_of(row.id), "result": None, "error": None,
    }
    if row.result is not None:
        out["result"] = _value(row.result)
    if row.error:
        try:
            out["error"] = json.loads(row.error)
        except ValueError:
            out["error"] = {"message": row.error}
    try:
        out["frames"] = name_frames(program, row.snapshot) if row.snapshot is not None else []
    except Exception as e:
        out["frames"] = []
        out["frames_error"] = f"{type(e).__name__}: {e}"
    out["sources"] = sources(program)
    out["log"] = store.read_log(row.id, log_limit)
    out["inbox"] = [{"id": m.id, "isolate": m.isolate, "method": m.method, "route": m.route, "bytes": m.size,
                     "head": m.head.decode("utf-8", "backslashreplace"), "created_at": m.created_at}
                    for m in store.inbox_list(row.root_id or row.id, inbox_limit)]
    return out
