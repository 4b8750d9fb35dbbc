"""The kit's doubles and views: http_request stubs, replaced @impure functions, a unit test's
idempotency key, an isolate's status, locals, log and result, and crash_and_restart."""
import asyncio
import re
import threading

import pytest
from aiohttp import web

import kitflows
from kitflows import DAY
from deepslate import FlowCancelled, FlowFailed, idempotency_key, testing
from test_kit_time import START, Server

pytestmark = pytest.mark.timeout(60)


# -- http_request stubs ---------------------------------------------------------------------------

def test_a_stub_answers_and_records_each_call():
    with testing.Env([kitflows.fetch]) as env:
        stub = env.stub_http("POST", "https://pay.example/charges/*", b"charged")
        env.spawn("f", kitflows.fetch, url="https://pay.example/charges/7")
        assert env.wait("f") == "charged"
        [call] = stub.calls
        assert (call.method, call.url, call.body) == ("POST", "https://pay.example/charges/7", b"hello")
        assert call.headers["Content-Type"] == "text/plain"
        assert re.fullmatch(r"\w+-\d+-\d+", call.headers["Idempotency-Key"])
        assert env.http_calls == [call]


def test_a_stub_status_reaches_the_flow_as_a_dserror_code():
    with testing.Env([kitflows.fetch]) as env:
        env.stub_http("*", re.compile(r"https://pay\.example/.*"), b"no such card", status=404)
        env.spawn("f", kitflows.fetch, url="https://pay.example/x")
        assert env.wait("f") == "error 404: HTTP 404 Not Found from POST https://pay.example/x: no such card"


def test_a_5xx_stub_is_retried_as_a_real_answer_would_be():
    with testing.Env([kitflows.fetch_with_retries]) as env:
        stub = env.stub_http("GET", "https://api.example/*", b"busy", status=503)
        env.spawn("f", kitflows.fetch_with_retries, url="https://api.example/a", retries=2)
        assert env.wait("f") == "error 503"
        assert len(stub.calls) == 3
        assert len({c.headers["Idempotency-Key"] for c in stub.calls}) == 1


def test_a_handler_answers_per_call_and_the_latest_stub_wins():
    answers = iter([(429, b"slow down"), b"ok now"])
    with testing.Env([kitflows.fetch_with_retries]) as env:
        env.stub_http("GET", "https://api.example/*", b"never", status=500)
        stub = env.stub_http("GET", "https://api.example/*", handler=lambda call: next(answers))
        env.spawn("f", kitflows.fetch_with_retries, url="https://api.example/b", retries=1)
        assert env.wait("f") == "ok now"
        assert len(stub.calls) == 2


def test_a_request_no_stub_matches_fails_its_isolate_only():
    with testing.Env([kitflows.fetch, kitflows.sleeper]) as env:
        env.stub_http("POST", "https://pay.example/*", b"")
        env.spawn("f", kitflows.fetch, url="https://elsewhere.example/")
        env.spawn("s", kitflows.sleeper, seconds=5.0)
        with pytest.raises(FlowFailed, match=r"UnstubbedRequest: no stub matches http_request POST "
                                             r"https://elsewhere\.example/ \(stubs: POST https://pay\.example/\*\)"):
            env.wait("f")
        assert env.wait("s") == env.now()


def test_with_the_network_on_an_unmatched_request_goes_out():
    async def echo(request):
        return web.Response(body=b"real " + await request.read())

    with Server(echo) as url, testing.Env([kitflows.fetch], network=True) as env:
        env.stub_http("POST", "https://pay.example/*", b"stubbed")
        env.spawn("f", kitflows.fetch, url=url + "/x")
        assert env.wait("f") == "real hello"
        assert [c.url for c in env.http_calls] == [url + "/x"]


