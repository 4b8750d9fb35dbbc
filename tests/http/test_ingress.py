"""The HTTP ingress: delivery, order, early arrival, trees, every refusal with nothing stored."""
import asyncio
import json
import socket
import threading
import urllib.error
import urllib.request

import aiohttp
import pytest
from yarl import URL

import listenflows as hf
from deepslate import Engine, Ingress, new_sqlite, spawn_workers
from deepslate.runtime import ListenError
from deepslate.store import SQLiteStore


def at(served, path):
    return URL(served.url + path, encoded=True)


async def post(client, url, body=b"", method="POST", **kw):
    async with client.request(method, url, data=body, **kw) as r:
        return r.status, await r.json(content_type=None)


async def test_a_post_reaches_http_listen_and_is_answered_once_committed(serve, client):
    s = await serve([hf.listener])
    await s.engine.spawn("l", "listener", {"n": 2})
    status, out = await post(client, at(s, "/l/numbers"), b"one", headers={"Content-Type": "text/plain"})
    assert status == 202
    assert out["isolate"] == "l" and out["route"] == "/numbers" and out["duplicate"] is False
    # answered after the commit: another connection sees the row (or its take) at once
    (stored,), = s.sql("SELECT count(*) FROM inbox WHERE id = ?", (out["id"],))
    taken = await s.engine.status("l")
    assert stored == 1 or taken in ("running", "waiting")
    assert (await post(client, at(s, "/l/numbers"), b"two"))[0] == 202
    assert await s.engine.wait("l", timeout=10) == [b"one", b"two"]


async def test_headers_are_kept_with_the_body(serve, client):
    s = await serve([hf.late_listener], dedupe_header="Idempotency-Key")
    await s.engine.spawn("h", "late_listener", {"n": 1, "delay": 30.0})
    status, _ = await post(client, at(s, "/h/late"), b"{}", method="PUT",
                           headers={"Content-Type": "application/json", "Idempotency-Key": "d-1"})
    assert status == 202
    (headers,), = s.sql("SELECT headers FROM inbox")
    assert json.loads(headers) == {"content-type": "application/json", "delivery-id": "d-1"}


async def test_concurrent_posts_are_delivered_in_the_order_they_were_acknowledged(serve, client):
    s = await serve([hf.listener])
    n = 40
    await s.engine.spawn("l", "listener", {"n": n})
    outs = await asyncio.gather(*[post(client, at(s, "/l/numbers"), str(i).encode()) for i in range(n)])
    assert all(st == 202 for st, _ in outs)
    by_id = sorted((o["id"], str(i).encode()) for i, (_, o) in enumerate(outs))
    assert await s.engine.wait("l", timeout=20) == [b for _, b in by_id]


async def test_messages_that_arrive_before_the_flow_listens_wait_in_order(serve, client):
    s = await serve([hf.late_listener])
    await s.engine.spawn("late", "late_listener", {"n": 3, "delay": 0.5})
    for b in (b"a", b"b", b"c"):
        assert (await post(client, at(s, "/late/late"), b, method="PUT"))[0] == 202
    assert s.rows() == 3           # all three wait; the flow is still asleep
    assert await s.engine.wait("late", timeout=10) == [b"a", b"b", b"c"]


async def test_a_child_serves_its_parents_route_under_either_name(serve, client):
    s = await serve([hf.shop, hf.pay_desk])
    await s.engine.spawn("shop", "shop", {"n": 3})
    assert (await post(client, at(s, "/shop/pay"), b"to-parent"))[0] == 202
    assert (await post(client, at(s, "/shop%2F1/pay"), b"to-child"))[0] == 202
    assert (await post(client, at(s, "/shop/pay"), b"again"))[0] == 202
    assert await s.engine.wait("shop", timeout=10) == [b"to-parent", b"to-child", b"again"]


async def test_two_listeners_of_one_tree_on_one_route_take_each_message_once(serve, client):
    s = await serve([hf.two_takers, hf.job_taker])
    n = 30
    await s.engine.spawn("jobs", "two_takers", {"n": n})
    sent = [f"j{i}".encode() for i in range(n)]
    outs = await asyncio.gather(*[post(client, at(s, "/jobs/job"), b) for b in sent])
    assert all(st == 202 for st, _ in outs)
    got = await s.engine.wait("jobs", timeout=20)
    assert sorted(got) == sorted(sent)


