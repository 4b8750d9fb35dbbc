"""spawn + wait through each door: the sync doors, the asyncio client on the host's loop, and the
asyncio client bridged to spawn_workers' engine thread (SQLite, fsync on).

    .venv/bin/python -m pytest benchmarks/bench_doors.py --benchmark-only

One round of a ``one`` test is one spawn and the wait for its result, one after the other (the
flow sleeps 0 s, so three commits: the spawn, the sleep, the return); a ``hundred`` test starts
100 and waits for all of them, so the group-commit writer batches their steps."""
import asyncio
import itertools
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from deepslate import connect, flow, new_sqlite, sleep, spawn_workers  # noqa: E402


@flow
async def add(a: int, b: int) -> int:
    sleep(0.0)
    return a + b


_n = itertools.count()


def _name() -> str:
    return f"i{next(_n)}"


@pytest.fixture
def workers(tmp_path):
    platform, _ = new_sqlite(str(tmp_path / "sync.db"), listen_addr="127.0.0.1:0")
    w = spawn_workers(4, platform, [add])
    yield w
    w.stop()


@pytest.fixture
def loop():
    lp = asyncio.new_event_loop()
    yield lp
    lp.close()


@pytest.fixture
def host_client(tmp_path, loop):
    platform, _ = new_sqlite(str(tmp_path / "host.db"), listen_addr="127.0.0.1:0")
    client = loop.run_until_complete(connect(platform, [add]))
    yield client
    loop.run_until_complete(client.close())


@pytest.fixture
def bridged_client(tmp_path, loop):
    platform, _ = new_sqlite(str(tmp_path / "bridged.db"), listen_addr="127.0.0.1:0")
    w = spawn_workers(4, platform, [add])
    client = loop.run_until_complete(connect(platform))
    yield client
    loop.run_until_complete(client.close())
    w.stop()


def test_sync_one(benchmark, workers):
    def one():
        name = _name()
        workers.spawn(name, "add", {"a": 1, "b": 2})
        assert workers.wait(name, timeout=30) == 3
    benchmark.pedantic(one, rounds=200, warmup_rounds=5)


def test_sync_hundred(benchmark, workers):
    def hundred():
        names = [_name() for _ in range(100)]
        for n in names:
            workers.spawn(n, "add", {"a": 1, "b": 2})
        for n in names:
            assert workers.wait(n, timeout=30) == 3
    benchmark.pedantic(hundred, rounds=10, warmup_rounds=1)


async def _one(client):
    name = _name()
    await client.spawn(name, "add", {"a": 1, "b": 2})
    assert await client.wait(name, timeout=30) == 3


async def _hundred(client):
    await asyncio.gather(*(_one(client) for _ in range(100)))


@pytest.mark.parametrize("where", ["host", "bridged"])
def test_async_one(benchmark, request, loop, where):
    client = request.getfixturevalue(f"{where}_client")
    benchmark.pedantic(lambda: loop.run_until_complete(_one(client)), rounds=200, warmup_rounds=5)


@pytest.mark.parametrize("where", ["host", "bridged"])
def test_async_hundred(benchmark, request, loop, where):
    client = request.getfixturevalue(f"{where}_client")
    benchmark.pedantic(lambda: loop.run_until_complete(_hundred(client)), rounds=10, warmup_rounds=1)
