"""Operator verbs from another process: cancel, retry and send, filed in the store.

Only the process that runs the engine holds its isolates, so another process (``deepslate
cancel STORE NAME``, a script, a dashboard of the store) cannot act on them itself. It files a
request row instead (``submit``): with its own short-lived connection, never touching the
lease. The engine that holds the store reads the pending ones every ``POLL_SECONDS`` (one
read of a partial index that holds only pending rows), applies each through its own
``cancel`` / ``retry`` / ``send``, in the order filed, and records the outcome (a JSON object
``{"ok": bool, "message": str, ...}``) with ``done_at``; ``wait_outcome`` polls for it. A
request filed while no engine holds the store stays filed and is applied by the next engine
that opens it (at its start).

At least once, with no double effect: an engine that crashes after applying a request but
before recording its outcome applies it again when it restarts. Cancel is idempotent; a send
carries the delivery id ``deepslate-request-<id>``, which the inbox keeps, so it lands once;
a retry carries ``failed_at`` (the CLI fills it in), so a second application finds the isolate
running or failed at another time and does nothing.
"""
from __future__ import annotations

import asyncio
import base64
import json
import logging
import math
import time
from typing import TYPE_CHECKING, Any

from ..store import open_store
from ..store.base import Request, Store, StoreError
from . import events
from .ingress import METHODS, bad_name

if TYPE_CHECKING:
    from .engine import Engine

VERBS = ("cancel", "retry", "send")
POLL_SECONDS = 0.25         # how often a running engine looks for requests
BATCH = 50                  # requests read per look
WAIT_POLL = 0.05            # how often wait_outcome looks for the outcome


# -- any process: filing and waiting ----------------------------------------------------------

def _open(path: str, readonly: bool = False) -> Store:
    return open_store(path, readonly=readonly)


def check_request(verb: str, name: str, args: dict[str, Any] | None) -> str:
    """The request's arguments as stored (a JSON object), or a ValueError naming what is wrong."""
    if verb not in VERBS:
        raise ValueError(f"unknown request verb {verb!r} (verbs: {', '.join(VERBS)})")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{verb}: the isolate name must be a non-empty str, not {name!r}")
    why = bad_name(name)
    if why:
        raise ValueError(f"{verb}: {why}")
    if args is not None and not isinstance(args, dict):
        raise ValueError(f"{verb}: the arguments must be a dict, not {type(args).__name__}")
    args = dict(args or {})
    allowed = {"cancel": set(), "retry": {"failed_at"}, "send": {"method", "route", "body"}}[verb]
    extra = sorted(set(args) - allowed)
    if extra:
        raise ValueError(f"{verb} takes no argument {', '.join(map(repr, extra))} "
                         f"(arguments: {', '.join(sorted(allowed)) or 'none'})")
    stored: dict[str, Any] = {}
    if verb == "retry" and args.get("failed_at") is not None:
        t = args["failed_at"]
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t):
            raise ValueError(f"retry: failed_at must be the failed isolate's updated_at (a unix time), not {t!r}")
        stored["failed_at"] = float(t)
    if verb == "send":
        method = str(args.get("method", "")).upper()
        if method not in METHODS:
            raise ValueError(f"send: method must be one of {', '.join(METHODS)}, not {args.get('method')!r}")
        route = args.get("route")
        if not isinstance(route, str) or not route.startswith("/"):
            raise ValueError(f"send: the route must start with '/' (as the flow's http_listen names it), "
                             f"not {route!r}")
        body = args.get("body", b"")
        if isinstance(body, str):
            body = body.encode("utf-8")
        if not isinstance(body, (bytes, bytearray)):
            raise ValueError(f"send: the body must be bytes or str, not {type(body).__name__}")
        stored.update(method=method, route=route, body_b64=base64.b64encode(bytes(body)).decode("ascii"))
    return json.dumps(stored)


def submit(path: str, verb: str, name: str, args: dict[str, Any] | None = None) -> int:
    """File ``verb`` (cancel, retry or send) for isolate ``name`` in the SQLite store at ``path``;
    returns the request's id. ``args``: for retry, ``failed_at`` (optional: retry only the
    failure of that ``updated_at``); for send, ``method``, ``route`` and ``body`` (bytes or
    str). Needs no engine in this process and never takes the store's lease; the engine
    that holds the store applies it (see ``lease_holder``). Raises ValueError for a bad request
    and StoreError when the store cannot be opened."""
    stored = check_request(verb, name, args)
    store = _open(path)
    try:
        return store.file_request(verb, name, stored)
    finally:
        store.close()


def wait_outcome(path: str, request_id: int, timeout: float) -> dict[str, Any] | None:
    """The outcome of request ``request_id`` once the engine has applied it, or None if it has
    not within ``timeout`` seconds. KeyError when the store has no such request."""
    store = _open(path, readonly=True)
    try:
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            req = store.get_request(request_id)
            if req is None:
                raise KeyError(f"no request #{request_id} in {path!r}")
            if req.done_at is not None:
                outcome: dict[str, Any] = json.loads(req.outcome or "{}")
                return outcome
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            time.sleep(min(WAIT_POLL, left))
    finally:
        store.close()


