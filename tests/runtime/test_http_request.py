"""http_request from a flow against real aiohttp servers on 127.0.0.1: the body back, one
Idempotency-Key on every attempt, retries (5xx, 429, connection errors, timeouts) and what is
never retried (other 4xx), Retry-After, timeouts, per-call options, the response cap, the
status code in the DSError, and the engine's one client session (closed at stop and halt,
nothing left behind by a cancel).

Times are asserted only as lower bounds (a Retry-After pause is at least what was asked)."""
import asyncio
import email.utils
import math
import os
import socket
import sys
import time

import pytest
from aiohttp import web

from deepslate import DSError, Engine, FlowCancelled, FlowFailed, HttpPolicy
from deepslate.runtime.httpclient import OPTIONS, backoff_delay, retry_after
from deepslate.store import SQLiteStore, StoreError

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "flowmods"))
import doorflows as df  # noqa: E402
import httpflows as hf  # noqa: E402
from polling import until  # noqa: E402

pytestmark = pytest.mark.timeout(60)

FLOWS = [hf.post, hf.status, hf.own_key, hf.quick, hf.persistent, hf.capped, hf.patient, df.add]
FAST = HttpPolicy(backoff=0.01, max_backoff=0.05)


class Upstream:
    """A real aiohttp server on 127.0.0.1 (port 0) that records each request as it arrives:
    (path, Idempotency-Key header, body, monotonic time, wall time)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None, bytes, float, float]] = []
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def start(self, routes: dict) -> "Upstream":
        app = web.Application()
        for path, handler in routes.items():
            app.router.add_route("*", path, self._recording(handler))
        # a handler is cancelled when its client goes away, so a test can see a request dropped
        self.runner = web.AppRunner(app, handler_cancellation=True)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    def _recording(self, handler):
        async def h(request: web.Request) -> web.StreamResponse:
            body = await request.read()
            self.seen.append((request.path, request.headers.get("Idempotency-Key"), body, time.monotonic(), time.time()))
            return await handler(request)
        return h

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def hits(self, path: str) -> list:
        return [s for s in self.seen if s[0] == path]

    def connections(self) -> int:
        assert self.runner is not None
        return len(self.runner.server.connections)

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


@pytest.fixture
async def upstream():
    made: list[Upstream] = []

    async def make(routes: dict) -> Upstream:
        u = Upstream()
        made.append(u)
        return await u.start(routes)
    try:
        yield make
    finally:
        for u in made:
            await u.close()


def answers(*responses):
    """A handler giving the responses in turn, then the last one for ever."""
    left = list(responses)

    async def h(request):
        r = left.pop(0) if len(left) > 1 else left[0]
        return r() if callable(r) else web.Response(status=r[0], body=r[1], headers=r[2] if len(r) > 2 else None)
    return h


async def start(tmp_path, engines, policy: HttpPolicy | None = FAST, name: str = "s.db") -> Engine:
    return await engines.start(Engine(SQLiteStore(str(tmp_path / name)), FLOWS, 2, http_policy=policy))


# -- answers and headers -----------------------------------------------------------------


async def test_the_body_comes_back_and_the_request_carries_headers_body_and_a_key(tmp_path, engines, upstream):
    async def ok(request):
        assert request.headers["X-Test"] == "1" and request.method == "POST"
        return web.Response(body=b"pong")
    up = await upstream({"/ok": ok})
    eng = await start(tmp_path, engines)
    await eng.spawn("a", "post", {"url": up.url("/ok")})
    await eng.spawn("b", "post", {"url": up.url("/ok")})
    assert await eng.wait("a", timeout=10) == b"pong"
    assert await eng.wait("b", timeout=10) == b"pong"
    (_, ka, body, _, _), (_, kb, _, _, _) = up.hits("/ok")
    assert body == b"ping"
    assert ka and kb and ka != kb              # one key per call


async def test_a_flow_that_sets_its_own_idempotency_key_keeps_it(tmp_path, engines, upstream):
    async def echo(request):
        return web.Response(body=",".join(request.headers.getall("Idempotency-Key")).encode())
    up = await upstream({"/put": echo})
    eng = await start(tmp_path, engines)
    await eng.spawn("a", "own_key", {"url": up.url("/put")})
    assert await eng.wait("a", timeout=10) == b"order-7"


# -- retries -----------------------------------------------------------------------------------


async def test_5xx_is_retried_with_the_same_idempotency_key(tmp_path, engines, upstream):
    up = await upstream({"/flaky": answers((503, b"busy"), (500, b"oops"), (200, b"done"))})
    eng = await start(tmp_path, engines)
    await eng.spawn("a", "post", {"url": up.url("/flaky")})
    assert await eng.wait("a", timeout=10) == b"done"
    hits = up.hits("/flaky")
    assert len(hits) == 3
    assert len({h[1] for h in hits}) == 1 and hits[0][1]
    assert all(h[2] == b"ping" for h in hits)


async def test_retries_used_up_give_a_dserror_with_the_status_and_an_excerpt(tmp_path, engines, upstream):
    up = await upstream({"/down": answers((502, b"bad gateway " + b"x" * 500))})
    eng = await start(tmp_path, engines, HttpPolicy(retries=2, backoff=0.01, max_backoff=0.02))
    await eng.spawn("a", "post", {"url": up.url("/down")})
    r = await eng.wait("a", timeout=10)
    assert isinstance(r, DSError) and r.kind == "http" and r.code == 502
    assert r.message.startswith("HTTP 502 Bad Gateway from POST http://127.0.0.1:")
    assert "bad gateway xxx" in r.message and r.message.count("x") < 300 and "(after 3 attempts)" in r.message
    assert len(up.hits("/down")) == 3


async def test_a_flow_reads_the_status_code_of_the_error(tmp_path, engines, upstream):
    up = await upstream({"/teapot": answers((418, b"short and stout")), "/fine": answers((200, b"12345"))})
    eng = await start(tmp_path, engines)
    await eng.spawn("a", "status", {"url": up.url("/teapot")})
    await eng.spawn("b", "status", {"url": up.url("/fine")})
    assert await eng.wait("a", timeout=10) == "http 418"
    assert await eng.wait("b", timeout=10) == "ok 5"


@pytest.mark.parametrize("code", [400, 401, 404, 409, 422])
async def test_other_4xx_answers_are_not_retried(tmp_path, engines, upstream, code):
    up = await upstream({"/no": answers((code, b"no"))})
    eng = await start(tmp_path, engines)
    await eng.spawn("a", "post", {"url": up.url("/no")})
    r = await eng.wait("a", timeout=10)
    assert isinstance(r, DSError) and r.code == code and "attempts" not in r.message
    assert len(up.hits("/no")) == 1


async def test_3xx_without_a_location_is_an_error_not_a_body(tmp_path, engines, upstream):
    up = await upstream({"/nm": answers((304, b""))})
    eng = await start(tmp_path, engines)
    await eng.spawn("a", "status", {"url": up.url("/nm")})
    assert await eng.wait("a", timeout=10) == "http 304"


async def test_429_waits_at_least_the_retry_after_seconds(tmp_path, engines, upstream):
    up = await upstream({"/rl": answers((429, b"slow down", {"Retry-After": "1"}), (200, b"ok"))})
    eng = await start(tmp_path, engines, HttpPolicy(backoff=0.01, max_backoff=5.0))
    await eng.spawn("a", "post", {"url": up.url("/rl")})
    assert await eng.wait("a", timeout=10) == b"ok"
    first, second = up.hits("/rl")
    assert second[3] - first[3] >= 1.0
    assert first[1] == second[1]


async def test_retry_after_as_an_http_date(tmp_path, engines, upstream):
    asked: list[float] = []

    def later():
        when = math.floor(time.time()) + 2          # an HTTP date has whole seconds
        asked.append(when)
        return web.Response(status=503, headers={"Retry-After": email.utils.formatdate(when, usegmt=True)})
    up = await upstream({"/date": answers(later, (200, b"ok"))})
    eng = await start(tmp_path, engines, HttpPolicy(backoff=0.01, max_backoff=5.0))
    await eng.spawn("a", "post", {"url": up.url("/date")})
    assert await eng.wait("a", timeout=10) == b"ok"
    second = up.hits("/date")[1]
    assert second[4] >= asked[0] - 0.01        # not before the date asked (allowing clock rounding)


async def test_retry_after_is_capped_by_max_backoff(tmp_path, engines, upstream):
    up = await upstream({"/cap": answers((503, b"", {"Retry-After": "3600"}), (200, b"ok"))})
    eng = await start(tmp_path, engines, HttpPolicy(backoff=0.01, max_backoff=0.1))
    await eng.spawn("a", "post", {"url": up.url("/cap")})
    assert await eng.wait("a", timeout=20) == b"ok"        # not an hour
    assert len(up.hits("/cap")) == 2


def test_retry_after_parsing():
    now = 1_000_000_000.0
    assert retry_after("7", now) == 7.0
    assert retry_after(" 1.5 ", now) == 1.5
    assert retry_after("-3", now) == 0.0
    assert retry_after(email.utils.formatdate(now + 30, usegmt=True), now) == 30.0
    assert retry_after(email.utils.formatdate(now - 30, usegmt=True), now) == 0.0
    for bad in (None, "", "soon", "nan", "inf"):
        assert retry_after(bad, now) is None


def test_backoff_is_full_jitter_under_the_cap_and_retry_after_is_capped():
    p = HttpPolicy(backoff=0.5, max_backoff=3.0)
    for attempt, cap in ((0, 0.5), (1, 1.0), (2, 2.0), (3, 3.0), (10, 3.0), (200, 3.0)):
        draws = [backoff_delay(p, attempt, None) for _ in range(300)]
        assert all(0.0 <= d <= cap for d in draws)
        assert max(draws) > cap / 2 and min(draws) < cap / 2     # spread over the range, not fixed
    assert backoff_delay(p, 0, 2.5) == 2.5
    assert backoff_delay(p, 0, 60.0) == 3.0


async def test_connection_refused_is_retried_then_a_dserror_of_kind_http_code_0(tmp_path, engines):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()                       # nothing listens there now
    eng = await start(tmp_path, engines, HttpPolicy(retries=2, backoff=0.01, max_backoff=0.02))
    await eng.spawn("a", "post", {"url": f"http://127.0.0.1:{port}/x"})
    r = await eng.wait("a", timeout=10)
    assert isinstance(r, DSError) and r.kind == "http" and r.code == 0
    assert "(after 3 attempts)" in r.message


@pytest.mark.parametrize("url", ["not a url", "ftp://127.0.0.1/x", "http://"])
async def test_a_bad_url_is_a_dserror_at_once(tmp_path, engines, url):
    eng = await start(tmp_path, engines)
    await eng.spawn("a", "post", {"url": url})
    r = await eng.wait("a", timeout=10)
    assert isinstance(r, DSError) and r.kind == "http" and r.code == 0 and "attempts" not in r.message


# -- timeouts --------------------------------------------------------------------------------------


@pytest.fixture
def unanswered_port():
    """A port whose listen queue is full: connecting there hangs (Linux drops the SYNs)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    port = srv.getsockname()[1]
    fill = []
    for _ in range(4):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fill.append(c)
    yield port
    for c in fill:
        c.close()
    srv.close()


