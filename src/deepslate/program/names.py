"""The names table: a stored program names a snapshot's registers, for display.

A program carries, per flow, the source name, type and live pc range of each register
(``Code.locals``), the line table and the flow's source text as compiled. With them a
snapshot's frames read as source-level locals and lines, from the store alone: no user
module is imported and nothing is linked, so any process can show any store's isolates
(flows of a ``__main__`` script included).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any

from .. import _vm
from .model import Program
from .serial import program_from_bytes

_PROGRAMS_KEPT = 64
_programs: "OrderedDict[bytes, Program | None]" = OrderedDict()   # content-addressed: any store's


def read_program(store: Any, h: bytes) -> Program | None:
    """The unlinked program stored under ``h`` (None if absent or unreadable); parsed once."""
    if h in _programs:
        _programs.move_to_end(h)
        return _programs[h]
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
