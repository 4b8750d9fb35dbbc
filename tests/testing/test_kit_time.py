"""The kit's virtual clock: sleeps, deadlines, backoff and now() follow it; it moves only when
every isolate is blocked, or by hand."""
import datetime
import threading
import time

import pytest
from aiohttp import web

import kitflows
from kitflows import DAY
from deepslate import testing
from deepslate.runtime.clock import VirtualClock

pytestmark = pytest.mark.timeout(60)
START = 1_700_000_000.0


def test_a_year_of_sleeps_with_an_approval_takes_no_real_time():
    t0 = time.perf_counter()
    with testing.Env([kitflows.year], start=START) as env:
        env.spawn("y", kitflows.year, who="ann")
        env.send("y", "POST", "/approve", b"yes")
        assert env.wait("y") == 12
        assert env.now() == START + 360 * DAY
        assert env.log("y") == ["approved", f"ann: 12 months in {360 * DAY} s"]
    assert time.perf_counter() - t0 < 20        # a guard against hanging, not a measurement


def test_time_stands_still_between_calls_and_wait_reports_what_blocks():
    with testing.Env([kitflows.year], start=START) as env:
        env.spawn("y", kitflows.year, who="bob")
        env.settle()
        assert env.status("y") == "sleeping"
        assert env.now() == START
        with pytest.raises(testing.Stuck, match=r"'y' waiting on http_listen POST /approve.*env\.send"):
            env.wait("y")
        assert env.now() == START + 180 * DAY      # six sleeps skipped, then blocked on the approval
        env.send("y", "POST", "/approve", b"")
        assert env.wait("y") == 12


def test_advance_fires_each_timer_at_its_own_time():
    with testing.Env([kitflows.ticks], start=START, auto_skip=False) as env:
        env.spawn("t", kitflows.ticks, n=3)
        env.advance(days=2, hours=12)
        assert env.locals("t")["seen"] == [START + DAY, START + 2 * DAY]
        assert env.now() == START + 2.5 * DAY
        with pytest.raises(testing.Stuck, match=r"timer 43200 s ahead.*env\.advance"):
            env.wait("t")
        env.advance(hours=12)
        assert env.result("t") == [START + DAY, START + 2 * DAY, START + 3 * DAY]


def test_advance_in_seconds_and_minutes():
    with testing.Env([kitflows.sleeper], start=START, auto_skip=False) as env:
        env.spawn("s", kitflows.sleeper, seconds=65.0)
        env.advance(minutes=1)
        assert env.status("s") == "sleeping"
        env.advance(seconds=5)
        assert env.status("s") == "done"
        assert env.result("s") == START + 65


def test_listen_timeout_follows_the_clock():
    with testing.Env([kitflows.listen_or_give_up], start=START) as env:
        env.spawn("l", kitflows.listen_or_give_up, seconds=7 * DAY)
        assert env.wait("l") == "timeout: http_listen POST /go: no request within 604800 s"
        assert env.now() == START + 7 * DAY


def test_a_message_sent_before_waiting_beats_the_deadline():
    with testing.Env([kitflows.listen_or_give_up, kitflows.select_or_sleep], start=START) as env:
        env.spawn("l", kitflows.listen_or_give_up, seconds=1.0)
        env.send("l", "POST", "/go", "in time")
        env.spawn("s", kitflows.select_or_sleep, seconds=1.0)
        env.send("s", "POST", "/go", b"first")
        assert env.wait("l") == "in time"
        assert env.wait("s") == "message first"
        assert env.now() == START


def test_select_sleep_case_follows_the_clock():
    with testing.Env([kitflows.select_or_sleep], start=START) as env:
        env.spawn("s", kitflows.select_or_sleep, seconds=3 * DAY)
        assert env.wait("s") == "slept"
        assert env.now() == START + 3 * DAY


def test_impure_backoff_follows_the_clock():
    kitflows.attempts.clear()
    with testing.Env([kitflows.persist], start=START) as env:
        env.spawn("p", kitflows.persist)
        assert env.wait("p") == "third time after 10800.0 s"      # backoff 3600 s, then 7200 s
    assert len(kitflows.attempts) == 3