@pytest.mark.parametrize("args, kwargs, err, match", [
    ((7, "https://x/*"), {}, TypeError, "stub method must be a str"),
    (("GET", 7), {}, TypeError, "stub url must be a glob str or a compiled regex"),
    (("GET", "https://x/*", "text"), {}, TypeError, "stub: body must be bytes"),
    (("GET", "https://x/*"), {"status": 99}, ValueError, "stub: status must be an int HTTP status"),
    (("GET", "https://x/*"), {"handler": "no"}, TypeError, "stub handler must be callable"),
])
def test_bad_stubs_are_refused(args, kwargs, err, match):
    with testing.Env([kitflows.fetch]) as env:
        with pytest.raises(err, match=match):
            env.stub_http(*args, **kwargs)


def test_a_handler_answer_of_the_wrong_shape_fails_the_isolate_with_what_it_returned():
    with testing.Env([kitflows.fetch]) as env:
        env.stub_http("POST", "https://x/*", handler=lambda call: "text")
        env.spawn("f", kitflows.fetch, url="https://x/y")
        with pytest.raises(FlowFailed, match=r"must return bytes or \(status, bytes\), not str"):
            env.wait("f")


class Halt(BaseException):
    """Not an Exception: what a careless handler (or sys.exit) raises."""


@pytest.mark.parametrize("exc", [ValueError("bad stub"), Halt("stop"), SystemExit(3), asyncio.CancelledError()])
def test_a_handler_that_raises_anything_fails_its_isolate_only(exc):
    def handler(call):
        raise exc
    with testing.Env([kitflows.fetch, kitflows.sleeper]) as env:
        env.stub_http("POST", "https://x/*", handler=handler)
        env.spawn("f", kitflows.fetch, url="https://x/y")
        with pytest.raises(FlowFailed, match=type(exc).__name__):
            env.wait("f")
        env.spawn("s", kitflows.sleeper, seconds=5.0)       # the engine goes on
        env.wait("s")


# -- @impure functions ----------------------------------------------------------------------------

def test_replace_impure_runs_the_fake_with_the_real_key():
    kitflows.charged.clear()
    seen = []

    def fake(order, cents):
        seen.append((order, cents, idempotency_key()))
        return "fake receipt"
    with testing.Env([kitflows.pay]) as env:
        env.replace_impure(kitflows.charge, fake)
        env.spawn("p", kitflows.pay, order="o-1", cents=500)
        assert env.wait("p") == "fake receipt"
    assert kitflows.charged == []
    assert [s[:2] for s in seen] == [("o-1", 500)] and seen[0][2]


def test_replace_impure_by_ref():
    with testing.Env([kitflows.pay]) as env:
        env.replace_impure("kitflows:charge", lambda order, cents: f"by ref {order}")
        env.spawn("p", kitflows.pay, order="o-2", cents=1)
        assert env.wait("p") == "by ref o-2"


def test_monkeypatch_of_an_impure_function_takes_effect(monkeypatch):
    kitflows.charged.clear()
    monkeypatch.setattr(kitflows, "charge", lambda order, cents: f"patched {order}")
    with testing.Env([kitflows.pay]) as env:
        env.spawn("p", kitflows.pay, order="o-3", cents=1)
        assert env.wait("p") == "patched o-3"
    assert kitflows.charged == []


def test_without_a_replacement_the_real_function_runs():
    kitflows.charged.clear()
    with testing.Env([kitflows.pay]) as env:
        env.spawn("p", kitflows.pay, order="o-4", cents=9)
        assert env.wait("p").startswith("real-o-4-")
    assert kitflows.charged == [("o-4", 9)]


@pytest.mark.parametrize("original, fake, err, match", [
    (kitflows.text, lambda b: "", TypeError, "replace_impure takes an @impure function"),
    ("charge", lambda: "", ValueError, "'module:qualname'"),
    (kitflows.charge, "not callable", TypeError, "the replacement must be callable"),
])
def test_replace_impure_refuses_what_it_cannot_replace(original, fake, err, match):
    with testing.Env([kitflows.pay]) as env:
        with pytest.raises(err, match=match):
            env.replace_impure(original, fake)


def test_an_impure_function_called_directly_needs_a_key_and_says_how():
    with pytest.raises(RuntimeError, match=r"idempotency_key_for"):
        kitflows.charge("o-5", 1)
    with testing.idempotency_key_for("key-1"):
        assert kitflows.charge("o-5", 1) == "real-o-5-key-1"
    with pytest.raises(RuntimeError):
        idempotency_key()
    with pytest.raises(ValueError, match="non-empty str"):
        with testing.idempotency_key_for(""):
            pass


