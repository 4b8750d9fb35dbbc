"""Structured log events: one line per event in logfmt, through the stdlib ``logging``.

    event=failed isolate=pay-7 flow=payment step=12 error="ZeroDivisionError: division by zero" at=pay.py:31

Loggers: ``deepslate.isolate`` (spawned, done, cancelled, retried, failed, impure_retry),
``deepslate.engine`` (paused, purge, request), all children of ``deepslate``. The same fields
go to the record as ``extra={"deepslate": {...}}`` (``record.deepslate``), so a JSON handler
can write them without parsing the line. Nothing is logged per step, and the library installs
no handler: the application configures logging (``logging.basicConfig(level="INFO")`` shows
them all).
"""
from __future__ import annotations

import json
import logging
from typing import Any

ISOLATE = logging.getLogger("deepslate.isolate")
ENGINE = logging.getLogger("deepslate.engine")

_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@+,#%")


def logfmt(fields: dict[str, Any]) -> str:
    """``key=value`` pairs; a value with a space, a quote, ``=`` or anything unusual is quoted
    as a JSON string (so control characters and newlines are escaped, never written raw)."""
    parts = []
    for k, v in fields.items():
        if v is None:
            continue
        if v is True or v is False:
            text = "true" if v else "false"
        elif isinstance(v, (int, float)):
            text = repr(v) if isinstance(v, float) else str(v)
        else:
            text = str(v)
            if not text or not _PLAIN.issuperset(text):
                text = json.dumps(text, ensure_ascii=False)
        parts.append(f"{k}={text}")
    return " ".join(parts)


def emit(logger: logging.Logger, level: int, event: str, **fields: Any) -> None:
    """Log ``event`` with ``fields`` (None values left out), if ``logger`` takes ``level``."""
    if logger.isEnabledFor(level):
        d = {"event": event, **{k: v for k, v in fields.items() if v is not None}}
        logger.log(level, logfmt(d), extra={"deepslate": d}, stacklevel=2)


def failure_fields(error: str | None) -> dict[str, Any]:
    """``error`` (the message), ``at`` (file:line of the innermost flow frame) and ``kind``
    from a failed isolate's error column."""
    try:
        d = json.loads(error or "{}")
    except ValueError:
        return {"error": error}
    if not isinstance(d, dict):
        return {"error": error}
    out: dict[str, Any] = {"error": d.get("message"), "kind": d.get("kind") or None}
    frames = d.get("frames") or []
    if frames and isinstance(frames[-1], list) and len(frames[-1]) >= 3:
        out["at"] = f"{frames[-1][1]}:{frames[-1][2]}"
    return out
