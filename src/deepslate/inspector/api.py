"""The inspector's aiohttp application: the dashboard's files and the JSON API under ``/api/``.

Every response of the API is JSON; every error is ``{"error": message}`` naming what was wrong:

    400  a parameter or a body field is not valid      404  no isolate of that name (or no route)
    401  a token is configured and not given           409  the verb does not apply (already ended ...)
    403  a POST without ``X-Deepslate-Action: 1``,     413  a message body over the ingress's limit
         or a foreign Host on a loopback inspector     503  no engine can take the action
                                                       504  the engine did not answer in time

Order of the checks: the Host header, the token, the action header, then the request itself.
A GET never writes: the store connection is read-only.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import logging
import math
import time
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any, AsyncIterator, Awaitable, Callable

from aiohttp import web

from ..runtime.detail import describe_isolate
from ..runtime.ingress import METHODS
from ..store.base import TERMINAL, IsolateRow, IsolateSummary, PageKey, Store, StoreError
from .actions import Actions
from .openapi import DOCUMENT, STATUSES
from .reader import Reader
from .stats import Sampler

if TYPE_CHECKING:
    from ..runtime.engine import Engine

log = logging.getLogger("deepslate.inspector")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_Q = 200
FLOWS_TTL = 5.0            # seconds /api/flows is kept: a DISTINCT over every row (35 ms at 100 000)
ACTION_HEADER = "X-Deepslate-Action"
LIST_PARAMS = ("status", "flow", "q", "limit", "cursor")
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
# the page's scripts and styles come from this server only; no inline script can run
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
STATIC = {"/": ("index.html", "text/html"), "/app.js": ("app.js", "text/javascript"),
          "/app.css": ("app.css", "text/css")}


@dataclass(frozen=True)
class Settings:
    token: str | None          # None: no token asked
    cookie: str                # the cookie that carries the token after /?token=...
    loopback_only: bool        # bound to loopback: requests must name it by a loopback host
    max_body: int              # the largest message body /send takes


class InspectorState:
    """What the handlers share: reads, actions, the time series, the settings."""

    def __init__(self, reader: Reader, actions: Actions, sampler: Sampler, settings: Settings):
        self.reader = reader
        self.actions = actions
        self.sampler = sampler
        self.settings = settings
        self.flows: tuple[float, list[str]] | None = None     # (when read, names): /api/flows for FLOWS_TTL
        pkg = resources.files(__package__) / "static"
        self.static = {path: ((pkg / fname).read_bytes(), ctype) for path, (fname, ctype) in STATIC.items()}


STATE: web.AppKey[InspectorState] = web.AppKey("inspector", InspectorState)


class Refused(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def _finite(v: Any) -> Any:
    """``v`` with every float JSON cannot hold (nan, inf) as its name."""
    if isinstance(v, float) and not math.isfinite(v):
        return repr(v)
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_finite(x) for x in v]
    return v


def dumps(data: Any) -> str:
    try:
        return json.dumps(data, allow_nan=False, default=str)
    except ValueError:
        return json.dumps(_finite(data), allow_nan=False, default=str)


def reply(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(text=dumps(data), status=status, content_type="application/json",
                        headers={"Cache-Control": "no-store", **(headers or {})})


def error(status: int, reason: str, headers: dict[str, str] | None = None) -> web.Response:
    return reply({"error": reason}, status, headers)


# -- guards --------------------------------------------------------------------------

def _host_name(request: web.Request) -> str:
    host = request.headers.get("Host", "")
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _same(given: str, token: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), token.encode("utf-8"))


def _authorised(request: web.Request, s: Settings) -> bool:
    assert s.token is not None
    auth = request.headers.get("Authorization", "")
    scheme, _, given = auth.partition(" ")
    if scheme.lower() == "bearer" and _same(given.strip(), s.token):
        return True
    cookie = request.cookies.get(s.cookie)
    return cookie is not None and _same(cookie, s.token)


_LOGIN_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>deepslate inspector</title>
<link rel="stylesheet" href="/app.css"></head><body class="login"><main><h1>deepslate inspector</h1>
<p>This inspector asks for its token. Open it once as <code>/?token=&lt;token&gt;</code>: the token is kept in a
cookie and the address loses it again.</p></main></body></html>"""


