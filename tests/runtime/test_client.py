"""The asyncio client (deepslate.connect), the sync doors' further verbs, and spawn conflicts.

Real SQLite files, real engines on the test's own loop or on their own thread, real aiohttp
servers on 127.0.0.1. Bounds on time are relative to what a blocking call would cost (the
flow's own sleep, the time a @pure holds the engine loop), never a fixed budget."""
import asyncio
import os
import sqlite3
import sys
import threading
import time
import urllib.request

import aiohttp
import pytest
from aiohttp import web

import deepslate
from deepslate import DSError, FlowCancelled, FlowFailed, SpawnConflict, connect, new_sqlite, spawn_workers
from deepslate.runtime.isolate import args_digest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "flowmods"))
import clientflows as cf  # noqa: E402
import doorflows as df  # noqa: E402
import doorflows_slow as slow  # noqa: E402

pytestmark = pytest.mark.timeout(90)
FLOWS = [df.add, df.nap, df.listener, df.uses_fragile, df.fail_div, cf.spin, cf.basket]


@pytest.fixture
def platform(tmp_path):
    p, _ = new_sqlite(str(tmp_path / "s.db"), listen_addr="127.0.0.1:0")
    yield p
    if p.runner is not None:
        p.runner.stop()
    p.store.close()


class LagProbe:
    """How late the loop runs a task that asks to wake every ``tick`` seconds: a loop held by a
    blocking call shows as one long lag."""

    def __init__(self, tick: float = 0.005):
        self.tick = tick
        self.lags: list[float] = []
        self._task: asyncio.Task | None = None

    async def _run(self):
        loop = asyncio.get_running_loop()
        while True:
            t0 = loop.time()
            await asyncio.sleep(self.tick)
            self.lags.append(loop.time() - t0 - self.tick)

    def __enter__(self):
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc):
        self._task.cancel()

    @property
    def worst(self) -> float:
        return max(self.lags, default=0.0)


# -- on the host's own loop -------------------------------------------------------------------

async def test_every_verb_on_the_host_loop(platform):
    async with connect(platform, FLOWS, workers=2) as client:
        assert platform.engine.loop is asyncio.get_running_loop()
        assert await client.spawn("a", "add", {"a": 2, "b": 3}) == (1, False)
        assert await client.spawn("a", "add", {"b": 3, "a": 2}) == (1, True)
        assert await client.wait("a", timeout=10) == 5
        assert await client.status("a") == "done"

        await client.spawn("n", "nap", {"seconds": 30.0})
        with pytest.raises(TimeoutError, match="'n' did not finish within 0.1 s"):
            await client.wait("n", timeout=0.1)
        assert await client.status("n") == "sleeping"
        assert await client.cancel("n") is True
        with pytest.raises(FlowCancelled):
            await client.wait("n")
        assert await client.cancel("n") is False

        await client.spawn("l", "listener", {"n": 2})
        first = await client.send("l", "POST", "/numbers", b"1", key="d-1")
        assert await client.send("l", "POST", "/numbers", b"1", key="d-1") == first      # lands once
        await client.send("l", "post", "/numbers", b"2")
        assert await client.wait("l", timeout=10) == [b"1", b"2"]
        with pytest.raises(ValueError, match="has finished"):
            await client.send("l", "POST", "/numbers", b"3")

        df.FLAKY["broken"] = True
        await client.spawn("r", "uses_fragile", {"x": 1})
        with pytest.raises(FlowFailed, match="provider down"):
            await client.wait("r", timeout=10)
        assert await client.status("r") == "failed"
        df.FLAKY["broken"] = False
        assert await client.retry("r") is True
        assert await client.wait("r", timeout=10) == 2
        assert await client.retry("r") is False

        for verb, args in ((client.wait, ("ghost",)), (client.cancel, ("ghost",)), (client.retry, ("ghost",)),
                           (client.status, ("ghost",)), (client.send, ("ghost", "POST", "/x", b""))):
            with pytest.raises(KeyError, match="no isolate named 'ghost'"):
                await verb(*args)
    assert platform.stopped
    with pytest.raises(RuntimeError, match="not running: this client was closed"):
        await client.status("a")


