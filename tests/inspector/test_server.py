"""``spawn_inspector``: its own thread, where it binds, how it stops, and actions handed to an
engine on its own thread or on a host's event loop."""
import ipaddress
import logging
import socket
import threading
import urllib.error
import urllib.request

import aiohttp
import pytest

from deepslate import Inspector, connect, new_sqlite, spawn_inspector, spawn_workers
from deepslate.runtime import ListenError

from inspector.inspecting import ACTION
from inspector.inspectflows import FLOWS

pytestmark = pytest.mark.timeout(60)


def fetch(url, method="GET", headers=None, timeout=5):
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def inspector_threads():
    return [t for t in threading.enumerate() if t.name.startswith("deepslate-inspector")]


def test_serves_from_its_own_thread_and_stops_with_the_platform(running):
    platform, w = running
    w.spawn("c", "counter", {})
    before = set(inspector_threads())
    ins = spawn_inspector(platform, "127.0.0.1:0")
    assert isinstance(ins, Inspector) and ins.url.startswith("http://127.0.0.1:")
    status, body = fetch(ins.url + "/api/isolates/c")
    assert status == 200 and b'"count"' in body
    status, page = fetch(ins.url + "/")
    assert status == 200 and b"/app.js" in page
    assert set(inspector_threads()) - before
    w.stop()
    assert not ins.running and set(inspector_threads()) <= before
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(ins.url + "/api/flows", timeout=2)
    ins.stop()          # again: nothing to do


def test_localhost_binds_loopback_only_on_one_port(running):
    platform, _ = running
    ins = spawn_inspector(platform, "localhost:0")
    try:
        assert ins.url.startswith("http://localhost:")
        ports = {port for _, port in ins.addresses}
        assert len(ports) == 1 and all(ipaddress.ip_address(h).is_loopback for h, _ in ins.addresses)
        assert fetch(ins.url + "/api/flows")[0] == 200
        outside = _outside_address()
        if outside is not None:       # this host has a non-loopback address: nothing listens there
            with socket.socket() as s, pytest.raises(OSError):
                s.settimeout(2)
                s.connect((outside, ports.pop()))
    finally:
        ins.stop()


def _outside_address():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))         # no packet is sent: this only picks a route
        except OSError:
            return None
        ip = s.getsockname()[0]
    return None if ipaddress.ip_address(ip).is_loopback else ip


def test_a_host_name_that_does_not_resolve_is_a_listen_error(running):
    platform, _ = running
    with pytest.raises(ListenError, match=r"cannot listen on no-such-host\.invalid:0: 'no-such-host\.invalid' is not"):
        spawn_inspector(platform, "no-such-host.invalid:0")


def test_a_stop_hook_that_raises_does_not_keep_the_others_from_running(tmp_path, caplog):
    platform, _ = new_sqlite(str(tmp_path / "s.db"), "127.0.0.1:0")
    w = spawn_workers(1, platform, FLOWS)
    ins = spawn_inspector(platform, "127.0.0.1:0")
    ran = []

    def broken():
        raise OSError("cannot")
    platform.on_stop(broken)
    platform.on_stop(lambda: ran.append(1))
    with caplog.at_level(logging.ERROR):
        w.stop()
    assert ran == [1] and not ins.running and "OSError: cannot" in caplog.text


def test_a_taken_port_is_a_listen_error_naming_the_address(running):
    platform, _ = running
    before = set(inspector_threads())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(ListenError, match=rf"deepslate inspector cannot listen on 127\.0\.0\.1:{port}: "):
            spawn_inspector(platform, f"127.0.0.1:{port}")
    assert set(inspector_threads()) <= before


def test_a_host_that_is_not_this_one_is_a_listen_error(running):
    platform, _ = running
    with pytest.raises(ListenError, match="cannot listen on 192.0.2.1:0"):
        spawn_inspector(platform, "192.0.2.1:0")


@pytest.mark.parametrize("kw,error,match", [
    ({"addr": "nowhere"}, ValueError, "'host:port'"), ({"addr": "127.0.0.1:0", "token": ""}, ValueError, "token"),
])
def test_bad_arguments_are_named(running, kw, error, match):
    platform, _ = running
    with pytest.raises(error, match=match):
        spawn_inspector(platform, **kw)


def test_it_needs_a_platform_that_runs():
    with pytest.raises(TypeError, match="platform from new_sqlite"):
        spawn_inspector("s.db", "127.0.0.1:0")      # type: ignore[arg-type]


def test_a_stopped_platform_is_refused(tmp_path):
    platform, _ = new_sqlite(str(tmp_path / "s.db"), "127.0.0.1:0")
    spawn_workers(1, platform, FLOWS).stop()
    with pytest.raises(RuntimeError, match="was stopped"):
        spawn_inspector(platform, "127.0.0.1:0")


def test_without_a_token_on_a_public_address_it_warns(running, caplog):
    platform, _ = running
    with caplog.at_level(logging.WARNING, logger="deepslate.inspector"):
        ins = spawn_inspector(platform, "0.0.0.0:0")
    try:
        assert "without a token" in caplog.text
        assert fetch(f"http://127.0.0.1:{ins.addresses[0][1]}/api/flows")[0] == 200
    finally:
        ins.stop()


def test_before_the_workers_start_reads_work_and_actions_wait_for_an_engine(tmp_path):
    platform, _ = new_sqlite(str(tmp_path / "s.db"), "127.0.0.1:0")
    ins = spawn_inspector(platform, "127.0.0.1:0")
    try:
        assert fetch(ins.url + "/api/isolates")[0] == 200
        w = spawn_workers(2, platform, FLOWS)
        w.spawn("c", "counter", {})
        status, body = fetch(ins.url + "/api/isolates/c/cancel", "POST", ACTION)
        assert status == 200, body
        assert platform.store.get_isolate("c").status == "cancelled"
        w.stop()
        assert not ins.running
    finally:
        ins.stop()
        platform.store.close()


def test_an_action_without_an_engine_is_503(tmp_path):
    platform, _ = new_sqlite(str(tmp_path / "s.db"), "127.0.0.1:0")
    w = spawn_workers(1, platform, FLOWS)
    w.spawn("c", "slow_counter", {})
    platform.engine, runner = None, platform.runner        # as before spawn_workers
    ins = spawn_inspector(platform, "127.0.0.1:0")
    try:
        status, body = fetch(ins.url + "/api/isolates/c/cancel", "POST", ACTION)
        assert status == 503 and b"no engine runs on this platform" in body
    finally:
        ins.stop()
        platform.engine = runner.engine
        w.stop()


async def test_actions_reach_an_engine_on_the_hosts_loop(tmp_path):
    platform, _ = new_sqlite(str(tmp_path / "s.db"), "127.0.0.1:0")
    async with connect(platform, FLOWS) as client:
        ins = spawn_inspector(platform, "127.0.0.1:0", token="t")
        await client.spawn("c", "counter", {})
        auth = {"Authorization": "Bearer t", **ACTION}
        async with aiohttp.ClientSession() as http:
            async with http.post(ins.url + "/api/isolates/c/cancel", headers=auth) as r:
                assert r.status == 200, await r.text()
            assert await client.status("c") == "cancelled"
            async with http.get(ins.url + "/api/stats", headers=auth) as r:
                assert r.status == 200
    assert not ins.running          # closing the client stopped the platform, and the inspector with it

