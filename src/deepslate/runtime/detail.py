"""One isolate as the inspector, ``deepslate show`` and the JSON API describe it.

Everything here is read from the store alone: the program's names table
(``deepslate.program.names``) names the snapshot's registers, and values are decoded for
display without importing the user's modules. So any process can inspect any store,
including isolates of flows defined in a ``__main__`` script.
"""
from __future__ import annotations

import json
from typing import Any

from .. import _vm
from ..program.names import name_frames, read_program, sources
from ..store.base import IsolateRow


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
