"""Retry once: a retry that carries the failure it saw (``failed_at``, that failure's
``updated_at``) happens only while the isolate is still failed at exactly that time."""
from __future__ import annotations

import asyncio
import sys

import pytest

from deepslate import Engine, FlowFailed, connect, new_sqlite, spawn_workers
from deepslate.store import SQLiteStore

sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/flowmods")
import opsflows as F  # noqa: E402

pytestmark = pytest.mark.timeout(60)
FLOWS = [v for v in vars(F).values() if hasattr(v, "program") and hasattr(v, "name")]


@pytest.fixture(autouse=True)
def clean():
    F.FAILS.clear()
    yield
    F.FAILS.clear()


async def test_two_retries_of_one_failure_retry_once(tmp_path, engines):
    eng = await engines.start(Engine(SQLiteStore(str(tmp_path / "s.db")), FLOWS, 2))
    F.FAILS["c"] = 1
    await eng.spawn("c", "charge", {"key": "c"})
    with pytest.raises(FlowFailed):
        await eng.wait("c", timeout=20)
    failed_at = eng.store.get_isolate("c").updated_at
    # a double click: both carry the failure they saw
    assert sorted(await asyncio.gather(eng.retry("c", failed_at=failed_at),
                                       eng.retry("c", failed_at=failed_at))) == [False, True]
    assert await eng.wait("c", timeout=20) == 1


async def test_a_retry_of_a_failure_that_was_retried_and_failed_again_does_nothing(tmp_path, engines):
    eng = await engines.start(Engine(SQLiteStore(str(tmp_path / "s.db")), FLOWS, 2))
    F.FAILS["c"] = 2
    await eng.spawn("c", "charge", {"key": "c"})
    with pytest.raises(FlowFailed):
        await eng.wait("c", timeout=20)
    first = eng.store.get_isolate("c").updated_at
    assert await eng.retry("c", failed_at=first)
    with pytest.raises(FlowFailed):
        await eng.wait("c", timeout=20)
    second = eng.store.get_isolate("c").updated_at
    assert second != first
    assert not await eng.retry("c", failed_at=first)        # the second click, late
    assert eng.store.get_isolate("c").status == "failed"
    assert eng.store.get_isolate("c").updated_at == second
    assert await eng.retry("c", failed_at=second)
    assert await eng.wait("c", timeout=20) == 1
    with pytest.raises(TypeError, match="failed_at must be the failure's updated_at"):
        await eng.retry("c", failed_at="now")  # type: ignore[arg-type]


def test_the_doors_pass_failed_at_through(tmp_path):
    platform, _ = new_sqlite(str(tmp_path / "s.db"), listen_addr="127.0.0.1:0")
    workers = spawn_workers(2, platform, FLOWS)
    try:
        F.FAILS["c"] = 1
        workers.spawn("c", "charge", {"key": "c"})
        with pytest.raises(FlowFailed):
            workers.wait("c", timeout=20)
        [info] = workers.list(status="failed")
        assert workers.retry("c", failed_at=info.updated_at + 1) is False
        assert workers.retry("c", failed_at=info.updated_at) is True
        assert workers.wait("c", timeout=20) == 1

        async def through_the_client() -> tuple[bool, bool]:
            F.FAILS["d"] = 1
            client = await connect(platform)
            await client.spawn("d", "charge", {"key": "d"})
            with pytest.raises(FlowFailed):
                await client.wait("d", timeout=20)
            [seen] = await client.list(status="failed")
            return (await client.retry("d", failed_at=seen.updated_at - 1),
                    await client.retry("d", failed_at=seen.updated_at))
        assert asyncio.run(through_the_client()) == (False, True)
        assert workers.wait("d", timeout=20) == 1
    finally:
        workers.stop()
