"""Waiting with a deadline, and children that do not outlive their parent (DESIGN §1, §2.5),
on real flows and a real store (SQLite and PostgreSQL: ``any_store``).

- ``http_listen(method, route, timeout=s)``: the timeout is a DSError of kind "timeout"; a
  message that comes first is the result; one that comes after stays for the next listen.
- ``match dpslio.select`` over a queue, a route and a ``sleep`` timeout: whichever fires first
  is committed; the queue item or message not chosen stays where it was.
- The deadline is stored as ``wake_at`` with the step: after a restart an overdue one fires,
  one not yet due fires no earlier than it.
- A parent that ends for good (returns, is cancelled, faults) cancels its attached children and
  theirs; ``detach=True`` children outlive it; a failure kept for retry leaves them running.
"""
from __future__ import annotations

import asyncio
import sys
import time

import pytest

from deepslate import DSError, Engine, FlowCancelled, FlowFailed

sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/flowmods")
import deadlineflows as F  # noqa: E402
from polling import until  # noqa: E402

pytestmark = pytest.mark.timeout(60)
FLOWS = [v for v in vars(F).values() if hasattr(v, "program") and hasattr(v, "name")]
SCALE = 0.01        # sleeps and timeouts last seconds * SCALE


def row(eng, name):
    return eng.store.get_isolate(name)


def status(eng, name):
    r = row(eng, name)
    return r.status if r else None


def waits_on(eng, name, what):
    r = row(eng, name)
    return r is not None and r.status == "waiting" and r.waiting_on.startswith(what)


def inbox(store):
    return [(route, bytes(body)) for route, body in store.sql("SELECT route, body FROM inbox ORDER BY id")]


@pytest.fixture
async def start(any_store, engines):
    async def start(scale=SCALE):
        return await engines.start(Engine(any_store.open(), FLOWS, 2, time_scale=scale))
    return start


# -- http_listen with a timeout --------------------------------------------------------------

async def test_listen_timeout_fires_as_a_dserror(start):
    eng = await start()
    await eng.spawn("l", "listen_once", {"timeout": 2.5})
    r = await eng.wait("l", timeout=10)
    assert r == DSError("http_listen POST /x: no request within 2.5 s", kind="timeout")


async def test_listen_stores_its_deadline_and_a_message_beats_it(start, any_store):
    eng = await start(scale=1.0)
    before = time.time()
    await eng.spawn("l", "listen_once", {"timeout": 600.0})
    await until(lambda: waits_on(eng, "l", "http_listen POST /x"))
    r = row(eng, "l")
    assert before + 600.0 <= r.wake_at <= time.time() + 600.0
    assert r.waiting_on == "http_listen POST /x (timeout 600 s)"
    await eng.send("l", "POST", "/x", b"hello")
    assert await eng.wait("l", timeout=10) == b"hello"
    assert inbox(any_store) == []


async def test_a_message_already_in_the_inbox_wins_over_a_zero_timeout(start):
    eng = await start()
    await eng.spawn("l", "listen_late", {"timeout": 0.0})
    await until(lambda: waits_on(eng, "l", "http_listen POST /gate"))
    await eng.send("l", "POST", "/x", b"first")
    await eng.send("l", "POST", "/gate", b"")
    # the second listen (timeout 0 * 1000) finds the message there: it is not a timeout
    assert await eng.wait("l", timeout=10) == ["timeout", "b'first'"]


async def test_a_message_after_the_timeout_stays_for_the_next_listen(start, any_store):
    eng = await start()
    await eng.spawn("l", "listen_late", {"timeout": 1.0})
    await until(lambda: waits_on(eng, "l", "http_listen POST /gate"))     # the timeout fired
    await eng.send("l", "POST", "/x", b"late")
    await asyncio.sleep(0.05)
    assert inbox(any_store) == [("/x", b"late")]                                # nobody took it
    await eng.send("l", "POST", "/gate", b"")
    assert await eng.wait("l", timeout=10) == ["timeout", "b'late'"]
    assert inbox(any_store) == []


