"""Every program in examples/ runs (each as its own process)."""
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
pytestmark = pytest.mark.timeout(120)


def run(args, cwd, **kw):
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=90, **kw)


def test_every_example_is_tested():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == ["bad_flow.py", "counter.py", "orders.py"]


def test_counter_resumes(tmp_path):
    store = str(tmp_path / "c.db")
    out1 = run([str(EXAMPLES / "counter.py"), "--store", store, "--seconds", "1.6", "--listen", "127.0.0.1:0"], tmp_path)
    assert out1.returncode == 0, out1.stderr
    assert "my-counter: id 1, new" in out1.stdout
    last = int(re.findall(r"count = (\d+)", out1.stdout)[-1])
    out2 = run([str(EXAMPLES / "counter.py"), "--store", store, "--seconds", "1.6", "--listen", "127.0.0.1:0"], tmp_path)
    assert "my-counter: id 1, resumed" in out2.stdout
    counts = [int(c) for c in re.findall(r"count = (\d+)", out2.stdout)]
    assert counts[0] >= last and counts[-1] > last


def test_orders_charge_once_even_when_killed(tmp_path):
    env = dict(os.environ, ORDERS_LEDGER=str(tmp_path / "ledger.jsonl"))
    store = str(tmp_path / "o.db")
    p = subprocess.Popen([sys.executable, str(EXAMPLES / "orders.py"), "--store", store, "--orders", "40", "--listen", "127.0.0.1:0"],
                         cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(0.8)
    finally:
        p.send_signal(signal.SIGKILL)
        p.communicate(timeout=30)       # reaped, and its pipes closed
    out = run([str(EXAMPLES / "orders.py"), "--store", store, "--orders", "40", "--listen", "127.0.0.1:0"], tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert "total cents: 82000" in out.stdout
    lines = [json.loads(x) for x in (tmp_path / "ledger.jsonl").read_text().splitlines()]
    assert sorted(x["order"] for x in lines) == list(range(1, 41))       # each order charged once


def test_bad_flow_is_rejected_by_check(tmp_path):
    out = subprocess.run([sys.executable, "-m", "deepslate.cli", "check", str(EXAMPLES / "bad_flow.py")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "bad_flow.py:9:5: exceptions are not supported in flows" in out.stdout + out.stderr
