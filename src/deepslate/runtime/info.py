"""What ``status``/``list`` tell about isolates: ``IsolateInfo``, and the checks of a list's filters."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..store.base import IsolateRow

STATUSES = ("running", "sleeping", "waiting", "done", "failed", "cancelled")
MAX_LIST = 1000         # the most isolates one list call returns: a page, not the whole store


@dataclass(frozen=True, slots=True)
class IsolateInfo:
    """One isolate as the store holds it (the last committed step)."""
    name: str
    id: int
    flow: str
    status: str                     # running sleeping waiting done failed cancelled
    steps: int                      # durable steps committed
    waiting_on: str                 # what a waiting isolate waits on ("" otherwise)
    wake_at: float | None           # unix time a sleep (or a wait's deadline) ends
    error: str | None               # a failed isolate's message
    parent_id: int | None           # the isolate that made it with create_task (None: spawned)
    created_at: float
    updated_at: float


def info_of(row: IsolateRow) -> IsolateInfo:
    return IsolateInfo(row.name, row.id, row.flow, row.status, row.steps, row.waiting_on, row.wake_at,
                       _message(row.error) if row.status == "failed" else None, row.parent_id,
                       row.created_at, row.updated_at)


def _message(error: str | None) -> str | None:
    if not error:
        return None
    try:
        d: Any = json.loads(error)
        return str(d.get("message", error)) if isinstance(d, dict) else error
    except ValueError:
        return error


def check_list(status: Any, flow: Any, limit: Any, offset: Any) -> None:
    """Raise a clear error for a filter or a page that ``list`` cannot take."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)} or None, not {status!r}")
    if flow is not None and not isinstance(flow, str):
        raise TypeError(f"flow must be a flow name (str) or None, not {type(flow).__name__}")
    for what, v, low in (("limit", limit, 1), ("offset", offset, 0)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"{what} must be an int, not {type(v).__name__}")
        if v < low:
            raise ValueError(f"{what} must be at least {low}, not {v}")
    if limit > MAX_LIST:
        raise ValueError(f"limit must be at most {MAX_LIST}, not {limit}; page with offset")


async def status_of(engine: Any, name: str) -> str:
    """``engine``'s status of isolate ``name``; KeyError when there is none."""
    status: str | None = await engine.status(name)
    if status is None:
        raise KeyError(f"no isolate named {name!r}")
    return status


async def list_of(engine: Any, status: str | None, flow: str | None, limit: int, offset: int) -> list[IsolateInfo]:
    return [info_of(row) for row in await engine.list_isolates(status, flow, limit, offset)]