async def test_a_message_and_the_deadline_racing_have_one_winner(start, any_store):
    # many listens whose deadline falls as their message is sent: each ends exactly once,
    # either with the message (taken from the inbox) or the timeout (the message stays)
    eng = await start(scale=1.0)
    n = 30
    for i in range(n):
        await eng.spawn(f"r{i}", "listen_once", {"timeout": 0.05})
    await until(lambda: all(row(eng, f"r{i}").status != "running" for i in range(n)))
    for i in range(n):
        try:
            await eng.send(f"r{i}", "POST", "/x", f"m{i}".encode())
        except ValueError:
            pass                           # it had finished already: no message sent
    results = {f"r{i}": await eng.wait(f"r{i}", timeout=10) for i in range(n)}
    left = {body for _, body in inbox(any_store)}
    for i in range(n):
        r = results[f"r{i}"]
        if isinstance(r, DSError):
            assert r.kind == "timeout"
        else:
            assert r == f"m{i}".encode() and r not in left
    taken = {r for r in results.values() if not isinstance(r, DSError)}
    assert not taken & left
    assert len(taken) + len([r for r in results.values() if isinstance(r, DSError)]) == n


# -- select: queue, route, timeout -----------------------------------------------------------

async def test_select_queue_wins_and_the_message_after_it_stays(start):
    eng = await start(scale=1.0)
    await eng.spawn("c", "chooser", {"timeout": 600.0, "then_get": False, "then_listen": True})
    await until(lambda: waits_on(eng, "c", "http_listen POST /go") and waits_on(eng, "c/1", "http_listen"))
    await eng.send("c", "POST", "/go", b"")
    await until(lambda: waits_on(eng, "c", "select"))
    r = row(eng, "c")
    assert r.waiting_on == "select Queue(1), http_listen POST /approve, timeout 600 s"
    assert r.wake_at is not None
    await eng.send("c/1", "POST", "/feed", b"")          # the feeder puts 7: the queue wins
    await until(lambda: waits_on(eng, "c", "http_listen POST /approve"))
    assert row(eng, "c").wake_at is None
    await eng.send("c", "POST", "/approve", b"ok")
    assert await eng.wait("c", timeout=10) == ["queue 7", "listen b'ok'"]


async def test_select_listen_wins_and_the_queue_item_goes_to_the_next_getter(start, any_store):
    eng = await start(scale=1.0)
    await eng.spawn("c", "chooser", {"timeout": 600.0, "then_get": True, "then_listen": False})
    await until(lambda: waits_on(eng, "c", "http_listen POST /go"))
    await eng.send("c", "POST", "/go", b"")
    await until(lambda: waits_on(eng, "c", "select"))
    await eng.send("c", "POST", "/approve", b"yes")
    await until(lambda: waits_on(eng, "c", "queue_get"))
    # the select's registration on the queue was withdrawn: only the plain get waits there (it
    # is registered once its step is durable, a moment after the row says so)
    await until(lambda: [g.name for g, _, served in eng.shared.queues[1].getters] == ["c"])
    assert inbox(any_store) == []
    await eng.send("c/1", "POST", "/feed", b"")
    assert await eng.wait("c", timeout=10) == ["listen b'yes'", "queue 7"]


async def test_select_timeout_wins_and_nothing_is_consumed(start):
    eng = await start()
    await eng.spawn("c", "chooser", {"timeout": 1.0, "then_get": True, "then_listen": True})
    await until(lambda: waits_on(eng, "c", "http_listen POST /go"))
    await eng.send("c", "POST", "/go", b"")
    await until(lambda: waits_on(eng, "c", "queue_get"))        # the select timed out
    # the get is registered once its step is durable, a moment after the row says so: the
    # select's own getter is gone and the get's is the only one
    await until(lambda: [g.name for g, _, _ in eng.shared.queues[1].getters] == ["c"])
    await eng.send("c", "POST", "/approve", b"later")
    await eng.send("c/1", "POST", "/feed", b"")
    assert await eng.wait("c", timeout=10) == ["timeout", "queue 7", "listen b'later'"]