async def test_connect_timeout(tmp_path, engines, unanswered_port):
    eng = await start(tmp_path, engines, HttpPolicy(retries=1, backoff=0.01, connect_timeout=0.2))
    await eng.spawn("a", "post", {"url": f"http://127.0.0.1:{unanswered_port}/x"})
    r = await eng.wait("a", timeout=20)
    assert isinstance(r, DSError) and r.kind == "timeout" and r.code == 0
    assert "connect_timeout" in r.message and "(after 2 attempts)" in r.message


async def test_read_timeout_is_retried_then_a_timeout_error(tmp_path, engines, upstream):
    release = asyncio.Event()

    async def stall(request):
        await release.wait()
        return web.Response(body=b"late")
    up = await upstream({"/stall": stall})
    eng = await start(tmp_path, engines, HttpPolicy(retries=1, backoff=0.01, read_timeout=0.2))
    await eng.spawn("a", "post", {"url": up.url("/stall")})
    r = await eng.wait("a", timeout=20)
    release.set()
    assert isinstance(r, DSError) and r.kind == "timeout" and "read_timeout" in r.message
    hits = up.hits("/stall")
    assert len(hits) == 2 and hits[0][1] == hits[1][1]


# -- per-call options ------------------------------------------------------------------------


async def test_per_call_options_override_the_platform_policy(tmp_path, engines, upstream):
    release = asyncio.Event()

    async def stall(request):
        await release.wait()
        return web.Response(body=b"late")
    up = await upstream({"/stall": stall, "/flaky": answers((500, b""), (500, b""), (500, b""), (200, b"third"))})
    # the platform would never retry and would wait 30 s for an answer
    eng = await start(tmp_path, engines, HttpPolicy(retries=0, read_timeout=30.0))
    await eng.spawn("q", "quick", {"url": up.url("/stall")})           # timeout=0.3, retries=0
    await eng.spawn("p", "persistent", {"url": up.url("/flaky"), "n": 3})
    r = await eng.wait("q", timeout=20)
    release.set()
    assert isinstance(r, DSError) and r.kind == "timeout" and "(timeout)" in r.message
    assert len(up.hits("/stall")) == 1
    assert await eng.wait("p", timeout=20) == b"third"
    assert len(up.hits("/flaky")) == 4


