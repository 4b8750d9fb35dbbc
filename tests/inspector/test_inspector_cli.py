"""``deepslate inspector STORE``: the inspector for a store, in a process without its engine."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from deepslate import new_sqlite, spawn_workers

from inspector.inspecting import ACTION
from inspector.inspectflows import FLOWS

pytestmark = pytest.mark.timeout(60)

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "src")


def start(*args):
    env = dict(os.environ, PYTHONPATH=SRC)
    env.pop("DEEPSLATE_INSPECTOR_TOKEN", None)
    return subprocess.Popen([sys.executable, "-m", "deepslate", "inspector", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def served_url(p):
    line = p.stdout.readline()
    assert line.startswith("deepslate inspector: serving "), line + p.stderr.read()
    return line.split(" at ")[1].split()[0]


def call(url, method="GET", headers=None):
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.fixture
def store(tmp_path):
    path = str(tmp_path / "s.db")
    platform, _ = new_sqlite(path, "127.0.0.1:0")
    w = spawn_workers(2, platform, FLOWS)
    w.spawn("c", "slow_counter", {})
    yield path, platform
    w.stop()


def test_reads_a_live_store_and_acts_through_its_engine_then_ends_on_sigint(store):
    path, platform = store
    p = start(path, "--addr", "127.0.0.1:0", "--token", "tok")
    try:
        url = served_url(p)
        auth = {"Authorization": "Bearer tok"}
        assert call(url + "/api/isolates/c", headers={})[0] == 401
        status, d = call(url + "/api/isolates/c", headers=auth)
        assert status == 200 and d["frames"][0]["function"] == "slow_counter"
        status, body = call(url + "/api/isolates/c/cancel", "POST", {**auth, **ACTION})
        assert status == 200 and body["cancelled"] is True        # applied by the engine holding the store
        assert platform.store.get_isolate("c").status == "cancelled"
        t = time.monotonic()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=10)
        assert time.monotonic() - t < 2.0
        assert p.returncode == 0 and "Traceback" not in err, err
    finally:
        p.kill()
        p.wait()


def test_the_token_may_come_from_the_environment(store):
    path, _ = store
    env = dict(os.environ, PYTHONPATH=SRC, DEEPSLATE_INSPECTOR_TOKEN="from-env")
    p = subprocess.Popen([sys.executable, "-m", "deepslate", "inspector", path, "--addr", "127.0.0.1:0"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = served_url(p)
        assert call(url + "/api/flows")[0] == 401
        assert call(url + "/api/flows", headers={"Authorization": "Bearer from-env"})[0] == 200
        p.terminate()
        assert p.wait(10) == 0
    finally:
        p.kill()
        p.wait()


def test_a_missing_store_is_named(tmp_path):
    p = start(str(tmp_path / "none.db"), "--addr", "127.0.0.1:0")
    out, err = p.communicate(timeout=30)
    assert p.returncode == 2 and "no store at" in err and "none.db" in err


def test_a_file_that_is_not_a_store_is_named(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    p = start(str(bad), "--addr", "127.0.0.1:0")
    out, err = p.communicate(timeout=30)
    assert p.returncode == 2 and "notes.txt" in err and "Traceback" not in err


def test_an_address_that_is_not_host_port_is_named(store):
    path, _ = store
    p = start(path, "--addr", "8080")
    out, err = p.communicate(timeout=30)
    assert p.returncode == 2 and "address must be 'host:port'" in err and "not '8080'" in err


def test_a_taken_address_is_named(store):
    path, _ = store
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        p = start(path, "--addr", f"127.0.0.1:{port}")
        out, err = p.communicate(timeout=30)
    assert p.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in err
