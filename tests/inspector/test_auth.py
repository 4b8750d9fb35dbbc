"""The inspector's guards: the token (bearer or cookie) on every route, the action header on
every POST, the Host of a loopback-only inspector."""
import pytest
from aiohttp.test_utils import TestClient, TestServer

from inspector.inspecting import ACTION, app_of, until

pytestmark = pytest.mark.timeout(60)

TOKEN = "s3cret-tök"
ROUTES = [("GET", "/"), ("GET", "/app.js"), ("GET", "/app.css"), ("GET", "/api/isolates"),
          ("GET", "/api/isolates/c"), ("GET", "/api/flows"), ("GET", "/api/stats"), ("GET", "/api/openapi.json"), ("GET", "/metrics"),
          ("POST", "/api/isolates/c/cancel"), ("POST", "/api/isolates/c/retry"), ("POST", "/api/isolates/c/send")]


@pytest.fixture
async def guarded(running):
    platform, w = running
    w.spawn("c", "counter", {})
    async with TestClient(TestServer(app_of(platform, token=TOKEN))) as c:
        yield platform, c


def alive(platform):
    return platform.store.get_isolate("c").status in ("running", "sleeping")


@pytest.mark.parametrize("method,path", ROUTES)
async def test_every_route_needs_the_token(guarded, method, path):
    platform, c = guarded
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
                    {"Authorization": f"Bearer {TOKEN}x"}, {"Cookie": "deepslate_inspector_test=wrong"}):
        r = await c.request(method, path, headers={**ACTION, **headers}, json={"method": "POST", "route": "/a"})
        assert r.status == 401, (headers, await r.text())
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
        if path.startswith("/api/"):
            assert "needs its token" in (await r.json())["error"]
    assert alive(platform)


@pytest.mark.parametrize("method,path", [r for r in ROUTES if r[0] == "GET"])
async def test_the_bearer_token_opens_every_read(guarded, method, path):
    _, c = guarded
    r = await c.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status == 200, await r.text()


async def test_the_page_with_the_token_sets_a_cookie_and_drops_it_from_the_address(guarded):
    _, c = guarded
    r = await c.get("/", params={"token": "nope"}, allow_redirects=False)
    assert r.status == 401 and "asks for its token" in await r.text()
    r = await c.get("/", params={"token": TOKEN}, allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/"
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("deepslate_inspector_test=") and "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie and "Path=/" in cookie
    # the test client keeps cookies as a browser does
    assert (await c.get("/")).status == 200
    assert (await c.get("/api/isolates")).status == 200
    page = await c.get("/")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


async def test_a_post_with_the_token_but_without_the_action_header_is_403(guarded):
    platform, c = guarded
    r = await c.post("/api/isolates/c/cancel", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status == 403 and "X-Deepslate-Action" in (await r.json())["error"]
    await until(lambda: platform.store.get_isolate("c").steps > 3)
    assert alive(platform)
    r = await c.post("/api/isolates/c/cancel", headers={"Authorization": f"Bearer {TOKEN}", **ACTION})
    assert r.status == 200
    assert platform.store.get_isolate("c").status == "cancelled"


async def test_a_cross_site_form_post_with_the_cookie_cannot_act(guarded):
    platform, c = guarded
    await c.get("/", params={"token": TOKEN})
    # what a form can send: a simple content type, no custom header
    r = await c.post("/api/isolates/c/cancel", data={"x": "1"})
    assert r.status == 403
    assert alive(platform)


async def test_a_loopback_inspector_refuses_other_host_names(running):
    platform, _ = running
    async with TestClient(TestServer(app_of(platform))) as c:
        for host in ("localhost", "127.0.0.1:8080", "[::1]:8080", "LOCALHOST:1"):
            assert (await c.get("/api/flows", headers={"Host": host})).status == 200, host
        for host in ("evil.example", "evil.example:8080", "127.0.0.1.evil.example"):
            r = await c.get("/api/flows", headers={"Host": host})
            assert r.status == 403 and "loopback only" in (await r.json())["error"], host
    async with TestClient(TestServer(app_of(platform, loopback_only=False))) as c:
        assert (await c.get("/api/flows", headers={"Host": "inspector.internal"})).status == 200
