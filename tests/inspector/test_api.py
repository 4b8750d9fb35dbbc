"""The inspector's JSON API against a real engine on a real SQLite store, through aiohttp's test
client: the list, the detail, the actions and every error they answer."""
import asyncio
import base64
import hashlib
import os
import time
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient, TestServer

from deepslate import new_sqlite, spawn_workers
from deepslate.inspector import EngineActions, StoreRequestActions
from deepslate.inspector.api import STATE
from deepslate.inspector.openapi import DOCUMENT
from deepslate.store import SQLiteStore

from inspector.inspecting import ACTION, app_of, until
from inspector.inspectflows import FLOWS, calls

pytestmark = pytest.mark.timeout(60)


def url(name, verb=""):
    return "/api/isolates/" + quote(name, safe="") + (f"/{verb}" if verb else "")


async def get(client, path, status=200):
    r = await client.get(path)
    body = await r.json()
    assert r.status == status, body
    return body


async def post(client, path, json=None, status=200, headers=ACTION):
    r = await client.post(path, json=json, headers=headers)
    body = await r.json()
    assert r.status == status, body
    return body


def status_of(platform, name):
    return platform.store.get_isolate(name).status


# -- the list ----------------------------------------------------------------------------------


async def test_list_is_newest_first_with_counts_and_filters(running, client):
    platform, w = running
    for name in ("c1", "c2"):
        w.spawn(name, "slow_counter", {})
    w.spawn("ask-ann", "approval", {"who": "ann"})
    flag = str(platform.store.path) + ".flag"
    w.spawn("pay", "payment", {"flag": flag, "cents": 100})
    await until(lambda: status_of(platform, "pay") == "failed" and status_of(platform, "ask-ann") == "waiting")
    body = await get(client, "/api/isolates")
    times = [(i["updated_at"], i["id"]) for i in body["items"]]
    assert times == sorted(times, reverse=True) and len(times) == 4
    counts = body["counts"]
    assert counts["running"] + counts["sleeping"] == 2, counts       # the two counters, between steps or not
    assert (counts["waiting"], counts["failed"], counts["done"], counts["cancelled"]) == (1, 1, 0, 0)
    assert body["total"] == 4 and body["next"] is None and body["limit"] == 50
    [failed] = (await get(client, "/api/isolates?status=failed"))["items"]
    assert failed["name"] == "pay" and "payment provider is down" in failed["error"]
    assert [i["name"] for i in (await get(client, "/api/isolates?flow=approval"))["items"]] == ["ask-ann"]
    [ask] = (await get(client, "/api/isolates?q=ASK"))["items"]
    assert ask["waiting_on"].startswith("http_listen POST /approve") and ask["wake_at"] > time.time()
    assert (await get(client, "/api/isolates?q=nobody"))["items"] == []
    assert (await get(client, "/api/flows"))["flows"] == ["approval", "payment", "slow_counter"]


async def test_pages_follow_the_cursor_and_do_not_shift(running, client):
    platform, w = running
    for i in range(7):
        w.spawn(f"w{i}", "worker", {"n": i})
    await until(lambda: platform.store.count_isolates().get("sleeping") == 7)
    seen, cursor = [], None
    while True:
        body = await get(client, "/api/isolates?limit=3" + (f"&cursor={cursor}" if cursor else ""))
        seen += [i["name"] for i in body["items"]]
        cursor = body["next"]
        if cursor is None:
            break
        assert len(body["items"]) == 3
    assert sorted(seen) == [f"w{i}" for i in range(7)] and len(seen) == 7
    first = await get(client, "/api/isolates?limit=3")
    second = await get(client, f"/api/isolates?limit=3&cursor={first['next']}")
    w.cancel(first["items"][0]["name"])         # it moves to the top: the second page stays
    await until(lambda: status_of(platform, first["items"][0]["name"]) == "cancelled")
    assert (await get(client, f"/api/isolates?limit=3&cursor={first['next']}"))["items"] == second["items"]


@pytest.mark.parametrize("query,field", [
    ("limit=0", "limit"), ("limit=501", "limit"), ("limit=ten", "limit"), ("status=asleep", "status"),
    ("cursor=bm90LWEtY3Vyc29y", "cursor"), ("cursor=%25%25", "cursor"), ("colour=red", "colour"),
    ("q=" + "x" * 201, "q"), ("status=done&status=failed", "status")])