def test_time_does_not_move_while_an_impure_call_is_in_flight():
    # the sleeper's timer is the only one; a skip during the held call would show in the result
    kitflows.gate.clear()
    with testing.Env([kitflows.slow_then_time, kitflows.sleeper], start=START) as env:
        env.spawn("z", kitflows.sleeper, seconds=DAY)
        env.spawn("h", kitflows.slow_then_time, order="o-1")
        threading.Timer(0.3, kitflows.gate.set).start()
        assert env.wait("h") == 0.0
        assert env.now() == START
        assert env.wait("z") == START + DAY


def test_time_does_not_move_while_a_request_is_in_flight():
    async def slow(request):
        await __import__("asyncio").sleep(0.3)
        return web.Response(body=b"late")

    with Server(slow) as url, testing.Env([kitflows.fetch_timed, kitflows.sleeper], start=START,
                                          network=True) as env:
        env.spawn("z", kitflows.sleeper, seconds=DAY)
        env.spawn("f", kitflows.fetch_timed, url=url)
        assert env.wait("f") == 0.0
        assert env.wait("z") == START + DAY


def test_run_until_idle_stops_at_max_days_for_a_flow_that_never_ends():
    with testing.Env([kitflows.counter], start=START) as env:
        env.spawn("c", kitflows.counter)
        env.run_until_idle(max_days=1)
        assert env.now() == START + DAY
        assert env.locals("c")["n"] == 1440


def test_run_until_idle_ends_when_no_timer_is_left():
    with testing.Env([kitflows.sleeper], start=START) as env:
        env.spawn("s", kitflows.sleeper, seconds=90.0)
        env.run_until_idle()
        assert env.status("s") == "done"
        assert env.now() == START + 90


def test_start_may_be_an_aware_datetime():
    when = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)
    with testing.Env([kitflows.sleeper], start=when) as env:
        env.spawn("s", kitflows.sleeper, seconds=1.0)
        assert env.wait("s") == when.timestamp() + 1


@pytest.mark.parametrize("kwargs, err, match", [
    ({"days": -1}, ValueError, "days must not be negative"),
    ({"seconds": float("nan")}, TypeError, "seconds must be a finite number"),
    ({"hours": "1"}, TypeError, "hours must be a finite number"),
])
def test_advance_refuses_bad_amounts(kwargs, err, match):
    with testing.Env([kitflows.sleeper], start=START) as env:
        with pytest.raises(err, match=match):
            env.advance(**kwargs)
        assert env.now() == START


@pytest.mark.parametrize("start, err, match", [
    (datetime.datetime(2030, 1, 1), ValueError, "aware datetime"),
    ("2030", TypeError, "start must be a datetime or seconds"),
])
def test_bad_start_is_refused(start, err, match):
    with pytest.raises(err, match=match):
        testing.Env([kitflows.sleeper], start=start)


# -- the clock alone ----------------------------------------------------------------------------

def test_virtual_clock_runs_timers_in_order_and_never_goes_back():
    c = VirtualClock(100.0)
    fired = []
    c.call_later(5, lambda: fired.append(("b", c.now())))
    c.call_later(2, lambda: fired.append(("a", c.now())))
    gone = c.call_later(3, lambda: fired.append(("x", c.now())))
    gone.cancel()
    assert c.next_at() == 102.0
    assert c.jump(106) == 2
    assert fired == [("a", 102.0), ("b", 105.0)]
    assert c.now() == 106.0
    c.jump(50)
    assert c.now() == 106.0
    assert c.next_at() is None


def test_virtual_clock_runs_a_timer_due_at_once_on_the_next_turn():
    import asyncio

    async def main():
        c = VirtualClock(0.0)
        c.timers(asyncio.get_running_loop())
        fired = []
        c.call_later(0, fired.append, 1)
        assert fired == [] and c.due()
        await asyncio.sleep(0)
        assert fired == [1] and not c.due()
    asyncio.run(main())


def test_virtual_clock_refuses_a_start_that_is_not_a_number():
    with pytest.raises(TypeError, match="start must be seconds since the epoch"):
        VirtualClock("now")


class Server:
    """A real aiohttp server on 127.0.0.1 (a free port) in a thread of its own."""

    def __init__(self, handler):
        self.handler = handler

    def __enter__(self):
        import asyncio
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def start():
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self.handler)
            self.runner = web.AppRunner(app)
            await self.runner.setup()
            site = web.TCPSite(self.runner, "127.0.0.1", 0)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]

        def main():
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(start())
            ready.set()
            self.loop.run_forever()
        self.thread = threading.Thread(target=main, daemon=True)
        self.thread.start()
        ready.wait(10)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc):
        import asyncio
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
