"""http_request from a flow: the body back, an Idempotency-Key header, errors as DSError values."""
import os
import sys

import pytest
from aiohttp import web

from deepslate import DSError, Engine
from deepslate.store import SQLiteStore

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "flowmods"))
import doorflows as df  # noqa: E402

pytestmark = pytest.mark.timeout(30)


async def test_http_request(tmp_path, engines):
    seen = []

    async def ok(request):
        seen.append((request.headers.get("Idempotency-Key"), request.headers.get("X-Test"), await request.read()))
        return web.Response(body=b"pong")

    async def broken(request):
        return web.Response(status=503, body=b"busy")

    app = web.Application()
    app.router.add_post("/ok", ok)
    app.router.add_post("/broken", broken)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        eng = await engines.start(Engine(SQLiteStore(str(tmp_path / "s.db")), [df.fetch], 2))
        await eng.spawn("a", "fetch", {"url": f"http://127.0.0.1:{port}/ok"})
        assert await eng.wait("a", timeout=10) == b"pong"
        assert seen[0][1:] == ("1", b"ping") and seen[0][0]
        await eng.spawn("b", "fetch", {"url": f"http://127.0.0.1:{port}/broken"})
        r = await eng.wait("b", timeout=10)
        assert isinstance(r, DSError) and r.message.startswith("HTTP 503")
        await runner.cleanup()
        await eng.spawn("c", "fetch", {"url": f"http://127.0.0.1:{port}/ok"})
        r = await eng.wait("c", timeout=10)
        assert isinstance(r, DSError) and r.kind == "http"
        await eng.stop()
    finally:
        await runner.cleanup()