async def test_bad_list_parameters_are_400_naming_the_field(client, query, field):
    body = await get(client, f"/api/isolates?{query}", 400)
    assert field in body["error"]


# -- the detail --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["plain", "with space", "50% off", "naïve ☃", "a%2Fb", "<b>&amp;"])
async def test_detail_of_names_that_need_encoding(running, client, name):
    platform, w = running
    w.spawn(name, "slow_counter", {})
    await until(lambda: platform.store.get_isolate(name).steps >= 2)
    d = await get(client, url(name))
    assert d["name"] == name and d["flow"] == "slow_counter" and d["status"] in ("sleeping", "running")
    [frame] = d["frames"]
    assert frame["function"] == "slow_counter" and frame["locals"]["count"] >= 1
    assert frame["types"]["count"] == "int"
    src = d["sources"]["slow_counter"]
    line = src["text"].splitlines()[frame["line"] - src["firstlineno"]]
    assert line.strip() in ("sleep(0.3)", "count = count + 1")
    for key in ("id", "result", "error", "program", "steps", "snapshot_bytes", "wake_at", "waiting_on",
                "created_at", "updated_at", "parent", "children"):
        assert key in d


async def test_children_have_links_both_ways_and_slashed_names(running, client):
    platform, w = running
    w.spawn("boss", "boss", {"n": 2})
    await until(lambda: platform.store.get_isolate("boss/2") is not None)
    d = await get(client, url("boss"))
    assert d["children"] == ["boss/1", "boss/2"] and d["parent"] is None
    child = await get(client, url("boss/2"))
    assert child["parent"] == "boss" and child["frames"][0]["locals"] == {"n": 1}


async def test_unknown_isolate_is_a_404_in_json(client):
    body = await get(client, url("nobody"), 404)
    assert body == {"error": "no isolate named 'nobody'"}
    body = await get(client, "/api/nothing-here", 404)
    assert "error" in body


async def test_stats_count_the_engines_steps(running, client):
    platform, w = running
    w.spawn("fast", "counter", {})
    body = await until(lambda: _stats_with_steps(client), what="a sample with steps")
    assert body["interval"] == 1.0 and body["window"] == 600
    last = body["samples"][-1]
    assert last["source"] == "engine" and last["statuses"].get("sleeping", 0) + last["statuses"].get("running", 0) == 1


async def _stats_with_steps(client):
    body = await get(client, "/api/stats")
    rates = [s["steps_per_second"] for s in body["samples"] if s["steps_per_second"]]
    # counter sleeps 0.05 s a step: about 20 steps a second, far from none
    return body if rates and rates[-1] > 3 else None


async def test_stats_of_a_store_with_no_engine_here_come_from_the_rows(running):
    platform, w = running
    w.spawn("fast", "counter", {})
    async with TestClient(TestServer(app_of(platform, engine=False))) as c:
        body = await until(lambda: _stats_with_steps(c), what="a sample with steps")
    assert body["samples"][-1]["source"] == "store"


async def test_the_openapi_document_describes_every_route_served(client):
    doc = await get(client, "/api/openapi.json")
    assert doc == DOCUMENT and doc["openapi"].startswith("3.1")
    served = {(r.method.lower(), r.resource.canonical) for r in client.server.app.router.routes()
              if r.method != "HEAD"}
    described = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert served == described
    for path, ops in doc["paths"].items():
        for op in ops.values():
            assert op["responses"] and op["summary"], path
            for ref in _refs(op):
                assert ref.split("/")[-1] in doc["components"]["schemas"], ref


def _refs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                yield v
            else:
                yield from _refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _refs(v)


# -- actions -------------------------------------------------------------------------------------


async def test_cancel_then_cancel_again_is_a_conflict(running, client):
    platform, w = running
    w.spawn("c", "counter", {})
    assert await post(client, url("c", "cancel")) == {"name": "c", "cancelled": True}
    assert status_of(platform, "c") == "cancelled"
    body = await post(client, url("c", "cancel"), status=409)
    assert "already ended (cancelled)" in body["error"]


