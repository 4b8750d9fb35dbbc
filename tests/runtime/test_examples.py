"""Every program in examples/ runs (each as its own process). The flows' own logic, deadlines
included, is tested on the testing kit in tests/testing/test_kit_examples.py."""
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
pytestmark = pytest.mark.timeout(120)


def run(args, cwd, **kw):
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=90, **kw)


def test_every_example_is_tested():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == ["aiohttp_app.py", "approval.py", "bad_flow.py",
                                                             "counter.py", "fastapi_app.py", "orders.py",
                                                             "payment_webhook.py"]


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


def started(args, cwd, pattern, env=None):
    """A running example and the first match of ``pattern`` in what it printed."""
    p = subprocess.Popen([sys.executable, *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        seen.append(line)
        m = re.search(pattern, line)
        if m:
            return p, m, seen
    p.kill()
    raise AssertionError(f"no {pattern!r} in {''.join(seen)!r}; stderr {p.communicate(timeout=10)[1]!r}")


def finished(p, seen):
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    return "".join(seen) + out


def post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status


APPROVE = r"curl -X POST (http://\S+)/approve"


def test_approval_is_approved_by_a_post(tmp_path):
    p, m, seen = started([str(EXAMPLES / "approval.py"), "--store", str(tmp_path / "a.db"), "--listen",
                          "127.0.0.1:0", "--name", "expense-1"], tmp_path, APPROVE)
    assert post(m[1] + "/approve", {"by": "ann", "note": "fine"}) == 202
    out = finished(p, seen)
    assert "result: expense-1: approved by ann" in out


def test_approval_waits_on_across_a_kill(tmp_path):
    store = str(tmp_path / "a.db")
    args = [str(EXAMPLES / "approval.py"), "--store", store, "--listen", "127.0.0.1:0", "--name", "expense-3"]
    p, m, seen = started(args, tmp_path, APPROVE)
    p.send_signal(signal.SIGKILL)
    p.communicate(timeout=30)
    p, m, seen = started(args, tmp_path, APPROVE)
    assert any("expense-3: still pending" in line for line in seen)
    assert post(m[1] + "/reject", {"by": "bob", "note": "no"}) == 202
    assert "result: expense-3: rejected by bob" in finished(p, seen)


@pytest.mark.parametrize("outcome, result, refunds", [
    ("succeeded", r"result: order-1: paid \(ch_\w+\)", 0),
    ("failed", r"result: order-1: refunded \(charge\.failed\)", 1),
])
def test_payment_webhook(tmp_path, outcome, result, refunds):
    out = run([str(EXAMPLES / "payment_webhook.py"), "--store", str(tmp_path / "p.db"), "--listen", "127.0.0.1:0",
               "--order", "order-1", "--deadline", "1.0", "--outcome", outcome], tmp_path)
    assert out.returncode == 0, out.stderr
    assert re.search(result, out.stdout), out.stdout
    assert f"provider: 1 charge(s), {refunds} refund(s)" in out.stdout


def _json(method, url, body=None, timeout=30):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    headers = {} if body is None or isinstance(body, bytes) else {"Content-Type": "application/json"}
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _service(tmp_path, script, store="shop.db"):
    return started([str(EXAMPLES / script), "--store", str(tmp_path / store), "--port", "0", "--ingress",
                    "127.0.0.1:0"], tmp_path, r'\{"serving": "(http://[^"]+)"\}')


def _shop_round(url, prefix, name="o-1"):
    """The shop API of the web examples: create, conflict, confirm, wait, list."""
    assert _json("GET", url + "/health")[0] == 200
    assert _json("POST", f"{url}{prefix}/orders/{name}", {"customer": "ann", "cents": 1250})[0] == 201
    assert _json("POST", f"{url}{prefix}/orders/{name}", {"customer": "ann", "cents": 1250})[1]["exists"] is True
    code, body = _json("POST", f"{url}{prefix}/orders/{name}", {"customer": "bob", "cents": 1})
    assert code == 409 and "already exists with other arguments" in (body.get("error") or body.get("detail"))
    code, body = _json("GET", f"{url}{prefix}/orders/{name}?wait=0.2")
    assert code == 202 and body["status"] in ("running", "waiting")
    assert _json("POST", f"{url}/orders/{name}/confirm", b"by-phone")[0] == 202
    code, body = _json("GET", f"{url}{prefix}/orders/{name}?wait=20")
    assert code == 200 and body["result"].startswith("ann: confirmed by-phone (ch_ann_1250_"), body
    assert _json("GET", f"{url}{prefix}/orders/nobody?wait=1")[0] == 404
    assert _json("POST", f"{url}/orders/nobody/confirm", b"x")[0] == 404
    assert _json("POST", f"{url}/orders/{name}/confirm", b"again")[0] == 410
    code, listed = _json("GET", f"{url}{prefix}/orders?status=done")
    assert code == 200 and name in [o["name"] for o in listed]
    code, body = _json("GET", f"{url}{prefix}/orders?status=asleep")
    assert code == 400 and "status must be one of" in (body.get("error") or body.get("detail"))


def _stop(p, seen):
    p.send_signal(signal.SIGTERM)
    out = finished(p, seen)
    assert "stopped" in out


def test_aiohttp_app_serves_and_resumes_after_a_kill(tmp_path):
    p, m, seen = _service(tmp_path, "aiohttp_app.py")
    try:
        _shop_round(m[1], "")
        assert _json("POST", m[1] + "/orders/o-2", {"customer": "cy", "cents": 5})[0] == 201
        deadline = time.monotonic() + 20
        while _json("GET", m[1] + "/orders/o-2")[1].get("status") != "waiting" and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        p.send_signal(signal.SIGKILL)
        p.communicate(timeout=30)
    p, m, seen = _service(tmp_path, "aiohttp_app.py")
    assert [o["name"] for o in _json("GET", m[1] + "/orders?status=waiting")[1]] == ["o-2"]
    assert _json("POST", m[1] + "/orders/o-2/confirm", b"late")[0] == 202
    code, body = _json("GET", m[1] + "/orders/o-2?wait=20")
    assert code == 200 and body["result"].startswith("cy: confirmed late (ch_cy_5_")
    _stop(p, seen)


def test_fastapi_app_async_and_sync_endpoints(tmp_path):
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    p, m, seen = _service(tmp_path, "fastapi_app.py")
    try:
        _shop_round(m[1], "", "a-1")             # async def endpoints: the asyncio client
        _shop_round(m[1], "/sync", "s-1")        # def endpoints: the synchronous doors
        assert [o["name"] for o in _json("GET", m[1] + "/sync/orders?status=done")[1]] == ["a-1", "s-1"]
    finally:
        if p.poll() is None:
            _stop(p, seen)