def _page_headers() -> dict[str, str]:
    return {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache"}


@web.middleware
async def guard(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                ) -> web.StreamResponse:
    ins = request.app[STATE]
    s = ins.settings
    api = request.path.startswith("/api/")
    if s.loopback_only and _host_name(request).lower() not in LOOPBACK_NAMES:
        # a page of another site whose name was made to point at 127.0.0.1 (DNS rebinding)
        return error(403, f"this inspector listens on loopback only; name it localhost or 127.0.0.1, not "
                          f"{request.headers.get('Host', '')!r}")
    if s.token is not None:
        if request.path == "/" and "token" in request.query and request.method == "GET":
            if not _same(request.query["token"], s.token):
                return web.Response(text=_LOGIN_PAGE, status=401, content_type="text/html",
                                    headers=_page_headers())
            r = web.Response(status=303, headers={"Location": "/", "Cache-Control": "no-store"})
            r.set_cookie(s.cookie, s.token, httponly=True, samesite="Strict", path="/")
            return r
        if not _authorised(request, s):
            challenge = {"WWW-Authenticate": 'Bearer realm="deepslate inspector"'}
            if request.path != "/":
                return error(401, "this inspector needs its token: send 'Authorization: Bearer <token>', "
                                  "or open /?token=<token> once in a browser", challenge)
            return web.Response(text=_LOGIN_PAGE, status=401, content_type="text/html",
                                headers={**_page_headers(), **challenge})
    if request.method == "POST" and request.headers.get(ACTION_HEADER) != "1":
        return error(403, f"actions need the header '{ACTION_HEADER}: 1' (a cross-site form cannot send it)")
    try:
        return await handler(request)
    except Refused as r:
        return error(r.status, r.reason)
    except StoreError as e:
        log.warning("deepslate inspector: %s %s: %s", request.method, request.path, e)
        return error(503, f"the store cannot be read: {e}")
    except web.HTTPException as e:
        if not api or e.status < 400:
            raise
        return error(e.status, f"{e.reason}: {request.method} {request.path}", {"Allow": e.headers["Allow"]}
                     if "Allow" in e.headers else None)


# -- the dashboard's files ---------------------------------------------------------------

async def page(request: web.Request) -> web.Response:
    body, ctype = request.app[STATE].static[request.path]
    return web.Response(body=body, content_type=ctype, charset="utf-8", headers=_page_headers())


# -- reads -------------------------------------------------------------------------------

def _one(request: web.Request, key: str) -> str | None:
    values = request.query.getall(key, [])
    if len(values) > 1:
        raise Refused(400, f"{key}: given {len(values)} times; give it once")
    return values[0] if values else None


def encode_cursor(item: IsolateSummary) -> str:
    raw = json.dumps([item.updated_at, item.id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> PageKey:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        t, i = json.loads(raw)
        if isinstance(t, bool) or not isinstance(t, (int, float)) or isinstance(i, bool) or not isinstance(i, int):
            raise ValueError
        return PageKey(float(t), i)
    except (ValueError, TypeError, binascii.Error):
        raise Refused(400, f"cursor: {cursor[:60]!r} is not a cursor this inspector gave out (pass a "
                           "list's 'next' back as it is)") from None


def _error_message(stored: str | None) -> str | None:
    if stored is None:
        return None
    try:
        e = json.loads(stored)
    except ValueError:
        return stored
    return str(e.get("message", stored)) if isinstance(e, dict) else stored


def _summary(r: IsolateSummary) -> dict[str, Any]:
    return {"name": r.name, "id": r.id, "flow": r.flow, "status": r.status, "steps": r.steps,
            "parent_id": r.parent_id, "wake_at": r.wake_at, "waiting_on": r.waiting_on,
            "error": _error_message(r.error) if r.status == "failed" else None,
            "created_at": r.created_at, "updated_at": r.updated_at}


async def list_isolates(request: web.Request) -> web.Response:
    ins = request.app[STATE]
    unknown = sorted(set(request.query) - set(LIST_PARAMS))
    if unknown:
        raise Refused(400, f"unknown query parameter {unknown[0]!r} (known: {', '.join(LIST_PARAMS)})")
    status = _one(request, "status") or None
    if status is not None and status not in STATUSES:
        raise Refused(400, f"status: {status!r} is not a status (one of {', '.join(STATUSES)})")
    flow = _one(request, "flow") or None
    q = _one(request, "q") or None
    if q is not None and len(q) > MAX_Q:
        raise Refused(400, f"q: at most {MAX_Q} characters, not {len(q)}")
    raw_limit = _one(request, "limit")
    limit = DEFAULT_LIMIT
    if raw_limit is not None:
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise Refused(400, f"limit: {raw_limit[:20]!r} is not a whole number from 1 to {MAX_LIMIT}")
        limit = int(raw_limit)
    cursor = _one(request, "cursor")
    before = decode_cursor(cursor) if cursor else None
    store = ins.reader.store

    def read() -> tuple[list[IsolateSummary], dict[str, int]]:
        # one more than asked: whether there is a next page
        return (store.page_isolates(status=status, flow=flow, q=q, before=before, limit=limit + 1),
                store.count_isolates())
    rows, counts = await ins.reader.call(read)
    more = len(rows) > limit
    rows = rows[:limit]
    return reply({"items": [_summary(r) for r in rows],
                  "counts": {s: counts.get(s, 0) for s in STATUSES}, "total": sum(counts.values()),
                  "next": encode_cursor(rows[-1]) if more else None, "limit": limit})


async def get_isolate(request: web.Request) -> web.Response:
    ins = request.app[STATE]
    name = request.match_info["name"]
    store = ins.reader.store

    def read() -> dict[str, Any] | None:
        row = store.get_isolate(name)
        return describe_isolate(store, row) if row is not None else None
    d = await ins.reader.call(read)
    if d is None:
        raise Refused(404, f"no isolate named {name!r}")
    return reply(d)


async def list_flows(request: web.Request) -> web.Response:
    ins = request.app[STATE]
    now = time.monotonic()
    if ins.flows is None or now - ins.flows[0] > FLOWS_TTL:
        ins.flows = (now, await ins.reader.call(ins.reader.store.flow_names))
    return reply({"flows": ins.flows[1]})


async def stats(request: web.Request) -> web.Response:
    return reply(request.app[STATE].sampler.series())


async def openapi(request: web.Request) -> web.Response:
    return reply(DOCUMENT)


# -- actions -------------------------------------------------------------------------------

async def _row(ins: InspectorState, name: str) -> IsolateRow:
    row = await ins.reader.call(ins.reader.store.get_isolate, name)
    if row is None:
        raise Refused(404, f"no isolate named {name!r}")
    return row


async def _body(request: web.Request, *, required: bool) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        if required:
            raise Refused(400, "the request body must be a JSON object")
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise Refused(400, f"the request body is not JSON: {e}") from None
    if not isinstance(body, dict):
        raise Refused(400, f"the request body must be a JSON object, not {type(body).__name__}")
    return body


def _only(body: dict[str, Any], known: tuple[str, ...]) -> None:
    unknown = sorted(set(body) - set(known))
    if unknown:
        raise Refused(400, f"unknown field {unknown[0]!r} in the body (known: {', '.join(known)})")


async def _act(what: Awaitable[Any]) -> Any:
    try:
        return await what
    except KeyError as e:
        raise Refused(404, str(e.args[0]) if e.args else "no such isolate") from None
    except NotImplementedError as e:
        raise Refused(503, str(e)) from None
    except TimeoutError as e:
        raise Refused(504, str(e)) from None
    except ValueError as e:
        raise Refused(409, str(e)) from None
    except RuntimeError as e:
        raise Refused(503, str(e)) from None


def _ended(row: IsolateRow) -> bool:
    """Nothing can run it again: done, cancelled, or failed without a snapshot to retry from."""
    return row.status in TERMINAL and (row.status != "failed" or row.snapshot is None)


async def cancel(request: web.Request) -> web.Response:
    ins = request.app[STATE]
    name = request.match_info["name"]
    row = await _row(ins, name)
    if _ended(row):
        raise Refused(409, f"isolate {name!r} has already ended ({row.status}): nothing to cancel")
    if not await _act(ins.actions.cancel(name)):
        raise Refused(409, f"isolate {name!r} had already ended: nothing was cancelled")
    return reply({"name": name, "cancelled": True})


async def retry(request: web.Request) -> web.Response:
    ins = request.app[STATE]
    name = request.match_info["name"]
    body = await _body(request, required=False)
    _only(body, ("failed_at",))
    failed_at = body.get("failed_at")
    if failed_at is not None and (isinstance(failed_at, bool) or not isinstance(failed_at, (int, float))):
        raise Refused(400, f"failed_at: the updated_at of the failure seen (a number), not {failed_at!r}")
    row = await _row(ins, name)
    if row.status != "failed":
        raise Refused(409, f"isolate {name!r} is {row.status}, not failed: nothing to retry")
    if row.snapshot is None:
        raise Refused(409, f"isolate {name!r} failed before it kept a snapshot: it cannot be retried")
    if failed_at is not None and row.updated_at != failed_at:
        raise Refused(409, f"isolate {name!r} has changed since the failure shown (updated at {row.updated_at}, "
                           f"not {failed_at}): look at it again before retrying")
    if not await _act(ins.actions.retry(name, failed_at)):
        raise Refused(409, f"isolate {name!r} was not retried: another retry or a cancel got to it first")
    return reply({"name": name, "retried": True})


async def send(request: web.Request) -> web.Response:
    ins = request.app[STATE]
    name = request.match_info["name"]
    body = await _body(request, required=True)
    _only(body, ("method", "route", "body", "body_base64"))
    method, route = body.get("method"), body.get("route")
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise Refused(400, f"method: one of {', '.join(METHODS)}, not {method!r}")
    if not isinstance(route, str) or not route.startswith("/"):
        raise Refused(400, f"route: a path starting with '/' as the flow's http_listen names it, not {route!r}")
    if "body" in body and "body_base64" in body:
        raise Refused(400, "body and body_base64: give one of them, not both")
    if "body_base64" in body:
        b64 = body["body_base64"]
        if not isinstance(b64, str):
            raise Refused(400, f"body_base64: a base64 string, not {type(b64).__name__}")
        try:
            data = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError) as e:
            raise Refused(400, f"body_base64: not valid base64 ({e})") from None
    else:
        text = body.get("body", "")
        if not isinstance(text, str):
            raise Refused(400, f"body: the message as text (or body_base64 for bytes), not {type(text).__name__}")
        data = text.encode("utf-8", "surrogatepass")
    if len(data) > ins.settings.max_body:
        raise Refused(413, f"body: {len(data)} bytes, over the limit of {ins.settings.max_body}")
    await _row(ins, name)
    mid = await _act(ins.actions.send(name, method.upper(), route, data))
    return reply({"id": mid, "name": name, "method": method.upper(), "route": route}, 202)


async def metrics(request: web.Request) -> web.Response:
    """The engine's counters when it runs in this process; else the store's counts alone."""
    from ..runtime.metrics import CONTENT_TYPE, render
    ins = request.app[STATE]
    engine = ins.sampler.engine()
    text = await ins.reader.call(render, engine if engine is not None else ins.reader.store)
    return web.Response(body=text.encode(), headers={"Content-Type": CONTENT_TYPE})


# -- the application -----------------------------------------------------------------------

def make_app(store: Store, actions: Actions, engine: Callable[[], "Engine | None"],
             settings: Settings) -> web.Application:
    """The inspector over ``store`` (a read-only connection it owns and closes at cleanup);
    ``engine`` gives the engine of this process, if any, for the steps it has committed."""
    reader = Reader(store)
    # room for a message body of max_body as base64 in JSON
    app = web.Application(middlewares=[guard], client_max_size=settings.max_body * 2 + (64 << 10))
    app[STATE] = InspectorState(reader, actions, Sampler(reader, engine), settings)
    for path in STATIC:
        app.router.add_get(path, page)
    app.router.add_get("/api/isolates", list_isolates)
    app.router.add_get("/api/isolates/{name}", get_isolate)
    app.router.add_post("/api/isolates/{name}/cancel", cancel)
    app.router.add_post("/api/isolates/{name}/retry", retry)
    app.router.add_post("/api/isolates/{name}/send", send)
    app.router.add_get("/api/flows", list_flows)
    app.router.add_get("/api/stats", stats)
    app.router.add_get("/api/openapi.json", openapi)
    app.router.add_get("/metrics", metrics)
    app.cleanup_ctx.append(_lifetime)
    return app


async def _lifetime(app: web.Application) -> AsyncIterator[None]:
    """The time series is sampled while the app runs; its store connection closes after."""
    state = app[STATE]
    task = asyncio.get_running_loop().create_task(state.sampler.run(), name="deepslate-inspector-stats")
    try:
        yield
    finally:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        state.reader.close()
