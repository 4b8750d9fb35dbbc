"""Operator requests filed in the store by code with no engine (runtime/requests.py), applied by
the engine that holds the store, with their outcomes."""
from __future__ import annotations

import asyncio
import json
import sys

import pytest

from deepslate import Engine, FlowCancelled, FlowFailed
from deepslate.runtime import requests
from deepslate.store import SQLiteStore, StoreError

sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/flowmods")
import opsflows as F  # noqa: E402
from polling import until  # noqa: E402

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("ops_fails_cleared")]
FLOWS = F.FLOWS


async def ask(path: str, verb: str, name: str, args: dict | None = None, timeout: float = 20.0) -> dict:
    """File a request and wait for its outcome, off the loop (as another process would)."""
    rid = await asyncio.to_thread(requests.submit, path, verb, name, args)
    outcome = await asyncio.to_thread(requests.wait_outcome, path, rid, timeout)
    assert outcome is not None, f"request #{rid} got no outcome"
    return outcome


async def test_cancel_retry_and_send_through_the_store(tmp_path, engines):
    path = str(tmp_path / "s.db")
    eng = await engines.start(Engine(SQLiteStore(path), FLOWS, 2))
    await eng.spawn("t", "ticker", {})
    await eng.spawn("l", "listener", {"n": 2})
    F.FAILS["c"] = 1
    await eng.spawn("c", "charge", {"key": "c"})
    with pytest.raises(FlowFailed):
        await eng.wait("c", timeout=20)

    assert await ask(path, "cancel", "t") == {"ok": True, "message": "isolate 't' cancelled"}
    with pytest.raises(FlowCancelled):
        await eng.wait("t", timeout=20)
    out = await ask(path, "retry", "c")
    assert out == {"ok": True, "message": "isolate 'c' retried from its last good snapshot"}
    assert await eng.wait("c", timeout=20) == 1
    out = await ask(path, "send", "l", {"method": "post", "route": "/numbers", "body": b"\x00\xffbytes"})
    assert out["ok"] and out["message"].startswith("message ") and isinstance(out["message_id"], int)
    await ask(path, "send", "l", {"method": "POST", "route": "/numbers", "body": "text"})
    assert await eng.wait("l", timeout=20) == [b"\x00\xffbytes", b"text"]
    assert eng.metrics.requests == {("cancel", True): 1, ("retry", True): 1, ("send", True): 2}


async def test_what_cannot_be_done_is_an_outcome_not_a_crash(tmp_path, engines):
    path = str(tmp_path / "s.db")
    eng = await engines.start(Engine(SQLiteStore(path), FLOWS, 2))
    await eng.spawn("q", "quick", {"n": 1})
    await eng.wait("q", timeout=20)
    await eng.spawn("d", "divides", {"x": 0})
    with pytest.raises(FlowFailed):
        await eng.wait("d", timeout=20)
    await eng.spawn("t", "ticker", {})
    cases = [
        ("cancel", "nope", None, "no isolate named 'nope'"),
        ("retry", "nope", None, "no isolate named 'nope'"),
        ("send", "nope", {"method": "POST", "route": "/x"}, "no isolate named 'nope'"),
        ("cancel", "q", None, "isolate 'q' had already ended (done): nothing to cancel"),
        ("retry", "q", None, "isolate 'q' is done, not failed: nothing to retry"),
        ("retry", "t", None, "isolate 't' is "),
        ("retry", "d", None, "isolate 'd' failed in its own code, which would fail the same way again"),
        ("send", "q", {"method": "POST", "route": "/numbers"}, "isolate 'q' has finished"),
    ]
    for verb, name, args, message in cases:
        out = await ask(path, verb, name, args)
        assert out["ok"] is False and out["message"].startswith(message), (verb, name, out)
    assert eng.failure is None and eng.started
    assert (await eng.status("t")) in ("running", "sleeping")


async def test_a_request_filed_with_no_engine_applies_when_one_opens_the_store(tmp_path, engines):
    path = str(tmp_path / "s.db")
    eng = await engines.start(Engine(SQLiteStore(path), FLOWS, 2))
    await eng.spawn("t", "ticker", {})
    await until(lambda: eng.by_name["t"].steps >= 1)
    assert requests.lease_holder(path) is not None
    await eng.stop()
    # a clean stop releases the lease: other processes know at once that nobody holds the store
    assert requests.lease_holder(path) is None
    rid = requests.submit(path, "cancel", "t", {})
    assert requests.wait_outcome(path, rid, 0.1) is None           # filed, waiting
    assert eng.store.get_isolate("t").status in ("running", "sleeping")
    eng2 = await engines.start(Engine(eng.store, FLOWS, 2))
    outcome = await asyncio.to_thread(requests.wait_outcome, path, rid, 20)
    assert outcome == {"ok": True, "message": "isolate 't' cancelled"}
    assert eng2.store.get_isolate("t").status == "cancelled"
    assert eng2.store.get_request(rid).done_at is not None