async def test_select_with_an_item_and_a_message_both_there_takes_one(start, any_store):
    eng = await start(scale=1.0)
    await eng.spawn("c", "chooser", {"timeout": 600.0, "then_get": False, "then_listen": True})
    await until(lambda: waits_on(eng, "c", "http_listen POST /go") and waits_on(eng, "c/1", "http_listen"))
    await eng.send("c/1", "POST", "/feed", b"")
    await until(lambda: any_store.sql("SELECT count(*) FROM queue_items") == [(1,)])
    await eng.send("c", "POST", "/approve", b"kept")
    await eng.send("c", "POST", "/go", b"")
    # the queue is looked at first; the message is left for the listen after the select
    assert await eng.wait("c", timeout=10) == ["queue 7", "listen b'kept'"]
    assert inbox(any_store) == []


async def test_selects_that_time_out_leave_no_getter_behind(start):
    eng = await start()
    await eng.spawn("s", "select_loop", {"n": 50})
    await until(lambda: waits_on(eng, "s", "http_listen POST /done"))
    assert list(eng.shared.queues) == [1] and not eng.shared.queues[1].getters
    await eng.send("s", "POST", "/done", b"")
    assert await eng.wait("s", timeout=20) == 50


async def test_a_select_cancelled_while_it_waits_withdraws_its_getter(start):
    eng = await start(scale=1.0)
    await eng.spawn("c", "chooser", {"timeout": 600.0, "then_get": False, "then_listen": False})
    await until(lambda: waits_on(eng, "c", "http_listen POST /go"))
    await eng.send("c", "POST", "/go", b"")
    await until(lambda: waits_on(eng, "c", "select"))
    assert await eng.cancel("c") is True
    with pytest.raises(FlowCancelled):
        await eng.wait("c", timeout=10)
    with pytest.raises(FlowCancelled):
        await eng.wait("c/1", timeout=10)
    assert eng.shared.queues == {}          # the tree has ended: its queue is gone


# -- deadlines across a restart ----------------------------------------------------------------

async def test_an_overdue_deadline_fires_after_a_restart(start):
    eng = await start(scale=1.0)
    await eng.spawn("l", "listen_once", {"timeout": 0.3})
    await eng.spawn("c", "chooser", {"timeout": 0.3, "then_get": False, "then_listen": False})
    await until(lambda: waits_on(eng, "c", "http_listen POST /go"))
    await eng.send("c", "POST", "/go", b"")
    await until(lambda: waits_on(eng, "c", "select") and waits_on(eng, "l", "http_listen"))
    await eng.stop()
    wake = {n: row(eng, n).wake_at for n in ("l", "c")}
    assert all(w is not None for w in wake.values())
    while time.time() < max(wake.values()) + 0.1:             # both overdue while stopped
        await asyncio.sleep(0.02)
    assert status(eng, "l") == "waiting" and status(eng, "c") == "waiting"
    eng = await start(scale=1.0)
    assert await eng.wait("l", timeout=10) == DSError("http_listen POST /x: no request within 0.3 s",
                                                      kind="timeout")
    await eng.send("c/1", "POST", "/feed", b"")        # lets the child finish, so c can return
    assert await eng.wait("c", timeout=10) == ["timeout"]


async def test_a_deadline_not_yet_due_at_a_restart_fires_on_time_not_before(start):
    eng = await start(scale=1.0)
    await eng.spawn("l", "listen_once", {"timeout": 1.0})
    await until(lambda: waits_on(eng, "l", "http_listen"))
    await eng.stop()
    wake = row(eng, "l").wake_at
    eng = await start(scale=1.0)
    r = await eng.wait("l", timeout=10)
    assert time.time() >= wake
    assert isinstance(r, DSError) and r.kind == "timeout"


# -- children end with their parent ------------------------------------------------------------

async def test_a_parent_that_returns_cancels_its_child_and_not_the_detached_one(start):
    eng = await start()
    await eng.spawn("p", "parent_returns", {"pause": 5.0})
    assert await eng.wait("p", timeout=10) == "parent done"
    with pytest.raises(FlowCancelled):
        await eng.wait("p/1", timeout=10)
    assert await eng.wait("p/2", timeout=10) == "woke"
    assert row(eng, "p/2").detached is True and row(eng, "p/1").detached is False
    assert row(eng, "p/2").root_id == row(eng, "p").id