async def test_a_per_call_option_the_policy_refuses_fails_the_isolate(tmp_path, engines, upstream):
    up = await upstream({"/ok": answers((200, b"ok"))})
    eng = await start(tmp_path, engines)
    await eng.spawn("a", "persistent", {"url": up.url("/ok"), "n": -1})
    with pytest.raises(FlowFailed, match="http_request option retries must be at least 0, not -1"):
        await eng.wait("a", timeout=10)
    assert up.hits("/ok") == []
    await eng.spawn("b", "persistent", {"url": up.url("/ok"), "n": 0})      # the others go on
    assert await eng.wait("b", timeout=10) == b"ok"


def test_the_compiler_knows_every_policy_field_as_an_option():
    from deepslate.compiler.calls import HTTP_OPTIONS
    assert set(HTTP_OPTIONS) == OPTIONS


# -- the response cap ------------------------------------------------------------------------------


async def test_a_response_over_max_response_bytes_is_a_dserror(tmp_path, engines, upstream):
    async def streamed(request):            # no Content-Length: the cap is found while reading
        resp = web.StreamResponse()
        await resp.prepare(request)
        for _ in range(64):
            await resp.write(b"z" * 16384)
        await resp.write_eof()
        return resp
    up = await upstream({"/big": answers((200, b"y" * 5000)), "/stream": streamed,
                         "/fits": answers((200, b"w" * 1000))})
    eng = await start(tmp_path, engines)
    await eng.spawn("a", "capped", {"url": up.url("/big"), "most": 1000})
    await eng.spawn("b", "capped", {"url": up.url("/stream"), "most": 100_000})
    await eng.spawn("c", "capped", {"url": up.url("/fits"), "most": 1000})
    for name in ("a", "b"):
        r = await eng.wait(name, timeout=10)
        assert isinstance(r, DSError) and r.kind == "http" and r.code == 200
        assert "over max_response_bytes" in r.message
    assert await eng.wait("c", timeout=10) == b"w" * 1000
    assert len(up.hits("/big")) == len(up.hits("/stream")) == 1       # not retried


