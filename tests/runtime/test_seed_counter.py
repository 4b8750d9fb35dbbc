"""The original README's counter server (examples/seed_counter) run under uvicorn: spawn over
HTTP, watch ``count`` rise through the inspector's API, SIGKILL, restart, ``count`` goes on;
Ctrl+C ends it promptly and quietly."""
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

HERE = pathlib.Path(__file__).resolve()
EXAMPLE = HERE.parents[2] / "examples" / "seed_counter"
SRC = HERE.parents[2] / "src"
pytestmark = pytest.mark.timeout(120)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(method, url, timeout=5):
    req = urllib.request.Request(url, data=b"" if method == "POST" else None, method=method)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def _until(fn, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            got = fn()
            if got is not None:
                return got
        except (urllib.error.URLError, ConnectionError, OSError, KeyError, IndexError) as e:
            last = e
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} (last error: {last!r})")


class Server:
    def __init__(self, tmp_path):
        self.app_port, self.ingress, self.inspector = _free_port(), _free_port(), _free_port()
        self.env = dict(os.environ, COUNTER_DB=str(tmp_path / "counter.db"),
                        COUNTER_INGRESS=f"127.0.0.1:{self.ingress}", COUNTER_INSPECTOR=f"127.0.0.1:{self.inspector}",
                        PYTHONPATH=str(SRC))
        self.tmp_path = tmp_path
        self.p = None

    def start(self):
        self.p = subprocess.Popen([sys.executable, "-m", "uvicorn", "--app-dir", str(EXAMPLE), "server_sqlite:app",
                                   "--host", "127.0.0.1", "--port", str(self.app_port)],
                                  cwd=self.tmp_path, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        return self

    def spawn(self, name):
        return _until(lambda: _call("POST", f"http://127.0.0.1:{self.app_port}/counter/{name}"), "the app")

    def count(self, name):
        d = _call("GET", f"http://127.0.0.1:{self.inspector}/api/isolates/{name}")
        return d["frames"][0]["locals"]["count"] if d["frames"] else None

    def count_at_least(self, name, n):
        return _until(lambda: (c := self.count(name)) is not None and c >= n and c or None,
                      f"count of {name} >= {n}")


def test_seed_counter_survives_a_kill_and_stops_on_ctrl_c(tmp_path):
    s = Server(tmp_path).start()
    try:
        assert s.spawn("my-counter") == {"id": 1, "exists": False}
        first = s.count_at_least("my-counter", 2)
        s.p.send_signal(signal.SIGKILL)
        s.p.communicate(timeout=30)
        s.start()
        assert s.spawn("my-counter") == {"id": 1, "exists": True}
        resumed = _until(lambda: s.count("my-counter"), "the inspector after the restart")
        assert resumed >= first                      # continued from its snapshot, not from 0
        s.count_at_least("my-counter", resumed + 2)  # and goes on counting
        s.p.send_signal(signal.SIGINT)
        t0 = time.monotonic()
        out, err = s.p.communicate(timeout=30)
        took = time.monotonic() - t0
        assert s.p.returncode == 0, err
        assert took < 2.0, f"Ctrl+C took {took:.2f} s"
        assert "Traceback" not in err and "Error" not in err.replace("ERROR", ""), err
    finally:
        if s.p.poll() is None:
            s.p.kill()
            s.p.communicate(timeout=30)