async def test_a_request_applied_twice_changes_nothing_more(tmp_path, engines):
    """After a crash between applying a request and recording its outcome, the next engine
    applies it again: a send lands once, a retry of one failure retries once."""
    path = str(tmp_path / "s.db")
    eng = await engines.start(Engine(SQLiteStore(path), FLOWS, 2, poll_requests=None))
    await eng.spawn("l", "listener", {"n": 2})
    rid = requests.submit(path, "send", "l", {"method": "POST", "route": "/numbers", "body": b"once"})
    req = eng.store.get_request(rid)
    assert (await requests.apply(eng, req))["ok"] and (await requests.apply(eng, req))["ok"]
    await eng.send("l", "POST", "/numbers", b"next")
    assert await eng.wait("l", timeout=20) == [b"once", b"next"]

    F.FAILS["c"] = 2
    await eng.spawn("c", "charge", {"key": "c"})
    with pytest.raises(FlowFailed):
        await eng.wait("c", timeout=20)
    failed_at = eng.store.get_isolate("c").updated_at
    rid = requests.submit(path, "retry", "c", {"failed_at": failed_at})
    req = eng.store.get_request(rid)
    assert (await requests.apply(eng, req))["ok"]
    with pytest.raises(FlowFailed):            # it fails again (FAILS was 2)
        await eng.wait("c", timeout=20)
    again = await requests.apply(eng, req)
    assert again["ok"] is False and "was retried already, so it is not retried again" in again["message"]
    assert eng.store.get_isolate("c").status == "failed"


def test_bad_requests_are_refused_before_they_are_filed(tmp_path):
    path = str(tmp_path / "s.db")
    SQLiteStore(path).close()
    for verb, name, args, message in [
        ("kill", "x", None, "unknown request verb 'kill' (verbs: cancel, retry, send)"),
        ("cancel", "", None, "cancel: the isolate name must be a non-empty str"),
        ("cancel", "a\nb", None, "holds a control character"),
        ("cancel", "x", {"force": True}, "cancel takes no argument 'force' (arguments: none)"),
        ("cancel", "x", ["force"], "cancel: the arguments must be a dict, not list"),
        ("retry", "x", {"failed_at": "yesterday"}, "retry: failed_at must be the failed isolate's updated_at"),
        ("send", "x", {"method": "HEAD", "route": "/x"}, "send: method must be one of GET, POST"),
        ("send", "x", {"method": "POST", "route": "x"}, "send: the route must start with '/'"),
        ("send", "x", {"method": "POST", "route": "/x", "body": 3}, "send: the body must be bytes or str, not int"),
    ]:
        with pytest.raises(ValueError) as e:
            requests.submit(path, verb, name, args)
        assert message in str(e.value), (verb, str(e.value))
    s = SQLiteStore(path)
    assert s.pending_requests(10) == []          # nothing was filed
    s.close()
    with pytest.raises(StoreError, match="no store at"):
        requests.submit(str(tmp_path / "missing.db"), "cancel", "x", {})
    assert not (tmp_path / "missing.db").exists()
    with pytest.raises(KeyError, match="no request #99"):
        requests.wait_outcome(path, 99, 0.1)


async def test_requests_filed_in_a_postgresql_store_are_applied_by_its_engine(pg_store, engines):
    """The same verbs on PostgreSQL, filed through a store opened by another connection, as a
    process with no engine would; and a clean stop ends the lease there too."""
    import time
    other = pg_store.open()

    async def ask_pg(verb: str, name: str, args: dict | None = None) -> dict:
        rid = other.file_request(verb, name, requests.check_request(verb, name, args))
        await until(lambda: other.get_request(rid).done_at is not None, timeout=20)
        return json.loads(other.get_request(rid).outcome)

    eng = await engines.start(Engine(pg_store.open(), FLOWS, 2))
    await eng.spawn("t", "ticker", {})
    await eng.spawn("l", "listener", {"n": 1})
    F.FAILS["c"] = 2
    await eng.spawn("c", "charge", {"key": "c"})
    with pytest.raises(FlowFailed):
        await eng.wait("c", timeout=20)
    failed_at = eng.store.get_isolate("c").updated_at
    assert [t > time.time() for _, t in other.leases()] == [True]

    assert await ask_pg("cancel", "t") == {"ok": True, "message": "isolate 't' cancelled"}
    with pytest.raises(FlowCancelled):
        await eng.wait("t", timeout=20)
    assert (await ask_pg("retry", "c", {"failed_at": failed_at}))["ok"]
    with pytest.raises(FlowFailed):            # it fails again (FAILS was 2)
        await eng.wait("c", timeout=20)
    again = await ask_pg("retry", "c", {"failed_at": failed_at})
    assert again["ok"] is False and "was retried already, so it is not retried again" in again["message"]
    assert (await ask_pg("send", "l", {"method": "POST", "route": "/numbers", "body": b"pg"}))["ok"]
    assert await eng.wait("l", timeout=20) == [b"pg"]
    assert other.pending_requests(10) == []
    await eng.stop()
    assert [t <= time.time() for _, t in other.leases()] == [True]