def lease_holder(path: str) -> tuple[str, float] | None:
    """(node id, lease end) of the engine holding the store now, or None when no lease is
    live (no engine runs on it, or the last one stopped or died more than a lease ago)."""
    store = _open(path, readonly=True)
    try:
        now = time.time()
        return next(((n, t) for n, t in store.leases() if t > now), None)
    finally:
        store.close()


# -- the engine: applying -------------------------------------------------------------------

async def serve(engine: "Engine", every: float = POLL_SECONDS) -> None:
    """The engine's task: apply pending requests, oldest first, for as long as it runs."""
    failing = False
    while engine.started and engine.failure is None:
        try:
            pending: list[Request] = await engine.run_db(engine.store.pending_requests, BATCH)
        except NotImplementedError:
            return              # a store without requests
        except StoreError as e:
            if not failing:     # once, not four times a second
                events.emit(events.ENGINE, logging.ERROR, "requests_unreadable", store=engine.store.path,
                            error=str(e))
            failing = True
            await asyncio.sleep(every)
            continue
        failing = False
        for req in pending:
            outcome = await apply(engine, req)
            if outcome is None:
                return          # the engine stopped under it: the request stays pending
            try:
                await engine.run_db(engine.store.finish_request, req.id, json.dumps(outcome))
            except StoreError as e:
                # applied but not recorded: it is applied again later, which changes nothing more
                events.emit(events.ENGINE, logging.ERROR, "request_unrecorded", id=req.id, error=str(e))
                break
        if len(pending) < BATCH:
            await asyncio.sleep(every)


async def apply(engine: "Engine", req: Request) -> dict[str, Any] | None:
    """Apply one request through the engine's own verbs; its outcome, or None when the engine
    stopped meanwhile (the request is then left pending for the next engine)."""
    try:
        outcome = await _apply(engine, req)
    except KeyError as e:
        outcome = {"ok": False, "message": str(e.args[0]) if e.args else f"no isolate named {req.name!r}"}
    except (StoreError, RuntimeError) as e:
        if engine.failure is not None or not engine.started:
            return None
        outcome = {"ok": False, "message": str(e)}
    except (ValueError, TypeError) as e:
        outcome = {"ok": False, "message": str(e)}
    ok = bool(outcome["ok"])
    key = (req.verb, ok)
    engine.metrics.requests[key] = engine.metrics.requests.get(key, 0) + 1
    events.emit(events.ENGINE, logging.INFO, "request", id=req.id, verb=req.verb, isolate=req.name, ok=ok,
                message=outcome["message"])
    return outcome


async def _apply(engine: "Engine", req: Request) -> dict[str, Any]:
    try:
        args = json.loads(req.args)
    except ValueError:
        args = None
    if not isinstance(args, dict):
        return {"ok": False, "message": f"request #{req.id}: its arguments are not a JSON object: {req.args!r}"}
    name = req.name
    if req.verb == "cancel":
        if await engine.cancel(name):
            return {"ok": True, "message": f"isolate {name!r} cancelled"}
        row = await engine.isolate_row(name)
        status = row.status if row is not None else "gone"
        return {"ok": False, "message": f"isolate {name!r} had already ended ({status}): nothing to cancel"}
    if req.verb == "retry":
        failed_at = args.get("failed_at")
        if failed_at is not None and (isinstance(failed_at, bool) or not isinstance(failed_at, (int, float))):
            return {"ok": False, "message": f"retry: failed_at must be a unix time, not {failed_at!r}"}
        if await engine.retry(name, failed_at=failed_at):
            return {"ok": True, "message": f"isolate {name!r} retried from its last good snapshot"}
        return {"ok": False, "message": await _why_no_retry(engine, name, failed_at)}
    if req.verb == "send":
        try:
            body = base64.b64decode(str(args.get("body_b64", "")), validate=True)
        except ValueError:
            return {"ok": False, "message": f"send: request #{req.id} holds a body that is not base64"}
        method, route = str(args.get("method", "")), str(args.get("route", ""))
        mid = await engine.send(name, method, route, body, key=f"deepslate-request-{req.id}")
        return {"ok": True, "message": f"message {mid} committed for {name!r} {method} {route}", "message_id": mid}
    return {"ok": False, "message": f"unknown request verb {req.verb!r} (verbs: {', '.join(VERBS)})"}


async def _why_no_retry(engine: "Engine", name: str, failed_at: float | None) -> str:
    row = await engine.isolate_row(name)
    if row is None:
        return f"no isolate named {name!r}"
    if row.status != "failed":
        return f"isolate {name!r} is {row.status}, not failed: nothing to retry"
    if row.snapshot is None:
        return (f"isolate {name!r} failed in its own code, which would fail the same way again: no snapshot "
                "was kept to retry from")
    if failed_at is not None and row.updated_at != failed_at:
        return (f"isolate {name!r} last failed at {row.updated_at!r}, not at {failed_at!r}: the failure this "
                "retry was for was retried already, so it is not retried again")
    return f"isolate {name!r} was retried or cancelled by another call first"
