"""``deepslate cancel | retry | send`` run as commands of their own against an engine in another
process, which keeps running (and keeps its lease) while they file requests."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from deepslate import new_sqlite, spawn_workers
from deepslate.cli import main
from deepslate.runtime import requests
from deepslate.store import SQLiteStore

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "flowmods"))
import opsflows as F  # noqa: E402

pytestmark = pytest.mark.timeout(120)
FLOWS = [v for v in vars(F).values() if hasattr(v, "program") and hasattr(v, "name")]
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))


class Worker:
    """tests/runtime/opsworker.py in its own process."""

    def __init__(self, store: str):
        self.p = subprocess.Popen([sys.executable, os.path.join(HERE, "opsworker.py"), store],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=ENV, text=True)
        self.epoch = int(self.expect("READY"))

    def expect(self, tag: str) -> str:
        assert self.p.stdout is not None
        line = self.p.stdout.readline()
        assert line.startswith(tag + " "), f"worker said {line!r}"
        return line[len(tag) + 1:].strip()

    def ask(self, line: str, tag: str):
        assert self.p.stdin is not None
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        return json.loads(self.expect(tag)) if tag != "HELD" else self.expect_bare(tag)

    def expect_bare(self, tag: str) -> None:
        assert self.p.stdout is not None
        line = self.p.stdout.readline()
        assert line.strip() == tag, f"worker said {line!r}"

    def close(self) -> None:
        if self.p.poll() is None:
            assert self.p.stdin is not None
            self.p.stdin.close()
            try:
                self.p.wait(20)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


@pytest.fixture
def worker(tmp_path):
    w = Worker(str(tmp_path / "s.db"))
    try:
        yield w
    finally:
        w.close()


def cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deepslate", *args], input=stdin, capture_output=True, env=ENV,
                          timeout=60)


def test_verbs_from_another_process_while_the_engine_runs_on(tmp_path, worker):
    store = str(tmp_path / "s.db")
    before = worker.ask("health", "HEALTH")
    assert before["failure"] is None and before["beat"] in ("running", "sleeping")

    r = cli("cancel", store, "t")
    assert (r.returncode, r.stdout.decode().strip()) == (0, "isolate 't' cancelled"), r.stderr
    r = cli("retry", store, "c", "--failed-at", "1.5")
    assert r.returncode == 1 and r.stderr.decode().startswith("deepslate retry: isolate 'c' last failed at "), r.stderr
    assert ", not at 1.5: the failure this retry was for was retried already" in r.stderr.decode()
    r = cli("retry", store, "c")
    assert (r.returncode, r.stdout.decode().strip()) == (0, "isolate 'c' retried from its last good snapshot")
    assert worker.ask("wait c", "RESULT") == 1
    r = cli("send", store, "l", "POST", "/numbers", "hello")
    assert r.returncode == 0 and r.stdout.decode().startswith("message "), r.stderr
    assert worker.ask("wait l", "RESULT") == ["hello"]
    r = cli("send", store, "l2", "POST", "/numbers", "-", stdin=b"from stdin")
    assert r.returncode == 0, r.stderr
    assert worker.ask("wait l2", "RESULT") == ["from stdin"]

    for args, message in ((("cancel", store, "nope"), "deepslate cancel: no isolate named 'nope'"),
                          (("retry", store, "t"), "deepslate retry: isolate 't' is cancelled, not failed: "
                                                  "nothing to retry"),
                          (("send", store, "l", "POST", "/numbers", "late"), "deepslate send: isolate 'l' has "
                                                                              "finished")):
        r = cli(*args)
        assert r.returncode == 1 and r.stderr.decode().startswith(message), r.stderr

    # the engine went on the whole time, under the lease it had
    after = worker.ask("health", "HEALTH")
    assert after["failure"] is None and after["epoch"] == before["epoch"] == worker.epoch
    assert after["beat"] in ("running", "sleeping") and after["steps"] > before["steps"]
    holder = requests.lease_holder(store)
    assert holder is not None and holder[0] == "local"


def test_a_request_waits_for_an_engine_that_does_not_answer(tmp_path, worker):
    store = str(tmp_path / "s.db")
    # alive and holding the lease, answering nothing: its event loop is held (a process stopped
    # with SIGSTOP would do too, but may be stopped inside a write and lock the file meanwhile)
    worker.ask("hold 8", "HELD")
    r = cli("cancel", store, "beat", "--timeout", "0.5")
    err = r.stderr.decode()
    assert r.returncode == 3 and "no answer within 0.5 s from the engine holding" in err and "node 'local'" in err
    rid = int(re.search(r"request #(\d+) stays filed", err)[1])
    assert requests.wait_outcome(store, rid, 20) == {"ok": True, "message": "isolate 'beat' cancelled"}
    assert worker.ask("health", "HEALTH")["beat"] == "cancelled"


def test_a_request_with_no_engine_is_filed_for_the_next_one(tmp_path):
    store = str(tmp_path / "s.db")
    platform, _ = new_sqlite(store, listen_addr="127.0.0.1:0")
    workers = spawn_workers(2, platform, FLOWS)
    workers.spawn("t", "ticker", {})
    workers.stop()
    r = cli("cancel", store, "t")
    err = r.stderr.decode()
    assert r.returncode == 3 and "no engine holds" in err and "applied when an engine opens the store" in err
    rid = int(re.search(r"request #(\d+) is filed", err)[1])
    platform, _ = new_sqlite(store, listen_addr="127.0.0.1:0")
    workers = spawn_workers(2, platform, FLOWS)
    try:
        assert requests.wait_outcome(store, rid, 20) == {"ok": True, "message": "isolate 't' cancelled"}
        assert workers.status("t") == "cancelled"
    finally:
        workers.stop()


def test_bad_invocations_say_what_is_wrong(tmp_path, capsys):
    store = str(tmp_path / "s.db")
    SQLiteStore(store).close()
    assert main(["cancel", str(tmp_path / "missing.db"), "x"]) == 2
    assert "deepslate cancel: no store at" in capsys.readouterr().err
    assert main(["send", store, "x", "HEAD", "/r"]) == 2
    assert "deepslate send: send: method must be one of GET, POST" in capsys.readouterr().err
    assert main(["send", store, "x", "POST", "r"]) == 2
    assert "the route must start with '/'" in capsys.readouterr().err
    assert main(["cancel", store, "x", "--timeout", "-1"]) == 2
    assert "--timeout must be a number of seconds, at least 0, not -1.0" in capsys.readouterr().err
    s = SQLiteStore(store)
    assert s.pending_requests(10) == []
    s.close()