async def test_list_filters_and_pages(platform):
    async with connect(platform, FLOWS) as client:
        for i in range(7):
            await client.spawn(f"a{i}", "add", {"a": i, "b": 1})
        await client.spawn("n", "nap", {"seconds": 30.0})
        for i in range(7):
            await client.wait(f"a{i}", timeout=10)
        everyone = await client.list()
        assert [i.name for i in everyone] == [f"a{i}" for i in range(7)] + ["n"]
        first = everyone[0]
        assert (first.id, first.flow, first.status, first.error, first.parent_id) == (1, "add", "done", None, None)
        assert first.steps >= 1 and first.created_at <= first.updated_at
        sleeping = await client.list(status="sleeping")
        assert [(i.name, i.flow) for i in sleeping] == [("n", "nap")]
        assert sleeping[0].wake_at is not None and sleeping[0].wake_at > time.time()
        assert [i.name for i in await client.list(flow="nap")] == ["n"]
        assert await client.list(flow="add", status="sleeping") == []
        pages = [await client.list(flow="add", limit=3, offset=o) for o in (0, 3, 6)]
        assert [[i.name for i in p] for p in pages] == [["a0", "a1", "a2"], ["a3", "a4", "a5"], ["a6"]]
        await client.spawn("bad", "fail_div", {"x": 0})
        with pytest.raises(FlowFailed):
            await client.wait("bad")
        (failed,) = await client.list(status="failed")
        assert failed.name == "bad" and "by zero" in failed.error

        with pytest.raises(ValueError, match="status must be one of running, sleeping"):
            await client.list(status="asleep")
        with pytest.raises(TypeError, match="flow must be a flow name"):
            await client.list(flow=3)
        with pytest.raises(ValueError, match="limit must be at least 1, not 0"):
            await client.list(limit=0)
        with pytest.raises(ValueError, match="limit must be at most 1000"):
            await client.list(limit=5000)
        with pytest.raises(ValueError, match="offset must be at least 0, not -1"):
            await client.list(offset=-1)
        with pytest.raises(TypeError, match="limit must be an int, not str"):
            await client.list(limit="10")
        with pytest.raises(TypeError, match="timeout must be a number"):
            await client.status("n", timeout="soon")


async def test_connect_errors(platform, tmp_path):
    with pytest.raises(TypeError, match="platform from new_sqlite"):
        connect("s.db", FLOWS)
    with pytest.raises(TypeError, match="@flow functions"):
        connect(platform, [len])
    with pytest.raises(ValueError, match="workers must be an int of at least 1"):
        connect(platform, FLOWS, workers=0)
    with pytest.raises(ValueError, match="runs no engine yet: give connect the flows"):
        await connect(platform)
    client = await connect(platform, FLOWS)
    try:
        with pytest.raises(RuntimeError, match="already runs an engine \\(started by connect\\)"):
            await connect(platform, FLOWS)
        with pytest.raises(RuntimeError, match="already runs an engine on an event loop"):
            spawn_workers(1, platform, FLOWS)
        other = await connect(platform)             # a second client of the same engine
        await other.spawn("x", "add", {"a": 1, "b": 1})
        assert await client.wait("x", timeout=10) == 2
        await other.close()                         # does not stop what it did not start
        assert await client.status("x") == "done"
    finally:
        await client.close()
    await client.close()                            # idempotent
    with pytest.raises(RuntimeError, match="was stopped: its store is closed"):
        await connect(platform, FLOWS)
    with pytest.raises(RuntimeError, match="was stopped"):
        spawn_workers(1, platform, FLOWS)


async def test_a_client_on_another_loop_bridges_to_the_host_loop_engine(platform):
    async with connect(platform, FLOWS) as client:
        def elsewhere():
            async def go():
                await client.spawn("t", "add", {"a": 4, "b": 5})
                return await client.wait("t", timeout=10), await client.status("t")
            return asyncio.run(go())
        assert await asyncio.to_thread(elsewhere) == (9, "done")


# -- the host loop is never blocked ------------------------------------------------------------

NAP = 0.6        # how long the flows sleep: what a door that blocked the loop would cost at least


def _health_latencies(url: str, n: int) -> list[float]:
    """Latencies of ``n`` GET /health, timed on the calling thread (not on the server's loop, which
    would not see its own stalls)."""
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        with urllib.request.urlopen(url + "/health", timeout=30) as r:
            assert r.status == 200
        out.append(time.perf_counter() - t0)
        time.sleep(0.01)
    return out


