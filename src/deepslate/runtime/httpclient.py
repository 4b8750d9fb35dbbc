"""The client behind ``http_request``: one aiohttp session per engine, a retry policy, and
the rules for what a flow gets back.

One attempt is bounded by ``connect_timeout`` (opening a connection), ``read_timeout``
(the longest wait for the next bytes of the answer) and, when set, ``timeout`` (the whole
attempt). An attempt that fails to connect, times out, is cut off, or is answered 5xx or
429 is tried again, up to ``retries`` more times, after a pause drawn uniformly from
``[0, min(max_backoff, backoff * 2**attempt)]`` ("full jitter": many isolates failing
at once do not come back at once), or after what the answer's ``Retry-After`` asks
(seconds or an HTTP date), capped by ``max_backoff``. Other answers are final.

What the flow gets: the body of a 2xx answer as bytes; otherwise a ``DSError``: kind
``"http"`` with ``code`` the status and an excerpt of the body, kind ``"http"`` code 0
when no answer came (connection refused or cut, a bad URL), kind ``"timeout"`` when an
attempt ran out of time, and kind ``"http"`` with the status as code when the answer is
larger than ``max_response_bytes`` (read in chunks, never held beyond the limit).

Every attempt of one call carries the same ``Idempotency-Key`` header (the engine's key
for the step, so a re-run after a crash sends it again), unless the flow set its own.

The session keeps no cookies: isolates share it and must not see each other's.

Rejected: a session per call (a new connection pool, TLS handshake and DNS lookup every
time: the old way, and what the benchmark measures against); retries by re-performing the
effect through the engine (each attempt would cost a commit and say nothing the store
needs to know: a crash in between re-runs the call from its first attempt anyway).
"""
from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import math
import random
import time
from dataclasses import dataclass
from datetime import timezone
from typing import TYPE_CHECKING, Any

from .._values import DSError

if TYPE_CHECKING:
    import aiohttp

EXCERPT = 200                 # bytes of an error answer's body quoted in its DSError
CHUNK = 64 << 10
CONNECTIONS = 100             # open connections at most, over all hosts (aiohttp's default)


@dataclass(frozen=True)
class HttpPolicy:
    """How ``http_request`` calls behave: given per platform (``new_sqlite(...,
    http_policy=HttpPolicy(retries=5))``), and per call from a flow as keyword arguments
    of the same names (``http_request("GET", url, {}, b"", timeout=5.0, retries=0)``).

    ``retries`` more attempts after the first; ``backoff`` the base of the exponential
    pause and ``max_backoff`` its cap (also of a ``Retry-After``); ``connect_timeout`` and
    ``read_timeout`` per attempt; ``timeout`` the most one attempt may take in all (None:
    no such bound); ``max_response_bytes`` the largest body taken."""
    retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 30.0
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    timeout: float | None = None
    max_response_bytes: int = 16 << 20

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            try:
                _check(f.name, v)
            except (TypeError, ValueError) as e:
                raise type(e)(f"HttpPolicy {e}") from None
            if type(v) is int and f.name in _SECONDS:
                object.__setattr__(self, f.name, float(v))

    def override(self, **options: Any) -> "HttpPolicy":
        """This policy with some fields replaced (a flow's per-call options); a bad value or
        an unknown name raises ValueError or TypeError naming it."""
        for name, v in options.items():
            if name not in OPTIONS:
                raise TypeError(f"http_request has no option {name!r} (options: {', '.join(sorted(OPTIONS))})")
            try:
                _check(name, v)
            except (TypeError, ValueError) as e:
                raise type(e)(f"http_request option {e}") from None
        return dataclasses.replace(self, **options) if options else self


OPTIONS = frozenset(f.name for f in dataclasses.fields(HttpPolicy))
_SECONDS = frozenset({"backoff", "max_backoff", "connect_timeout", "read_timeout", "timeout"})