async def test_percent_encoded_names(serve, client):
    s = await serve([hf.listener])
    await s.engine.spawn("ordre é 1", "listener", {"n": 1})
    assert (await post(client, at(s, "/ordre%20%C3%A9%201/numbers"), b"x"))[0] == 202
    assert await s.engine.wait("ordre é 1", timeout=10) == [b"x"]


async def test_a_route_with_encoded_characters_is_matched_decoded(serve, client):
    s = await serve([hf.inbox_forever])
    await s.engine.spawn("r", "inbox_forever", {"route": "/a b"})
    assert (await post(client, at(s, "/r/a%20b"), b"x"))[0] == 202
    for _ in range(100):
        if s.rows() == 0:
            break
        await asyncio.sleep(0.02)
    assert s.rows() == 0           # taken by the listener


# -- refusals: a JSON reason, and nothing stored ---------------------------------------------

async def refused(s, client, path, status, match, body=b"x", method="POST", **kw):
    st, out = await post(client, at(s, path), body, method=method, **kw)
    assert st == status, out
    assert match in out["error"], out
    assert s.rows() == 0 and s.rows("inbox_seen") == 0
    return out


async def test_unknown_isolate_is_404(serve, client):
    s = await serve([hf.listener])
    await refused(s, client, "/nobody/numbers", 404, "no isolate named 'nobody'")


async def test_finished_isolate_is_410(serve, client):
    s = await serve([hf.add])
    await s.engine.spawn("sum", "add", {"a": 1, "b": 2})
    assert await s.engine.wait("sum", timeout=10) == 3
    await refused(s, client, "/sum/numbers", 410, "has finished")


async def test_what_cannot_be_a_delivery_is_400_or_405(serve, client):
    s = await serve([hf.listener])
    await s.engine.spawn("l", "listener", {"n": 1})
    await refused(s, client, "/l", 400, "no route")
    await refused(s, client, "/", 400, "no isolate name")
    await refused(s, client, "/%FF/numbers", 400, "not percent-encoded UTF-8")
    await refused(s, client, "/l%2Fx/numbers", 400, "child numbers")
    await refused(s, client, "/%2Fl/numbers", 400, "starts with '/'")
    await refused(s, client, "/l%0A/numbers", 400, "control character")
    out = await refused(s, client, "/l/numbers", 405, "takes no OPTIONS", method="OPTIONS")
    async with client.request("TRACE", at(s, "/l/numbers")) as r:
        assert r.status == 405 and "POST" in r.headers["Allow"]
    assert out


async def test_body_over_the_limit_is_413_with_content_length(serve, client):
    s = await serve([hf.listener], max_body=1000)
    await s.engine.spawn("l", "listener", {"n": 1})
    await refused(s, client, "/l/numbers", 413, "1001 bytes, over the limit of 1000", body=b"x" * 1001)
    assert (await post(client, at(s, "/l/numbers"), b"y" * 1000))[0] == 202   # exactly the limit
    assert await s.engine.wait("l", timeout=10) == [b"y" * 1000]


async def test_body_over_the_limit_is_413_when_chunked(serve, client):
    s = await serve([hf.listener], max_body=1000)
    await s.engine.spawn("l", "listener", {"n": 1})

    async def chunks(total):
        for _ in range(total // 100):
            yield b"z" * 100
    await refused(s, client, "/l/numbers", 413, "over the limit of 1000", body=chunks(5000))
    await refused(s, client, "/l/numbers", 413, "over the limit of 1000", body=chunks(1100))
    st, _ = await post(client, at(s, "/l/numbers"), chunks(1000))
    assert st == 202
    assert await s.engine.wait("l", timeout=10) == [b"z" * 1000]


async def test_the_default_limit_is_one_mebibyte(serve, client):
    s = await serve([hf.listener])
    await s.engine.spawn("l", "listener", {"n": 1})
    await refused(s, client, "/l/numbers", 413, "over the limit of 1048576", body=b"q" * ((1 << 20) + 1))
    assert (await post(client, at(s, "/l/numbers"), b"q" * (1 << 20)))[0] == 202


async def test_a_stopped_engine_answers_503_and_stores_nothing(serve, client):
    s = await serve([hf.listener])
    await s.engine.spawn("l", "listener", {"n": 1})
    server = s.engine.ingress
    s.engine.started = False          # the moment between stop() being called and the server closing
    try:
        req = await aiohttp.ClientSession().__aenter__()
        try:
            async with req.post(at(s, "/l/numbers"), data=b"x") as r:
                assert r.status == 503 and "not running" in (await r.json())["error"]
        finally:
            await req.close()
    finally:
        s.engine.started = True
    assert server is s.engine.ingress and s.rows() == 0


# -- slow clients ----------------------------------------------------------------------------

async def test_a_client_trickling_its_body_does_not_hold_up_others(serve, client):
    s = await serve([hf.listener])
    await s.engine.spawn("l", "listener", {"n": 1})
    host, port = s.url[len("http://"):].rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"POST /l/numbers HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nslow")
    await writer.drain()
    # while that body is still coming, another request is served to the end
    assert (await post(client, at(s, "/l/numbers"), b"fast"))[0] == 202
    assert await s.engine.wait("l", timeout=10) == [b"fast"]
    assert not reader.at_eof() and len(reader._buffer) == 0      # the slow one has no answer yet
    writer.close()