async def _serve(routes: web.RouteTableDef):
    app = web.Application()
    app.add_routes(routes)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, f"http://127.0.0.1:{port}"


async def _latencies_while_waiting(url: str, wait_path: str, expect: str) -> list[float]:
    """Health latencies (from another thread) while a request to ``wait_path`` waits for a
    sleeping flow on the server's loop."""
    async with aiohttp.ClientSession() as s:
        waiting = asyncio.ensure_future(s.get(url + wait_path))
        during = await asyncio.to_thread(_health_latencies, url, 25)
        resp = await waiting
        text = await resp.text()
        resp.close()
    assert text == expect, text
    return during


async def test_the_async_client_never_blocks_the_host_loop(platform):
    routes = web.RouteTableDef()
    client_box = {}

    @routes.get("/health")
    async def health(request):
        return web.Response(text="ok")

    @routes.get("/wait/{name}")
    async def wait_for(request):
        return web.Response(text=str(await client_box["c"].wait(request.match_info["name"], timeout=30)))

    runner, url = await _serve(routes)
    try:
        async with connect(platform, FLOWS, workers=4) as client:
            client_box["c"] = client
            baseline = await asyncio.to_thread(_health_latencies, url, 20)
            with LagProbe() as probe:
                for i in range(40):
                    await client.spawn(f"nap{i}", "nap", {"seconds": NAP})
                for i in range(4):
                    await client.spawn(f"spin{i}", "spin", {"n": 400_000})
                during = await _latencies_while_waiting(url, "/wait/nap0", "rested")
                for i in range(40):
                    assert await client.wait(f"nap{i}", timeout=30) == "rested"
                for i in range(4):
                    assert await client.wait(f"spin{i}", timeout=60) == sum(j % 7 for j in range(400_000))
        # a door that blocked the loop would hold every request behind it for the whole nap
        bound = max(NAP / 4, 20 * sorted(baseline)[len(baseline) // 2])
        assert max(during) < bound, (max(during), bound, sorted(baseline))
        assert probe.worst < bound, (probe.worst, bound)
    finally:
        await runner.cleanup()


async def test_a_sync_door_in_an_async_handler_does_block_it(tmp_path):
    # the control of the test above: the same measurement catches a door that blocks the loop
    platform, _ = new_sqlite(str(tmp_path / "s.db"), listen_addr="127.0.0.1:0")
    workers = spawn_workers(2, platform, FLOWS)
    routes = web.RouteTableDef()

    @routes.get("/health")
    async def health(request):
        return web.Response(text="ok")

    @routes.get("/wait/{name}")
    async def wait_for(request):
        return web.Response(text=str(workers.wait(request.match_info["name"], timeout=30)))   # blocks

    runner, url = await _serve(routes)
    try:
        workers.spawn("nap0", "nap", {"seconds": NAP})
        with LagProbe() as probe:
            during = await _latencies_while_waiting(url, "/wait/nap0", "rested")
        assert max(during) > NAP / 2, during
        assert probe.worst > NAP / 2, probe.worst
    finally:
        await runner.cleanup()
        workers.stop()


# -- bridged to spawn_workers' engine thread ------------------------------------------------

async def test_bridged_client_has_every_verb(platform):
    workers = spawn_workers(2, platform, FLOWS)
    client = await connect(platform)
    assert platform.engine.loop is not asyncio.get_running_loop()
    assert await client.spawn("a", "add", {"a": 1, "b": 2}) == (1, False)
    assert await client.wait("a", timeout=10) == 3
    assert workers.wait("a") == 3                           # the same engine as the sync doors
    await client.spawn("l", "listener", {"n": 1})
    await client.send("l", "POST", "/numbers", b"x")
    assert await client.wait("l", timeout=10) == [b"x"]
    await client.spawn("n", "nap", {"seconds": 30.0})
    with pytest.raises(TimeoutError, match="'n' did not finish within 0.1 s"):
        await client.wait("n", timeout=0.1)
    assert await client.cancel("n") is True
    df.FLAKY["broken"] = True
    await client.spawn("r", "uses_fragile", {"x": 1})
    with pytest.raises(FlowFailed):
        await client.wait("r", timeout=10)
    df.FLAKY["broken"] = False
    assert await client.retry("r") is True
    assert await client.wait("r", timeout=10) == 2
    assert [(i.name, i.status) for i in await client.list()] == [("a", "done"), ("l", "done"), ("n", "cancelled"),
                                                                 ("r", "done")]
    with pytest.raises(KeyError):
        await client.status("ghost")
    with pytest.raises(SpawnConflict):
        await client.spawn("a", "add", {"a": 1, "b": 3})
    with pytest.raises(RuntimeError, match="without flows to get a client of them"):
        connect(platform, FLOWS)
    await client.close()                                    # leaves the engine to the sync stop()
    assert workers.status("a") == "done"
    workers.stop()
    client = await connect(platform) if platform.runner is not None else None
    assert client is None


HOLD = 2.0


async def test_bridged_timeouts_hold_while_the_engine_loop_is_held(tmp_path):
    platform, _ = new_sqlite(str(tmp_path / "s.db"), listen_addr="127.0.0.1:0")
    workers = spawn_workers(2, platform, [slow.hog, slow.idle, df.add])
    try:
        client = await connect(platform)
        await client.spawn("o", "idle", {"seconds": 60.0})
        slow.STALLING.clear()
        await client.spawn("h", "hog", {"seconds": HOLD})
        assert await asyncio.to_thread(slow.STALLING.wait, 10)
        with LagProbe() as probe:
            t0 = time.monotonic()
            with pytest.raises(TimeoutError, match="'o' did not finish within 0.3 s"):
                await client.wait("o", timeout=0.3)
            with pytest.raises(TimeoutError, match="may still be committed"):
                await client.spawn("s", "add", {"a": 1, "b": 2}, timeout=0.3)
            with pytest.raises(TimeoutError, match="status\\('o'\\) got no answer"):
                await client.status("o", timeout=0.3)
            took = time.monotonic() - t0
        assert took < HOLD, took                  # each gave up at its own timeout, not at the loop's
        assert probe.worst < HOLD / 4, probe.worst     # and the caller's loop ran all along
        assert await client.wait("h", timeout=20) == 1
        assert await client.spawn("s", "add", {"a": 1, "b": 2}, timeout=10) == (3, True)   # it was carried out
        assert await client.wait("s", timeout=10) == 3
        assert "Engine.wait" not in await client._call(_task_names(), 10, on_timeout="")
    finally:
        workers.stop()


async def _task_names():
    return [t.get_coro().__qualname__ for t in asyncio.all_tasks()]


async def test_bridged_client_sees_the_engine_go(tmp_path):
    platform, _ = new_sqlite(str(tmp_path / "s.db"), listen_addr="127.0.0.1:0")
    workers = spawn_workers(2, platform, [slow.idle])
    try:
        client = await connect(platform)
        await client.spawn("o", "idle", {"seconds": 60.0})
        loop = platform.runner.loop
        threading.Timer(0.3, lambda: loop.call_soon_threadsafe(loop.stop)).start()
        t0 = time.monotonic()
        with pytest.raises(RuntimeError, match="not running: its event loop was stopped"):
            await client.wait("o")                       # no timeout: it would have waited for ever
        assert time.monotonic() - t0 < 60 / 4
        with pytest.raises(RuntimeError, match="not running"):
            await client.spawn("p", "idle", {"seconds": 1.0})
    finally:
        workers.stop()
    with pytest.raises(RuntimeError, match="not running: it was stopped"):
        await client.status("o")


async def test_a_caller_cancelled_mid_spawn_leaves_the_spawn_whole(tmp_path):
    platform, _ = new_sqlite(str(tmp_path / "s.db"), listen_addr="127.0.0.1:0")
    workers = spawn_workers(2, platform, [slow.hog, df.add])
    try:
        client = await connect(platform)
        slow.STALLING.clear()
        await client.spawn("h", "hog", {"seconds": 1.0})
        assert await asyncio.to_thread(slow.STALLING.wait, 10)
        task = asyncio.ensure_future(client.spawn("s", "add", {"a": 2, "b": 2}))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # handed over before the cancel, it was carried out: spawning again tells
        assert await client.spawn("s", "add", {"a": 2, "b": 2}, timeout=20) == (2, True)
        assert await client.wait("s", timeout=20) == 4
    finally:
        workers.stop()


# -- the sync doors' further verbs -------------------------------------------------------------

def test_sync_doors_send_retry_status_list(platform):
    workers = spawn_workers(2, platform, FLOWS)
    spawn, wait, cancel, stop = workers                   # the README's shape still unpacks
    assert (workers.spawn, workers.wait, workers.cancel, workers.stop) == (spawn, wait, cancel, stop)
    assert "send, retry, status, list" in repr(workers)
    spawn("l", "listener", {"n": 2})
    mid = workers.send("l", "POST", "/numbers", b"a", key="k")
    assert workers.send("l", "POST", "/numbers", b"a", key="k") == mid
    workers.send("l", "POST", "/numbers", b"b")
    assert wait("l", timeout=10) == [b"a", b"b"]
    assert workers.status("l") == "done"
    with pytest.raises(ValueError, match="has finished"):
        workers.send("l", "POST", "/numbers", b"c")
    with pytest.raises(TypeError, match="must be bytes"):
        workers.send("l", "POST", "/numbers", "text")
    df.FLAKY["broken"] = True
    spawn("r", "uses_fragile", {"x": 10})
    with pytest.raises(FlowFailed):
        wait("r", timeout=10)
    assert [i.name for i in workers.list(status="failed")] == ["r"]
    df.FLAKY["broken"] = False
    assert workers.retry("r") is True
    assert wait("r", timeout=10) == 11
    assert workers.retry("r") is False
    spawn("n", "nap", {"seconds": 30.0})
    assert workers.status("n") == "sleeping"
    assert [(i.name, i.flow) for i in workers.list(status="sleeping", flow="nap")] == [("n", "nap")]
    assert [i.name for i in workers.list(limit=2, offset=1)] == ["r", "n"]
    for door, args in ((workers.status, ("ghost",)), (workers.retry, ("ghost",)),
                       (workers.send, ("ghost", "POST", "/x", b""))):
        with pytest.raises(KeyError, match="ghost"):
            door(*args)
    with pytest.raises(ValueError, match="status must be one of"):
        workers.list(status="zombie")
    with pytest.raises(TypeError, match="timeout must be a number"):
        workers.status("n", timeout=[1])
    stop()
    for door, args in ((workers.status, ("n",)), (workers.list, ()), (workers.retry, ("r",)),
                       (workers.send, ("n", "POST", "/x", b""))):
        with pytest.raises(RuntimeError, match="not running: it was stopped"):
            door(*args)


def test_sync_door_timeouts_hold_while_the_loop_is_held(tmp_path):
    platform, _ = new_sqlite(str(tmp_path / "s.db"), listen_addr="127.0.0.1:0")
    workers = spawn_workers(2, platform, [slow.hog, df.listener, df.uses_fragile])
    try:
        workers.spawn("l", "listener", {"n": 1})
        slow.STALLING.clear()
        workers.spawn("h", "hog", {"seconds": HOLD})
        assert slow.STALLING.wait(10)
        t0 = time.monotonic()
        with pytest.raises(TimeoutError, match="send\\('l'\\) got no answer .* send again with the same key"):
            workers.send("l", "POST", "/numbers", b"late", key="once", timeout=0.3)
        with pytest.raises(TimeoutError, match="status\\('l'\\)"):
            workers.status("l", timeout=0.3)
        with pytest.raises(TimeoutError, match="list\\(\\)"):
            workers.list(timeout=0.3)
        with pytest.raises(TimeoutError, match="retry\\('l'\\)"):
            workers.retry("l", timeout=0.3)
        assert time.monotonic() - t0 < HOLD
        workers.send("l", "POST", "/numbers", b"late", key="once", timeout=20)     # lands once
        assert workers.wait("l", timeout=20) == [b"late"]
    finally:
        workers.stop()


# -- spawn conflicts --------------------------------------------------------------------------

def test_spawn_conflicts_name_both_sides(platform):
    spawn, wait, cancel, stop = spawn_workers(2, platform, FLOWS)
    spawn("x", "nap", {"seconds": 30.0})
    assert spawn("x", "nap", {"seconds": 30}) == (1, True)         # 30 is checked into 30.0 first
    with pytest.raises(SpawnConflict, match="'x' already exists with flow 'nap', not 'add'") as ei:
        spawn("x", "add", {"a": 1, "b": 2})
    assert (ei.value.existing_flow, ei.value.flow) == ("nap", "add")
    with pytest.raises(SpawnConflict, match="other arguments than nap\\(seconds=5.0\\)"):
        spawn("x", "nap", {"seconds": 5.0})
    assert isinstance(ei.value, ValueError)
    items = [cf.Item("tea", 2), cf.Item("cake", 1)]
    spawn("b", "basket", {"items": items, "notes": {"a": "1", "b": "2"}})
    assert spawn("b", "basket", {"items": [cf.Item("tea", 2), cf.Item("cake", 1)],
                                 "notes": {"b": "2", "a": "1"}}) == (2, True)
    with pytest.raises(SpawnConflict):
        spawn("b", "basket", {"items": [cf.Item("tea", 3), cf.Item("cake", 1)], "notes": {"a": "1", "b": "2"}})
    assert wait("b", timeout=10) == 3
    with pytest.raises(SpawnConflict):                             # finished: it still conflicts
        spawn("b", "basket", {"items": [], "notes": {}})
    stop()


async def test_spawn_conflicts_across_a_restart(tmp_path):
    path = str(tmp_path / "s.db")
    platform, _ = new_sqlite(path, listen_addr="127.0.0.1:0")
    workers = spawn_workers(2, platform, FLOWS)
    workers.spawn("s", "nap", {"seconds": 30.0})
    workers.spawn("d", "add", {"a": 1, "b": 2})
    assert workers.wait("d", timeout=10) == 3
    workers.stop()
    platform, _ = new_sqlite(path, listen_addr="127.0.0.1:0")
    async with connect(platform, FLOWS) as client:
        assert await client.spawn("s", "nap", {"seconds": 30.0}) == (1, True)     # loaded from its row
        assert await client.spawn("d", "add", {"a": 1, "b": 2}) == (2, True)      # read from its row
        with pytest.raises(SpawnConflict, match="other arguments"):
            await client.spawn("s", "nap", {"seconds": 1.0})
        with pytest.raises(SpawnConflict, match="other arguments"):
            await client.spawn("d", "add", {"a": 2, "b": 1})
        with pytest.raises(SpawnConflict, match="with flow 'add', not 'nap'"):
            await client.spawn("d", "nap", {"seconds": 1.0})


def test_rows_from_before_argument_digests_match_the_same_flow(tmp_path):
    path = str(tmp_path / "s.db")
    platform, _ = new_sqlite(path, listen_addr="127.0.0.1:0")
    spawn, wait, cancel, stop = spawn_workers(2, platform, FLOWS)
    spawn("old", "add", {"a": 1, "b": 2})
    assert wait("old", timeout=10) == 3
    stop()
    db = sqlite3.connect(path)
    db.execute("UPDATE isolates SET args_hash = NULL")     # what schema version 5 leaves on older rows
    db.commit()
    db.close()
    platform, _ = new_sqlite(path, listen_addr="127.0.0.1:0")
    spawn, wait, cancel, stop = spawn_workers(2, platform, FLOWS)
    assert spawn("old", "add", {"a": 5, "b": 5}) == (1, True)      # nothing to compare but the flow
    with pytest.raises(SpawnConflict, match="with flow 'add', not 'nap'"):
        spawn("old", "nap", {"seconds": 1.0})
    stop()


def test_args_digest_equality():
    d = args_digest
    assert d((1, "a")) == d((1, "a"))
    assert d(({"a": 1, "b": [1, 2]},)) == d(({"b": [1, 2], "a": 1},))
    assert len({d((1,)), d((1.0,)), d((True,)), d(("1",)), d((b"1",)), d(([1],)), d((None,))}) == 7
    assert d(("ab", "c")) != d(("a", "bc"))
    assert d(([1, 2], [3])) != d(([1], [2, 3]))
    assert d((DSError("x"),)) == d((DSError("x"),)) != d((DSError("x", kind="timeout"),))
    assert d((cf.Item("a", 1),)) == d((cf.Item("a", 1),)) != d((cf.Item("a", 2),))
    assert d((float("-0.0"),)) != d((0.0,))
    with pytest.raises(TypeError, match="cannot compare spawn arguments of type object"):
        d((object(),))


def test_public_api_names():
    for name in ("connect", "Client", "IsolateInfo", "SpawnConflict"):
        assert name in deepslate.__all__ and getattr(deepslate, name)