async def test_retry_resumes_a_failed_isolate_once_its_cause_is_fixed(running, client, tmp_path):
    platform, w = running
    flag = str(tmp_path / "fixed")
    w.spawn("pay", "payment", {"flag": flag, "cents": 5})
    await until(lambda: status_of(platform, "pay") == "failed")
    d = await get(client, url("pay"))
    assert d["error"]["message"].startswith("RuntimeError: payment provider is down")
    [[fn, _, line, _]] = d["error"]["frames"]
    src = d["sources"][fn]
    assert "charge(flag)" in src["text"].splitlines()[line - src["firstlineno"]]
    body = await post(client, url("pay", "retry"), {"failed_at": d["updated_at"] - 1}, status=409)
    assert "changed since the failure shown" in body["error"]
    assert calls(flag) == 1
    open(flag, "w").close()
    assert await post(client, url("pay", "retry"), {"failed_at": d["updated_at"]}) == {"name": "pay", "retried": True}
    assert w.wait("pay", timeout=10) == "paid ann"
    assert calls(flag) == 2
    body = await post(client, url("pay", "retry"), {"failed_at": d["updated_at"]}, status=409)
    assert "is done, not failed" in body["error"]


async def test_a_second_retry_of_the_same_failure_is_refused(running, client, tmp_path):
    platform, w = running
    flag = str(tmp_path / "never")
    w.spawn("pay", "payment", {"flag": flag, "cents": 5})
    await until(lambda: status_of(platform, "pay") == "failed")
    failed_at = (await get(client, url("pay")))["updated_at"]
    await post(client, url("pay", "retry"), {"failed_at": failed_at})
    await until(lambda: calls(flag) == 2 and status_of(platform, "pay") == "failed")
    body = await post(client, url("pay", "retry"), {"failed_at": failed_at}, status=409)
    assert "changed since the failure shown" in body["error"]
    await post(client, url("pay", "retry"))       # without failed_at: whatever failure it is now
    await until(lambda: calls(flag) == 3 and status_of(platform, "pay") == "failed")


async def test_retry_of_a_running_isolate_is_a_conflict(running, client):
    _, w = running
    w.spawn("c", "counter", {})
    body = await post(client, url("c", "retry"), status=409)
    assert "not failed: nothing to retry" in body["error"]


@pytest.mark.parametrize("body,field", [
    ({"failed_at": "yesterday"}, "failed_at"), ({"failed_at": True}, "failed_at"), ({"when": 1}, "when"),
    ([1], "JSON object")])
async def test_bad_retry_bodies_are_400(running, client, body, field):
    _, w = running
    w.spawn("c", "counter", {})
    got = await post(client, url("c", "retry"), body, status=400)
    assert field in got["error"]


async def test_send_delivers_a_message_to_http_listen(running, client):
    platform, w = running
    w.spawn("ask", "approval", {"who": "bo"})
    await until(lambda: status_of(platform, "ask") == "waiting")
    body = await post(client, url("ask", "send"), {"method": "post", "route": "/approve", "body": "yes ✓"}, 202)
    assert body["method"] == "POST" and body["route"] == "/approve" and body["id"] > 0
    assert w.wait("ask", timeout=10) == "yes ✓"
    body = await post(client, url("ask", "send"), {"method": "POST", "route": "/approve", "body": "late"}, 409)
    assert "has finished" in body["error"]


async def test_send_takes_bytes_as_base64(running, client):
    platform, w = running
    w.spawn("ask", "approval", {"who": "bo"})
    await post(client, url("ask", "send"),
               {"method": "POST", "route": "/approve", "body_base64": base64.b64encode(b"ok").decode()}, 202)
    assert w.wait("ask", timeout=10) == "ok"