def _check(name: str, v: Any) -> None:
    """A policy field's value is sound, or a TypeError/ValueError saying what is wrong with it."""
    if name in ("retries", "max_response_bytes"):
        least = 0 if name == "retries" else 1
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"{name} must be an int, not {type(v).__name__}")
        if v < least:
            raise ValueError(f"{name} must be at least {least}, not {v}")
        return
    if name == "timeout" and v is None:
        return
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {type(v).__name__}")
    zero = name in ("backoff", "max_backoff")
    if not math.isfinite(v) or v < 0 or (v == 0 and not zero):
        raise ValueError(f"{name} must be a finite number of seconds, {'at least 0' if zero else 'positive'}, "
                         f"not {v}")


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """The pause a ``Retry-After`` header asks for, in seconds (None if absent or unreadable)."""
    if not value:
        return None
    v = value.strip()
    try:
        secs = float(v)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(v)
        except (TypeError, ValueError, IndexError):
            return None
        # an HTTP date is GMT; one without a zone is read so too
        secs = (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()
        secs -= time.time() if now is None else now
    if not math.isfinite(secs):
        return None
    return max(0.0, secs)


def backoff_delay(policy: HttpPolicy, attempt: int, asked: float | None) -> float:
    """The pause before attempt ``attempt + 1``."""
    if asked is not None:
        return min(asked, policy.max_backoff)
    return random.uniform(0.0, min(policy.max_backoff, policy.backoff * 2.0 ** min(attempt, 64)))


class _Failed(Exception):
    """One attempt's failure: the error a flow would get, whether to try again, the pause asked."""

    def __init__(self, error: DSError, again: bool, asked: float | None = None):
        self.error, self.again, self.asked = error, again, asked


class HttpClient:
    """The engine's client: ``open()`` at start, ``close()`` at stop or halt."""

    def __init__(self) -> None:
        self.session: "aiohttp.ClientSession | None" = None
        self._closing: "asyncio.Future[None] | None" = None

    def open(self) -> None:
        import aiohttp    # here, so that compiling flows never imports it
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONNECTIONS),
                                             cookie_jar=aiohttp.DummyCookieJar())
        self._closing = None

    def close(self) -> "asyncio.Future[None]":
        """Start closing the session (its connections first, at once); the future to await."""
        if self._closing is None:
            if self.session is None:
                self._closing = asyncio.get_running_loop().create_future()
                self._closing.set_result(None)
            else:
                self._closing = asyncio.ensure_future(self.session.close())
        return self._closing

    @property
    def closed(self) -> bool:
        return self.session is None or self.session.closed

    async def fetch(self, method: str, url: str, headers: dict[str, str], body: bytes, policy: HttpPolicy,
                    key: str) -> bytes | DSError:
        """The answer to one ``http_request``, after as many attempts as ``policy`` allows."""
        self._check_open()
        hdrs = dict(headers)
        if not any(k.lower() == "idempotency-key" for k in hdrs):
            hdrs["Idempotency-Key"] = key
        what = f"{method} {url}"
        attempt = 0
        while True:
            try:
                return await self._attempt(method, url, hdrs, body, policy, what)
            except _Failed as f:
                if not f.again or attempt >= policy.retries:
                    if attempt:
                        return DSError(f"{f.error.message} (after {attempt + 1} attempts)", f.error.kind,
                                       f.error.code)
                    return f.error
                await self._pause(backoff_delay(policy, attempt, f.asked))
                attempt += 1

    def _check_open(self) -> None:
        if self.session is None or self.session.closed:
            raise RuntimeError("the http client is closed (the engine stopped)")

    async def _pause(self, seconds: float) -> None:
        """The wait between two attempts (the testing kit's stubs do not wait)."""
        await asyncio.sleep(seconds)

    async def _attempt(self, method: str, url: str, headers: dict[str, str], body: bytes, policy: HttpPolicy,
                       what: str) -> bytes:
        import aiohttp
        assert self.session is not None
        timeout = aiohttp.ClientTimeout(total=policy.timeout, sock_connect=policy.connect_timeout,
                                        sock_read=policy.read_timeout)
        try:
            async with self.session.request(method, url, headers=headers, data=body, timeout=timeout) as r:
                status = r.status
                if not 200 <= status < 300:
                    excerpt = await _read(r, EXCERPT + 1)
                    text = excerpt[:EXCERPT].decode("utf-8", "replace") + ("..." if len(excerpt) > EXCERPT else "")
                    again = status >= 500 or status == 429
                    raise _Failed(DSError(f"HTTP {status} {r.reason or ''}".rstrip() + f" from {what}: {text}",
                                          "http", status), again,
                                  retry_after(r.headers.get("Retry-After")) if again else None)
                limit = policy.max_response_bytes
                if r.content_length is not None and r.content_length > limit:
                    raise _Failed(_too_large(what, status, limit, f"{r.content_length} bytes announced"), False)
                data = await _read(r, limit + 1)
                if len(data) > limit:
                    raise _Failed(_too_large(what, status, limit, "more sent"), False)
                return data
        except _Failed:
            raise
        except asyncio.CancelledError:
            raise
        except TimeoutError as e:       # aiohttp's connect and read timeouts are TimeoutErrors too
            raise _Failed(DSError(f"{what}: {_timed_out(e, policy)}", "timeout"), True) from None
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, OSError) as e:
            raise _Failed(DSError(f"{what}: {type(e).__name__}: {e}", "http"), True) from None
        except (aiohttp.ClientError, ValueError, TypeError, LookupError) as e:
            # a bad URL, method or header: the same on every attempt
            raise _Failed(DSError(f"{what}: {type(e).__name__}: {e}", "http"), False) from None


async def _read(r: Any, most: int) -> bytes:
    """At most ``most`` bytes of the body (a little more is never kept)."""
    buf = bytearray()
    async for chunk in r.content.iter_chunked(CHUNK):
        buf += chunk
        if len(buf) >= most:
            del buf[most:]
            break
    return bytes(buf)


def outcome_of(value: bytes | DSError) -> str:
    """What one http_request came to, for the metrics: ok (a 2xx body), status (another
    answer), unreachable (no answer: refused, cut, a bad URL) or timeout."""
    if type(value) is not DSError:
        return "ok"
    if value.kind == "timeout":
        return "timeout"
    return "status" if value.code else "unreachable"


def _too_large(what: str, status: int, limit: int, detail: str) -> DSError:
    return DSError(f"{what}: the response is over max_response_bytes ({limit} bytes; {detail})", "http", status)


def _timed_out(e: BaseException, policy: HttpPolicy) -> str:
    name = type(e).__name__
    if name == "ConnectionTimeoutError":
        return f"connecting timed out after {policy.connect_timeout} s (connect_timeout)"
    if name == "SocketTimeoutError":
        return f"no data for {policy.read_timeout} s (read_timeout)"
    if policy.timeout is not None:
        return f"timed out: the attempt took over {policy.timeout} s (timeout)"
    return f"timed out ({e or name})"