async def test_a_body_that_does_not_arrive_in_time_is_408(serve, client):
    s = await serve([hf.listener], body_timeout=0.3)
    await s.engine.spawn("l", "listener", {"n": 1})
    host, port = s.url[len("http://"):].rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"POST /l/numbers HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly-part")
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert head.startswith(b"HTTP/1.1 408")
    writer.close()
    assert s.rows() == 0


# -- starting and stopping -----------------------------------------------------------------------

async def test_port_0_binds_a_free_port_that_can_be_read(serve):
    a = await serve([hf.listener])
    b = await serve([hf.listener])
    assert a.url.startswith("http://127.0.0.1:") and a.url != b.url
    assert int(a.url.rsplit(":", 1)[1]) > 0


async def test_a_taken_port_is_a_clear_error_naming_the_address(tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    addr = f"127.0.0.1:{taken.getsockname()[1]}"
    store = SQLiteStore(str(tmp_path / "s.db"))
    try:
        with pytest.raises(ListenError, match=f"cannot listen on {addr}"):
            await Engine(store, [hf.listener], listen_addr=addr).start()
    finally:
        store.close()
        taken.close()


def test_a_taken_port_at_spawn_workers_leaves_no_thread_behind(tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    addr = f"127.0.0.1:{taken.getsockname()[1]}"
    before = set(threading.enumerate())
    platform, _ = new_sqlite(str(tmp_path / "s.db"), addr)
    try:
        with pytest.raises(OSError, match=f"deepslate ingress cannot listen on {addr}"):
            spawn_workers(2, platform, [hf.listener])
        for t in set(threading.enumerate()) - before:
            t.join(5)
        assert not [t for t in threading.enumerate() if t not in before and t.is_alive()]
    finally:
        platform.store.close()
        taken.close()


def test_spawn_workers_serves_the_ingress_from_synchronous_code(tmp_path):
    platform, _ = new_sqlite(str(tmp_path / "s.db"), "127.0.0.1:0")
    spawn, wait, cancel, stop = spawn_workers(2, platform, [hf.listener])
    try:
        spawn("l", "listener", {"n": 1})
        url = platform.engine.ingress_url + "/l/numbers"
        with urllib.request.urlopen(urllib.request.Request(url, data=b"sync", method="POST"), timeout=10) as r:
            assert r.status == 202
        assert wait("l", timeout=10) == [b"sync"]
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(urllib.request.Request(url, data=b"late", method="POST"), timeout=10)
        assert e.value.code == 410
    finally:
        stop()
    with pytest.raises(OSError):        # stopped: nothing listens there any more
        urllib.request.urlopen(urllib.request.Request(url, data=b"x", method="POST"), timeout=5)


async def test_engine_without_listen_addr_serves_nothing(tmp_path):
    store = SQLiteStore(str(tmp_path / "s.db"))
    eng = await Engine(store, [hf.listener]).start()
    try:
        assert eng.ingress_url is None
        await eng.spawn("l", "listener", {"n": 1})
        assert await eng.send("l", "POST", "/numbers", b"by send") > 0
        assert await eng.wait("l", timeout=10) == [b"by send"]
    finally:
        await eng.stop()
        store.close()


@pytest.mark.parametrize("kw, err, match", [
    ({"max_body": 0}, ValueError, "max_body must be a positive number of bytes"),
    ({"max_body": True}, ValueError, "max_body"),
    ({"verify": "secret"}, TypeError, "verify must be a deepslate.webhooks verifier"),
    ({"routes": [("/x", None)]}, TypeError, "routes must be a dict"),
    ({"routes": {"x": None}}, ValueError, "a route starts with '/'"),
    ({"routes": {"HEAD /x": None}}, ValueError, "http_listen takes no HEAD"),
    ({"routes": {"/x": "secret"}}, TypeError, "maps to a str"),
    ({"routes": {3: None}}, TypeError, "keys are 'METHOD /route'"),
    ({"dedupe_header": ""}, ValueError, "dedupe_header must be a header name"),
    ({"body_timeout": 0}, ValueError, "body_timeout must be a positive number"),
    ({"body_timeout": float("inf")}, ValueError, "body_timeout"),
    ({"dedupe_seconds": -1}, ValueError, "dedupe_seconds must be a positive number"),
    ({"dedupe_seconds": "7d"}, ValueError, "dedupe_seconds"),
])
def test_bad_ingress_settings_are_clear_errors(kw, err, match):
    with pytest.raises(err, match=match):
        Ingress(**kw)


def test_bad_listen_addr_and_ingress_are_refused(tmp_path):
    with pytest.raises(ValueError, match="listen_addr must be 'host:port'"):
        new_sqlite(str(tmp_path / "s.db"), "127.0.0.1:99999")
    with pytest.raises(TypeError, match="ingress must be a deepslate.Ingress"):
        new_sqlite(str(tmp_path / "s.db"), "127.0.0.1:0", ingress={"max_body": 5})
    store = SQLiteStore(str(tmp_path / "e.db"))
    try:
        with pytest.raises(ValueError, match="listen_addr"):
            Engine(store, [hf.listener], listen_addr="nowhere")
        with pytest.raises(TypeError, match="ingress must be"):
            Engine(store, [hf.listener], ingress=5)
    finally:
        store.close()


@pytest.mark.parametrize("name", ["co", "co%2F1"])
async def test_a_child_selecting_on_a_route_is_reached_through_either_name(serve, client, name):
    s = await serve([hf.checkout])
    await s.engine.spawn("co", "checkout", {"seconds": 30.0})
    while await s.engine.status("co/1") != "waiting":
        await asyncio.sleep(0.01)
    assert (await post(client, at(s, f"/{name}/pay"), b"paid 42"))[0] == 202
    assert await s.engine.wait("co", timeout=10) == b"paid 42"
    assert await s.engine.status("co/1") == "done"
    assert s.rows() == 0


async def test_a_post_after_the_select_timed_out_is_refused_once_the_tree_has_ended(serve, client):
    s = await serve([hf.checkout])
    await s.engine.spawn("co", "checkout", {"seconds": 0.05})
    assert await s.engine.wait("co", timeout=10) == b"gave up"
    status, out = await post(client, at(s, "/co/pay"), b"too late")
    assert status == 410 and "finished" in out["error"]
    assert s.rows() == 0


async def test_a_waiting_listener_gets_a_new_message_without_another_read_of_the_inbox(serve, client):
    # it has looked since every older message was committed: the new one is handed over as it
    # lands, and only the next listen reads the inbox
    s = await serve([hf.listener])
    await s.engine.spawn("l", "listener", {"n": 3})
    store = s.engine.store
    while s.engine.by_name["l"].listen != "waiting":
        await asyncio.sleep(0.005)
    peeks = []
    real = store.inbox_peek
    store.inbox_peek = lambda *a: peeks.append(a) or real(*a)
    for body in (b"one", b"two", b"three"):
        assert (await post(client, at(s, "/l/numbers"), body))[0] == 202
        while s.engine.by_name.get("l") is not None and s.engine.by_name["l"].listen != "waiting":
            await asyncio.sleep(0.005)
    assert await s.engine.wait("l", timeout=10) == [b"one", b"two", b"three"]
    # the looks of the second and third listen, none for a delivery (else 5: one more per message)
    assert len(peeks) == 2, peeks