@pytest.mark.parametrize("body,status,field", [
    ({"method": "HEAD", "route": "/approve"}, 400, "method"),
    ({"method": "POST", "route": "approve"}, 400, "route"),
    ({"method": "POST"}, 400, "route"),
    ({"method": "POST", "route": "/a", "body": "x", "body_base64": "eA=="}, 400, "body and body_base64"),
    ({"method": "POST", "route": "/a", "body_base64": "not base64!"}, 400, "body_base64"),
    ({"method": "POST", "route": "/a", "body": 5}, 400, "body"),
    ({"method": "POST", "route": "/a", "colour": "red"}, 400, "colour"),
    (None, 400, "JSON object"),
    ({"method": "POST", "route": "/a", "body": "x" * 2049}, 413, "over the limit of 2048"),
])
async def test_bad_send_bodies_are_refused_and_nothing_is_delivered(running, body, status, field):
    platform, w = running
    w.spawn("ask", "approval", {"who": "bo"})
    async with TestClient(TestServer(app_of(platform, max_body=2048))) as c:
        got = await post(c, url("ask", "send"), body, status=status)
    assert field in got["error"]
    assert platform.store.inbox_list(platform.store.get_isolate("ask").id) == []


async def test_a_body_that_is_not_json_is_400(running, client):
    _, w = running
    w.spawn("ask", "approval", {"who": "bo"})
    r = await client.post(url("ask", "send"), data=b"{nope", headers=ACTION)
    assert r.status == 400 and "not JSON" in (await r.json())["error"]


@pytest.mark.parametrize("verb,body", [("cancel", None), ("retry", None),
                                       ("send", {"method": "POST", "route": "/a", "body": ""})])
async def test_actions_on_an_unknown_isolate_are_404(client, verb, body):
    got = await post(client, url("nobody", verb), body, status=404)
    assert "no isolate named 'nobody'" in got["error"]


async def test_a_post_without_the_action_header_is_403_and_changes_nothing(running, client):
    platform, w = running
    w.spawn("c", "counter", {})
    for verb in ("cancel", "retry", "send"):
        got = await post(client, url("c", verb), {}, status=403, headers={})
        assert "X-Deepslate-Action: 1" in got["error"]
    r = await client.post(url("c", "cancel"), headers={"X-Deepslate-Action": "yes"})
    assert r.status == 403
    await until(lambda: platform.store.get_isolate("c").steps > 3)
    assert status_of(platform, "c") in ("sleeping", "running")


async def test_actions_without_an_engine_in_the_process_go_through_the_store(running, tmp_path):
    """A standalone inspector files each verb in the store's requests table; the engine that holds
    the store applies it and answers."""
    platform, w = running
    w.spawn("c", "counter", {})
    w.spawn("pay", "payment", {"flag": str(tmp_path / "never"), "cents": 1})
    await until(lambda: status_of(platform, "pay") == "failed")
    app = app_of(platform, actions=StoreRequestActions(platform.store.path), engine=False)
    async with TestClient(TestServer(app)) as c:
        failed_at = platform.store.get_isolate("pay").updated_at
        assert (await post(c, url("pay", "retry"), {"failed_at": failed_at}))["retried"] is True
        await until(lambda: status_of(platform, "pay") == "failed" and
                    platform.store.get_isolate("pay").updated_at != failed_at)
        got = await post(c, url("pay", "retry"), {"failed_at": failed_at}, status=409)   # that failure: retried
        assert "changed since the failure shown" in got["error"]
        assert (await post(c, url("c", "send"), {"method": "POST", "route": "/a", "body": "hi"}, status=202))["id"] > 0
        assert (await post(c, url("c", "cancel")))["cancelled"] is True
        assert status_of(platform, "c") == "cancelled"
        await post(c, url("c", "send"), {"method": "POST", "route": "/a"}, status=409)    # its tree has ended


async def test_standalone_actions_with_no_engine_holding_the_store_are_503(tmp_path):
    platform, _ = new_sqlite(str(tmp_path / "s.db"), "127.0.0.1:0")
    w = spawn_workers(2, platform, FLOWS)
    w.spawn("c", "slow_counter", {})
    w.stop()
    app = app_of(platform, actions=StoreRequestActions(platform.store.path), engine=False)
    async with TestClient(TestServer(app)) as c:
        got = await post(c, url("c", "cancel"), status=503)
        assert "no engine holds this store" in got["error"] and "when one opens it" in got["error"]


async def test_actions_after_the_engine_stopped_are_503(tmp_path):
    platform, _ = new_sqlite(str(tmp_path / "s.db"), "127.0.0.1:0")
    w = spawn_workers(2, platform, FLOWS)
    w.spawn("c", "slow_counter", {})
    app = app_of(platform)
    async with TestClient(TestServer(app)) as c:
        w.stop()
        got = await post(c, url("c", "cancel"), status=503)
        assert "engine is not running" in got["error"]