# -- reading an isolate ---------------------------------------------------------------------------

def test_isolate_shows_status_locals_log_and_result():
    with testing.Env([kitflows.ticks, kitflows.broken], start=START, auto_skip=False) as env:
        env.spawn("t", kitflows.ticks, n=2)
        env.advance(days=1)
        info = env.isolate("t")
        assert (info.status, info.waiting_on, info.wake_at) == ("sleeping", "sleep", START + 2 * DAY)
        assert info.locals == {"n": 2, "seen": [START + DAY]}
        assert info.frames[0]["function"] == "ticks"
        with pytest.raises(RuntimeError, match="'t' has not finished: it is sleeping on sleep"):
            env.result("t")
        env.advance(days=1)
        done = env.isolate("t")
        assert (done.status, done.result, done.locals) == ("done", [START + DAY, START + 2 * DAY], {})
        env.spawn("b", kitflows.broken, x=3)
        env.advance(seconds=1)
        failed = env.isolate("b")
        assert failed.status == "failed" and "ZeroDivisionError" in failed.error.message
        assert failed.log == ["dividing by 0"]
        with pytest.raises(FlowFailed, match="ZeroDivisionError"):
            env.result("b")
        with pytest.raises(KeyError, match="no isolate named 'nobody'"):
            env.isolate("nobody")
        assert env.status("nobody") is None


def test_cancel_and_its_result():
    with testing.Env([kitflows.sleeper]) as env:
        env.spawn("s", kitflows.sleeper, seconds=DAY)
        assert env.cancel("s") is True
        with pytest.raises(FlowCancelled, match="'s' was cancelled"):
            env.result("s")
        with pytest.raises(FlowCancelled):
            env.wait("s")


def test_spawn_takes_a_dict_or_keywords_not_both():
    with testing.Env([kitflows.sleeper]) as env:
        env.spawn("a", "sleeper", {"seconds": 1.0})
        with pytest.raises(TypeError, match="as a dict or as keywords, not both"):
            env.spawn("b", kitflows.sleeper, {"seconds": 1.0}, seconds=2.0)
        with pytest.raises(TypeError, match="flow must be an @flow function or its name"):
            env.spawn("c", 42)


# -- crash and restart ----------------------------------------------------------------------------

def test_crash_and_restart_resumes_from_the_last_commit():
    kitflows.charged.clear()
    with testing.Env([kitflows.pay, kitflows.ticks], start=START, auto_skip=False) as env:
        env.spawn("p", kitflows.pay, order="o-6", cents=1)
        env.spawn("t", kitflows.ticks, n=3)
        env.advance(days=1)
        before = env.locals("t")
        old = env.engine
        env.crash_and_restart()
        assert env.engine is not old and env.restarts == 1
        assert env.locals("t") == before == {"n": 3, "seen": [START + DAY]}
        assert env.status("p") == "done"
        env.advance(days=2)
        assert env.result("t") == [START + DAY, START + 2 * DAY, START + 3 * DAY]
    assert kitflows.charged == [("o-6", 1)]         # committed before the crash: not run again


def test_crash_and_restart_runs_an_impure_call_in_flight_again():
    kitflows.gate.clear()
    kitflows.held_calls.clear()
    with testing.Env([kitflows.slow_then_time]) as env:
        env.spawn("h", kitflows.slow_then_time, order="o-7")
        for _ in range(200):
            if kitflows.held_calls:
                break
            threading.Event().wait(0.01)
        assert kitflows.held_calls == ["o-7"]
        env.crash_and_restart()
        kitflows.gate.set()                         # the old call ends unheard; the new one runs
        assert env.wait("h") == 0.0
    assert kitflows.held_calls == ["o-7", "o-7"]


def test_an_env_that_is_not_open_says_so():
    env = testing.Env([kitflows.sleeper])
    with pytest.raises(RuntimeError, match="not open"):
        env.status("x")
    with pytest.raises(ValueError, match="at least one flow"):
        testing.Env([])
