"""The original README's counter server (examples/seed_counter) run under uvicorn: spawn over
HTTP, watch ``count`` rise through the inspector's API, SIGKILL, restart, ``count`` goes on;
Ctrl+C ends it promptly and quietly. ``server.py`` is the README's text as printed (PostgreSQL);
the test runs a copy with the database URL and the two addresses it hard-codes replaced by a
database of its own and free ports. ``server_sqlite.py`` is the same on SQLite."""
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import uuid
import urllib.error
import urllib.parse
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
    def __init__(self, tmp_path, app_dir, module):
        self.app_port, self.ingress, self.inspector = _free_port(), _free_port(), _free_port()
        self.env = dict(os.environ, COUNTER_DB=str(tmp_path / "counter.db"),
                        COUNTER_INGRESS=f"127.0.0.1:{self.ingress}", COUNTER_INSPECTOR=f"127.0.0.1:{self.inspector}",
                        PYTHONPATH=str(SRC))
        self.tmp_path, self.app_dir, self.module = tmp_path, app_dir, module
        self.p = None

    def start(self):
        self.p = subprocess.Popen([sys.executable, "-m", "uvicorn", "--app-dir", str(self.app_dir), f"{self.module}:app",
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


@pytest.fixture
def database():
    """A database of the test's own on the PostgreSQL test server: its URL."""
    from stores import PG_URL, pg_admin
    name = f"dstest_seed_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = pg_admin()
    admin.execute(f"CREATE DATABASE {name}")
    parts = urllib.parse.urlsplit(PG_URL)
    try:
        yield urllib.parse.urlunsplit(parts._replace(path="/" + name))
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def _readme_server(tmp_path, database):
    """server.py as printed, its database URL and addresses replaced for this test."""
    text = (EXAMPLE / "server.py").read_text()
    s = Server(tmp_path, tmp_path / "app", "server")
    for old, new in (('"postgres://postgres:postgres@localhost:5432/postgres?sslmode=disable"', repr(database)),
                     ('"localhost:8765"', repr(f"127.0.0.1:{s.ingress}")),
                     ('"localhost:8080"', repr(f"127.0.0.1:{s.inspector}"))):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    s.app_dir.mkdir()
    (s.app_dir / "server.py").write_text(text)
    return s


@pytest.mark.parametrize("store", ["postgres", "sqlite"])
def test_seed_counter_survives_a_kill_and_stops_on_ctrl_c(tmp_path, store, request):
    if store == "postgres":
        s = _readme_server(tmp_path, request.getfixturevalue("database")).start()
    else:
        s = Server(tmp_path, EXAMPLE, "server_sqlite").start()
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