async def test_an_engine_that_does_not_answer_in_time_is_a_504(running):
    platform, w = running
    w.spawn("stuck", "stuck", {"seconds": 2.0})
    await until(lambda: platform.store.get_isolate("stuck").steps >= 1, what="the sleep before the hold")
    await asyncio.sleep(0.3)                   # the @pure now holds the engine's loop
    async with TestClient(TestServer(app_of(platform, actions=EngineActions(platform, timeout=0.3)))) as c:
        got = await post(c, url("stuck", "cancel"), status=504)
    assert "did not answer within 0.3 s" in got["error"] and "may still take effect" in got["error"]
    await until(lambda: status_of(platform, "stuck") == "cancelled", what="the cancel, once the loop is free")


async def test_a_store_that_cannot_be_read_is_a_503(running):
    platform, w = running
    w.spawn("c", "slow_counter", {})
    app = app_of(platform)
    async with TestClient(TestServer(app)) as c:
        # the inspector's own connection, not the engine's; closed under the store's lock, so
        # not under a read of the sampler's
        app[STATE].reader.store.close()
        got = await get(c, url("c"), 503)
        assert got["error"].startswith("the store cannot be read: ")
        got = await get(c, "/api/isolates", 503)
    assert status_of(platform, "c") in ("running", "sleeping")


# -- a GET never writes ----------------------------------------------------------------------------


def _digest(path):
    """The store's bytes: the file, and what its WAL holds (a reader may leave an empty one)."""
    wal = open(path + "-wal", "rb").read() if os.path.exists(path + "-wal") else b""
    return hashlib.sha256(open(path, "rb").read()).hexdigest(), hashlib.sha256(wal).hexdigest()


async def test_no_get_route_changes_the_store_file(tmp_path):
    path = str(tmp_path / "s.db")
    platform, _ = new_sqlite(path, "127.0.0.1:0")
    w = spawn_workers(2, platform, FLOWS)
    w.spawn("c", "slow_counter", {})
    w.spawn("ask", "approval", {"who": "ann"})
    w.spawn("boss", "boss", {"n": 1})
    w.spawn("pay", "payment", {"flag": str(tmp_path / "never"), "cents": 1})
    await until(lambda: platform.store.get_isolate("pay").status == "failed")
    w.send("ask", "POST", "/later", b"queued")
    w.stop()
    before = _digest(path)
    store = SQLiteStore(path, readonly=True)
    names = [r.name for r in store.list_isolates(limit=100)]
    store.close()
    app = app_of(platform, actions=StoreRequestActions(path), engine=False)
    async with TestClient(TestServer(app)) as c:
        gets = [r.resource.canonical for r in c.server.app.router.routes() if r.method == "GET"]
        hit = set()
        for route in gets:
            if "{name}" in route:
                for n in names:
                    r = await c.get(route.replace("{name}", quote(n, safe="")))
                    assert r.status == 200, route
            else:
                for q in ("", "?status=failed", "?flow=approval&q=as&limit=1"):
                    r = await c.get(route + q)
                    assert r.status in (200, 400), route
            hit.add(route)
        assert {"/", "/api/isolates", "/api/isolates/{name}", "/api/stats", "/api/flows"} <= hit
        await until(lambda: len(app[STATE].sampler.samples) >= 2, what="two samples")
    assert _digest(path) == before


async def test_metrics_of_the_engine_and_of_a_store_alone(running):
    platform, w = running
    w.spawn("c", "counter", {})
    await until(lambda: platform.store.get_isolate("c").steps >= 2)
    async with TestClient(TestServer(app_of(platform))) as c:
        r = await c.get("/metrics")
        text = await r.text()
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        steps = [float(line.split()[-1]) for line in text.splitlines() if line.startswith("deepslate_steps_total ")]
        assert steps and steps[0] >= 2
    async with TestClient(TestServer(app_of(platform, engine=False))) as c:
        text = await (await c.get("/metrics")).text()
        assert 'deepslate_isolates{status="sleeping"} 1' in text or 'deepslate_isolates{status="running"} 1' in text
        assert "deepslate_steps_total" not in text
