"""The HTTP ingress: ``{METHOD} http://{listen_addr}/{isolate-name}{route}`` fills the isolate
tree's durable inbox, which ``http_listen(METHOD, route)`` reads (DESIGN §2.4, §5).

A request is answered ``202`` only once its message is committed: the put goes through the
engine's group-commit writer, so concurrent requests share one transaction (and one fsync)
with each other and with the isolates' steps. Every refusal is a JSON ``{"error": ...}`` with
nothing stored:

    400  the path cannot name an isolate and a route       405  a method http_listen does not take
    401  not signed (or not authorised) as configured      404  no isolate of that name
    408  the body did not arrive within body_timeout        410  nothing in its tree can listen again
    413  the body is over max_body                          503  the engine is not running

Order of the checks: what the request line and headers show (400, 405, a bearer token's 401,
413 by Content-Length), then the body, read up to the limit and never further (413), then its
signature (401), and only then the isolate (404, 410): an unsigned caller learns nothing about
which isolates exist.
"""
from __future__ import annotations

import asyncio
import json
import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping
from urllib.parse import unquote

from aiohttp import web

from .webhooks import Unverified, Verifier

if TYPE_CHECKING:
    from .engine import Engine

log = logging.getLogger("deepslate.ingress")

# what http_listen can be given a message for; HEAD, OPTIONS, TRACE, CONNECT carry no event
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
MAX_KEY = 256              # longest delivery id kept for dedupe
LINGER_SECONDS = 2.0       # after an early 413, the rest of a body is read (and dropped) this long at most


@dataclass(frozen=True)
class Ingress:
    """Settings of the HTTP ingress.

    ``max_body``: the largest body accepted, in bytes (1 MiB by default). ``verify``: a verifier
    from ``deepslate.webhooks`` every request must pass. ``routes``: verifiers for some routes,
    keyed ``"POST /orders"`` (one method) or ``"/orders"`` (any method); ``None`` there means no
    check for that route. ``dedupe_header``: the request header holding a delivery id (a
    repeat of one delivery lands once); by default the verifier's own id header
    (``webhook-id``, ``X-GitHub-Delivery``), if it has one. ``dedupe_seconds``: how long a
    delivery id is remembered (7 days; a repeat later than that lands again, so a tree that
    listens for ever does not keep every id). ``body_timeout``: seconds a body may take to
    arrive."""
    max_body: int = 1 << 20
    verify: Verifier | None = None
    routes: Mapping[str, Verifier | None] = field(default_factory=dict)
    dedupe_header: str | None = None
    body_timeout: float = 30.0
    dedupe_seconds: float = 7 * 86400.0

    def __post_init__(self) -> None:
        if isinstance(self.max_body, bool) or not isinstance(self.max_body, int) or self.max_body < 1:
            raise ValueError(f"Ingress max_body must be a positive number of bytes, not {self.max_body!r}")
        if self.verify is not None and not isinstance(self.verify, Verifier):
            raise TypeError(f"Ingress verify must be a deepslate.webhooks verifier, not {type(self.verify).__name__}")
        if not isinstance(self.routes, Mapping):
            raise TypeError(f"Ingress routes must be a dict of route to verifier, not {type(self.routes).__name__}")
        for key, v in self.routes.items():
            method, route = _route_key(key)
            if method is not None and method not in METHODS:
                raise ValueError(f"Ingress routes: {key!r}: http_listen takes no {method} (methods: {', '.join(METHODS)})")
            if v is not None and not isinstance(v, Verifier):
                raise TypeError(f"Ingress routes: {key!r} maps to a {type(v).__name__}, not a deepslate.webhooks "
                                "verifier (or None)")
        if self.dedupe_header is not None and (not isinstance(self.dedupe_header, str) or not self.dedupe_header):
            raise ValueError(f"Ingress dedupe_header must be a header name, not {self.dedupe_header!r}")
        if isinstance(self.body_timeout, bool) or not isinstance(self.body_timeout, (int, float)) \
                or not self.body_timeout > 0 or math.isinf(self.body_timeout):
            raise ValueError(f"Ingress body_timeout must be a positive number of seconds, not {self.body_timeout!r}")
        if isinstance(self.dedupe_seconds, bool) or not isinstance(self.dedupe_seconds, (int, float)) \
                or not self.dedupe_seconds > 0 or math.isinf(self.dedupe_seconds):
            raise ValueError(f"Ingress dedupe_seconds must be a positive number of seconds, not {self.dedupe_seconds!r}")

    def verifier_for(self, method: str, route: str) -> Verifier | None:
        for key in (f"{method} {route}", route):
            if key in self.routes:
                return self.routes[key]
        return self.verify


def _route_key(key: Any) -> tuple[str | None, str]:
    if not isinstance(key, str):
        raise TypeError(f"Ingress routes: keys are 'METHOD /route' or '/route', not {key!r}")
    method, sep, route = key.partition(" ")
    if not sep:
        method, route = "", key
    if not route.startswith("/"):
        raise ValueError(f"Ingress routes: {key!r}: a route starts with '/' (keys are 'METHOD /route' or '/route')")
    return (method.upper() if method else None), route


class ListenError(OSError):
    """The ingress cannot listen on its address (taken, not an address of this host)."""


def split_addr(addr: str) -> tuple[str, int]:
    host, sep, port = str(addr).rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"listen_addr must be 'host:port', not {addr!r}")
    return host.strip("[]"), int(port)


class _Refused(Exception):
    def __init__(self, status: int, reason: str, headers: dict[str, str] | None = None):
        super().__init__(reason)
        self.status, self.reason, self.headers = status, reason, headers