# -- the session: cancel, stop, halt ---------------------------------------------------------------


async def test_cancel_while_a_request_is_in_flight_leaves_no_task_behind(tmp_path, engines, upstream):
    entered, dropped = asyncio.Event(), asyncio.Event()

    async def hang(request):
        entered.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            dropped.set()
            raise
        return web.Response()
    up = await upstream({"/hang": hang})
    eng = await start(tmp_path, engines)
    before = set(asyncio.all_tasks())
    await eng.spawn("a", "patient", {"url": up.url("/hang")})
    await asyncio.wait_for(entered.wait(), 10)
    assert eng.by_name["a"].task is not None
    assert await eng.cancel("a")
    with pytest.raises(FlowCancelled):
        await eng.wait("a", timeout=10)
    await asyncio.wait_for(dropped.wait(), 10)        # the upstream saw the request go away
    await until(lambda: not eng._effect_tasks)
    left = [t for t in asyncio.all_tasks() - before if "_request" in repr(t.get_coro())]
    assert left == []
    assert len(up.hits("/hang")) == 1


async def test_stop_closes_the_session_and_its_connections(tmp_path, engines, upstream):
    up = await upstream({"/ok": answers((200, b"ok"))})
    eng = await start(tmp_path, engines)
    session = eng.http.session
    await eng.spawn("a", "post", {"url": up.url("/ok")})
    await eng.spawn("b", "post", {"url": up.url("/ok")})
    assert await eng.wait("a", timeout=10) == b"ok" and await eng.wait("b", timeout=10) == b"ok"
    assert eng.http.session is session and not session.closed     # one session for both calls
    assert up.connections() >= 1                                    # kept alive for the next call
    await eng.stop()
    assert session.closed and eng.http.closed
    await until(lambda: up.connections() == 0)


