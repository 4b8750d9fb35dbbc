"""Deadlines and child lifetimes across a real crash (DESIGN §1, §2.5): a worker process is
killed (SIGKILL, or os._exit at a fault point), a fresh one resumes on the same SQLite file.

- An http_listen and a select whose deadlines passed while no process ran fire at the
  restart, with their timeout result.
- A parent whose end was durable when the process died, before its attached child was
  cancelled: the restart cancels the child; the detached one runs to its end.
"""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "deadlineworker.py")

pytestmark = pytest.mark.timeout(120)


def start(*args, faults=None):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    env.pop("DEEPSLATE_FAULTS", None)
    if faults:
        env["DEEPSLATE_FAULTS"] = faults
    return subprocess.Popen([sys.executable, WORKER, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def rows(store):
    db = sqlite3.connect(store)
    try:
        return {name: (status, wake_at, detached) for name, status, wake_at, detached in
                db.execute("SELECT name, status, wake_at, detached FROM isolates")}
    finally:
        db.close()


def resume(store):
    p = start("resume", store)
    out, err = p.communicate(timeout=90)
    assert p.returncode == 0, err[-3000:]
    line = next((x for x in out.splitlines() if x.startswith("RESULT ")), None)
    assert line, out + err[-3000:]
    return json.loads(line[len("RESULT "):])


def test_deadlines_that_passed_while_killed_fire_at_the_restart(tmp_path):
    store = str(tmp_path / "s.db")
    p = start("wait", store)
    try:
        line = p.stdout.readline()
        assert line.startswith("READY"), line + p.stderr.read()[-3000:]
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait(10)
    stored = rows(store)
    assert stored["l"][0] == "waiting" and stored["c"][0] == "waiting"
    wake = max(stored["l"][1], stored["c"][1])
    while time.time() < wake + 0.2:             # both overdue while no process runs
        time.sleep(0.05)
    got = resume(store)
    assert got["l"] == ["timeout", "http_listen POST /x: no request within 1 s"]
    assert got["c"] == ["timeout"]
    assert got["c/1"] is None                   # the feeder, let go after the select


def test_children_of_a_parent_that_ended_just_before_a_crash_are_cancelled_at_the_restart(tmp_path):
    store = str(tmp_path / "s.db")
    p = start("parent", store, faults="parent_ended_before_children:1:exit")
    out, err = p.communicate(timeout=60)
    assert p.returncode == 137, out + err[-3000:]
    assert "PARENT DONE" not in out
    stored = rows(store)
    # the crash hit the window: the parent's end is durable, its children's are not
    assert stored["p"][0] == "done"
    assert stored["p/1"][0] in ("running", "sleeping") and stored["p/1"][2] == 0
    assert stored["p/2"][2] == 1
    got = resume(store)
    assert got == {"p": "parent done", "p/1": "cancelled", "p/2": "woke"}