def _error(status: int, reason: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": reason}, status=status, headers=headers)


def parse_target(raw_path: str) -> tuple[str, str]:
    """(isolate name, route) from the raw request path; the name is its first segment,
    percent-decoded (a child's ``b/2`` arrives as ``b%2F2``)."""
    path = raw_path.split("?", 1)[0]
    if not path.startswith("/"):
        raise _Refused(400, f"the path {path!r} does not start with '/'")
    seg, slash, rest = path[1:].partition("/")
    if not seg:
        raise _Refused(400, "no isolate name in the path: send to /{isolate-name}{route}")
    if not slash:
        raise _Refused(400, f"no route after the isolate name in {path!r}: send to /{{isolate-name}}{{route}}, "
                            "the route as the flow's http_listen names it")
    try:
        name = unquote(seg, errors="strict")
        route = unquote("/" + rest, errors="strict")
    except UnicodeDecodeError:
        raise _Refused(400, f"the path {path!r} is not percent-encoded UTF-8") from None
    why = bad_name(name)
    if why:
        raise _Refused(400, why)
    return name, route


def bad_name(name: str) -> str | None:
    """Why ``name`` cannot be an isolate's name (spawned ``a``, children ``a/1``, ``a/1/3``...)."""
    top, *below = name.split("/")
    if not top:
        return f"{name!r} cannot be an isolate name: it starts with '/'"
    if any(c in name for c in "\x00\r\n"):
        return f"{name!r} cannot be an isolate name: it holds a control character"
    for part in below:
        if not (part.isascii() and part.isdigit() and part[0] != "0"):
            return (f"{name!r} cannot be an isolate name: after '/' come child numbers "
                    "(a child of 'a' is 'a/1', sent as 'a%2F1')")
    return None


class IngressServer:
    """The aiohttp server of one engine, on the engine's event loop."""

    def __init__(self, engine: "Engine", addr: str, settings: Ingress):
        self.engine = engine
        self.addr = addr
        self.settings = settings
        self.runner: web.ServerRunner | None = None
        self.url = ""
        self.accepted = 0       # messages committed (repeats not counted)

    async def start(self) -> "IngressServer":
        host, port = split_addr(self.addr)
        # a bare server, no router: the raw path is parsed here, names may hold any encoded byte
        server = web.Server(self.handle, access_log=None, lingering_time=LINGER_SECONDS)
        runner = web.ServerRunner(server, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as e:
            await runner.cleanup()
            raise ListenError(e.errno, f"deepslate ingress cannot listen on {self.addr}: "
                                       f"{e.strerror or e}") from None
        self.runner = runner
        bound = runner.addresses[0]
        shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        self.url = f"http://{shown}:{bound[1]}"
        return self

    async def close(self) -> None:
        if self.runner is not None:
            runner, self.runner = self.runner, None
            await runner.cleanup()

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        try:
            resp = await self._handle(request)
        except _Refused as r:
            resp = _error(r.status, r.reason, r.headers)
        codes = self.engine.metrics.ingress
        codes[resp.status] = codes.get(resp.status, 0) + 1
        return resp

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        eng, settings = self.engine, self.settings
        if eng.failure is not None or not eng.started:
            return _error(503, "the engine is not running")
        method = request.method.upper()
        if method not in METHODS:
            raise _Refused(405, f"http_listen takes no {method} requests (methods: {', '.join(METHODS)})",
                           {"Allow": ", ".join(METHODS)})
        name, route = parse_target(request.raw_path)
        verifier = settings.verifier_for(method, route)
        if verifier is not None and not verifier.needs_body:
            self._verify(verifier, request, b"")
        body = await self._read(request)
        if verifier is not None and verifier.needs_body:
            self._verify(verifier, request, body)
        key = self._delivery_id(request, verifier)
        headers = {"content-type": request.headers.get("Content-Type", "")}
        if key is not None:
            headers["delivery-id"] = key
        try:
            put = await eng.put_message(name, method, route, body, json.dumps(headers), key)
        except KeyError:
            raise _Refused(404, f"no isolate named {name!r}") from None
        except LookupError as e:      # finished
            raise _Refused(410, str(e)) from None
        except RuntimeError as e:     # the engine stopped meanwhile
            return _error(503, str(e))
        if not put.duplicate:
            self.accepted += 1
        return web.json_response({"id": put.mid, "isolate": name, "method": method, "route": route,
                                  "duplicate": put.duplicate}, status=202)

    def _verify(self, verifier: Verifier, request: web.BaseRequest, body: bytes) -> None:
        try:
            verifier.verify(request.headers, body)
        except Unverified as e:
            raise _Refused(401, str(e)) from None

    def _delivery_id(self, request: web.BaseRequest, verifier: Verifier | None) -> str | None:
        header = self.settings.dedupe_header or (verifier.id_header if verifier is not None else None)
        if header is None:
            return None
        key = request.headers.get(header)
        if key is None:
            return None
        if not key or len(key) > MAX_KEY:
            raise _Refused(400, f"the {header} header must hold a delivery id of 1 to {MAX_KEY} characters")
        return key

    async def _read(self, request: web.BaseRequest) -> bytes:
        """The body, refused with 413 once it passes ``max_body``, whether or not the client said
        its length (chunked): at most ``max_body`` + one read are held in memory."""
        limit = self.settings.max_body
        declared = request.content_length
        if declared is not None and declared > limit:
            raise _Refused(413, f"the body is {declared} bytes, over the limit of {limit}")
        parts: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.settings.body_timeout):
                while True:
                    chunk = await request.content.readany()
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > limit:
                        raise _Refused(413, f"the body is over the limit of {limit} bytes")
                    parts.append(chunk)
        except TimeoutError:
            raise _Refused(408, f"the body did not arrive within {self.settings.body_timeout} s") from None
        return b"".join(parts)