async def test_a_halted_engine_leaves_no_open_connection(tmp_path, engines, upstream):
    up = await upstream({"/ok": answers((200, b"ok"))})
    path = str(tmp_path / "full.db")
    probe = SQLiteStore(path)
    pages = probe.db.execute("PRAGMA page_count").fetchone()[0]
    probe.close()
    eng = await engines.start(Engine(SQLiteStore(path, max_page_count=pages + 40), FLOWS, 2, http_policy=FAST))
    await eng.spawn("a", "post", {"url": up.url("/ok")})
    assert await eng.wait("a", timeout=10) == b"ok"
    assert up.connections() >= 1
    with pytest.raises(StoreError):
        for i in range(5000):
            await eng.spawn(f"i{i}" + "x" * 500, "add", {"a": 1, "b": 2})
    assert eng.failure is not None
    await until(lambda: eng.http.closed)
    await until(lambda: up.connections() == 0)


async def test_an_engine_restarted_on_its_store_opens_a_new_session(tmp_path, engines, upstream):
    up = await upstream({"/ok": answers((200, b"ok"))})
    eng = await start(tmp_path, engines)
    first = eng.http.session
    await eng.stop()
    eng = await start(tmp_path, engines)
    await eng.spawn("a", "post", {"url": up.url("/ok")})
    assert await eng.wait("a", timeout=10) == b"ok"
    assert eng.http.session is not first and first.closed


# -- configuration -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, error, match", [
    ({"retries": -1}, ValueError, "HttpPolicy retries must be at least 0, not -1"),
    ({"retries": 1.5}, TypeError, "HttpPolicy retries must be an int, not float"),
    ({"retries": True}, TypeError, "HttpPolicy retries must be an int, not bool"),
    ({"backoff": -0.1}, ValueError, "HttpPolicy backoff must be a finite number of seconds, at least 0"),
    ({"max_backoff": math.inf}, ValueError, "HttpPolicy max_backoff must be a finite number"),
    ({"connect_timeout": 0}, ValueError, "HttpPolicy connect_timeout must be a finite number of seconds, positive"),
    ({"read_timeout": math.nan}, ValueError, "HttpPolicy read_timeout must be a finite number"),
    ({"read_timeout": "30"}, TypeError, "HttpPolicy read_timeout must be a number of seconds, not str"),
    ({"timeout": -1.0}, ValueError, "HttpPolicy timeout must be a finite number of seconds, positive"),
    ({"max_response_bytes": 0}, ValueError, "HttpPolicy max_response_bytes must be at least 1, not 0"),
])
def test_bad_policy_values_are_refused_by_name(kwargs, error, match):
    with pytest.raises(error, match=match):
        HttpPolicy(**kwargs)


def test_the_policy_is_frozen_with_documented_defaults():
    p = HttpPolicy()
    assert (p.retries, p.backoff, p.max_backoff, p.connect_timeout, p.read_timeout, p.timeout,
            p.max_response_bytes) == (3, 0.5, 30.0, 10.0, 30.0, None, 16 << 20)
    assert type(HttpPolicy(connect_timeout=5).connect_timeout) is float
    with pytest.raises(AttributeError):
        p.retries = 5          # type: ignore[misc]
    with pytest.raises(TypeError, match="http_request has no option 'retry'"):
        p.override(retry=1)
    with pytest.raises(ValueError, match="http_request option timeout must be"):
        p.override(timeout=0.0)


def test_a_policy_that_is_not_an_http_policy_is_refused(tmp_path):
    from deepslate import new_sqlite
    store = SQLiteStore(str(tmp_path / "e.db"))
    try:
        with pytest.raises(TypeError, match="http_policy must be a deepslate.HttpPolicy, not dict"):
            Engine(store, FLOWS, http_policy={"retries": 1})    # type: ignore[arg-type]
    finally:
        store.close()
    with pytest.raises(TypeError, match="http_policy must be a deepslate.HttpPolicy, not dict"):
        new_sqlite(str(tmp_path / "n.db"), http_policy={"retries": 1})     # type: ignore[arg-type]