async def test_a_cancelled_parent_cancels_its_children_and_grandchildren(start):
    eng = await start()
    await eng.spawn("g", "grandparent", {})
    await until(lambda: all(status(eng, n) == "sleeping" for n in ("g/1/1", "g/1/2")))
    assert await eng.wait("g/1/3", timeout=10) == "woke"      # detached, and done already
    assert await eng.cancel("g") is True
    for n in ("g", "g/1", "g/1/1", "g/1/2"):
        with pytest.raises(FlowCancelled):
            await eng.wait(n, timeout=10)


async def test_a_parent_that_ends_while_a_detached_child_runs_leaves_it_running(start):
    eng = await start()
    await eng.spawn("p", "parent_waits", {"gate": "/go", "pause": 100.0})
    await until(lambda: all(status(eng, n) == "sleeping" for n in ("p/1", "p/2", "p/3")))
    assert await eng.cancel("p") is True
    assert status(eng, "p/3") == "sleeping"
    for n in ("p/1", "p/2"):
        with pytest.raises(FlowCancelled):
            await eng.wait(n, timeout=10)
    assert await eng.wait("p/3", timeout=10) == "woke"


async def test_a_parent_that_faults_cancels_its_children(start):
    eng = await start()
    await eng.spawn("p", "parent_faults", {"d": 0})
    await until(lambda: status(eng, "p/1") == "sleeping" and waits_on(eng, "p", "http_listen"))
    await eng.send("p", "POST", "/go", b"")
    with pytest.raises(FlowFailed, match="ZeroDivisionError"):
        await eng.wait("p", timeout=10)
    with pytest.raises(FlowCancelled):
        await eng.wait("p/1", timeout=10)


async def test_a_retryable_failure_leaves_children_running_until_it_is_cancelled(start):
    F.FLAKY["fail"] = True
    eng = await start()
    await eng.spawn("p", "parent_flaky", {})
    await until(lambda: status(eng, "p/1") == "sleeping" and waits_on(eng, "p", "http_listen"))
    await eng.send("p", "POST", "/go", b"")
    with pytest.raises(FlowFailed, match="provider down"):
        await eng.wait("p", timeout=10)
    await asyncio.sleep(0.1)
    assert status(eng, "p/1") == "sleeping"                    # kept for the retry
    assert await eng.cancel("p") is True
    with pytest.raises(FlowCancelled):
        await eng.wait("p/1", timeout=10)


async def test_a_retried_parent_still_has_its_children(start):
    F.FLAKY["fail"] = True
    eng = await start()
    await eng.spawn("p", "parent_flaky", {})
    await until(lambda: waits_on(eng, "p", "http_listen"))
    await eng.send("p", "POST", "/go", b"")
    with pytest.raises(FlowFailed):
        await eng.wait("p", timeout=10)
    F.FLAKY["fail"] = False
    try:
        assert await eng.retry("p") is True
        assert await eng.wait("p", timeout=10) == 5
    finally:
        F.FLAKY["fail"] = True
    with pytest.raises(FlowCancelled):                         # it ended for good now
        await eng.wait("p/1", timeout=10)


async def test_a_cancelled_child_lets_go_of_its_lock(start):
    eng = await start()
    await eng.spawn("p", "lock_parent", {})
    await until(lambda: status(eng, "p/1") == "sleeping" and waits_on(eng, "p", "http_listen"))
    assert eng.store.load_shared().locks == {1: row(eng, "p/1").id}
    await eng.send("p", "POST", "/go", b"")
    assert await eng.wait("p", timeout=10) == "parent done"
    with pytest.raises(FlowCancelled):
        await eng.wait("p/1", timeout=10)
    assert await eng.wait("p/2", timeout=10) == "took it"


async def test_children_of_a_parent_that_ended_before_a_crash_are_cancelled_at_start(start, any_store):
    # the window between the parent's end and its children's, made by hand: a store where the
    # parent is done and its attached child still sleeps, as a crash there leaves it
    eng = await start()
    await eng.spawn("p", "parent_waits", {"gate": "/go", "pause": 0.0})
    await until(lambda: status(eng, "p/2") == "sleeping" and waits_on(eng, "p", "http_listen"))
    await eng.stop()
    any_store.sql("UPDATE isolates SET status = 'done', snapshot = NULL WHERE name = 'p'")
    eng = await start()
    for n in ("p/1", "p/2"):
        with pytest.raises(FlowCancelled):
            await eng.wait(n, timeout=10)
    assert status(eng, "p") == "done"
