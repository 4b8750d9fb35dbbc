"""The examples' flows under the testing kit: deadlines of an hour pass at once, the payment
provider is a stub, and the doc's example runs as written."""
import json
import pathlib
import subprocess
import sys

import pytest

from deepslate import testing

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))

import approval  # noqa: E402
import payment_webhook  # noqa: E402

pytestmark = pytest.mark.timeout(120)
PROVIDER = "https://provider.example"


def decision(by, note):
    return json.dumps({"by": by, "note": note}).encode()


@pytest.mark.parametrize("route, verdict", [("/approve", "approved"), ("/reject", "rejected")])
def test_approval_is_decided_by_a_post(route, verdict):
    with testing.Env([approval.approval]) as env:
        env.spawn("e-1", approval.approval, what="e-1", deadline=3600.0)
        env.send("e-1", "POST", route, decision("ann", "fine"))
        assert env.wait("e-1") == f"e-1: {verdict} by ann"
        assert env.log("e-1") == ["waiting for a decision on e-1", f"{verdict} by ann: fine"]


def test_approval_expires_at_its_deadline():
    with testing.Env([approval.approval], start=0.0) as env:
        env.spawn("e-2", approval.approval, what="e-2", deadline=3600.0)
        assert env.wait("e-2") == "e-2: expired"
        assert env.now() == 3600.0


def test_approval_waits_on_across_a_crash():
    with testing.Env([approval.approval], start=0.0, auto_skip=False) as env:
        env.spawn("e-3", approval.approval, what="e-3", deadline=3600.0)
        env.advance(minutes=30)
        env.crash_and_restart()
        assert env.isolate("e-3").wake_at == 3600.0       # the same deadline
        env.send("e-3", "POST", "/reject", decision("bob", "no"))
        env.settle()
        assert env.result("e-3") == "e-3: rejected by bob"


@pytest.mark.parametrize("event, result, refunds", [
    ("charge.succeeded", "order-1: paid (ch_1)", 0),
    ("charge.failed", "order-1: refunded (charge.failed)", 1),
    (None, "order-1: refunded (no confirmation within 900.0 s)", 1),
])
def test_payment_webhook(event, result, refunds):
    with testing.Env([payment_webhook.payment], start=0.0) as env:
        charges = env.stub_http("POST", PROVIDER + "/charges", b'{"id": "ch_1", "status": "pending"}')
        refunded = env.stub_http("POST", PROVIDER + "/refunds", b"{}")
        env.spawn("order-1", payment_webhook.payment, order="order-1", cents=4200, provider=PROVIDER,
                  deadline=900.0)
        env.send("order-1", "POST", "/webhook", b'{"type": "charge.succeeded", "charge": "ch_other"}')
        if event is not None:
            env.send("order-1", "POST", "/webhook", json.dumps({"type": event, "charge": "ch_1"}).encode())
        assert env.wait("order-1") == result
        assert [json.loads(c.body) for c in charges.calls] == [{"order": "order-1", "cents": "4200"}]
        assert len(refunded.calls) == refunds
        assert "ignored an event for ch_other" in env.log("order-1")
        assert env.now() == (900.0 if event is None else 0.0)


def test_the_testing_docs_example_passes(tmp_path):
    text = (ROOT / "docs" / "testing.md").read_text()
    block = text.split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "test_docs_example.py").write_text(block)
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_docs_example.py"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=100,
                         env={**__import__("os").environ, "PYTHONPATH": str(ROOT / "src")})
    assert out.returncode == 0, out.stdout + out.stderr
    assert "3 passed" in out.stdout
