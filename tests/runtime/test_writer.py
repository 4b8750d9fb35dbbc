"""The group-commit writer: batching, order, all-or-nothing."""
import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from deepslate.runtime.writer import GroupCommitWriter
from deepslate.store import Commit, IsolateRow, SQLiteStore, StoreError

pytestmark = pytest.mark.timeout(30)


def create(i):
    return Commit(i, "running", b"s", 0, create=IsolateRow(i, f"n{i}", "f", b"h" * 32, snapshot=b"s"))


async def test_many_steps_share_transactions_and_keep_their_order(tmp_path):
    store = SQLiteStore(str(tmp_path / "s.db"))
    epoch = store.claim("local")
    pool = ThreadPoolExecutor(1)
    w = GroupCommitWriter(store, "local", epoch, pool, max_batch=50)
    task = asyncio.create_task(w.run())
    order = []
    for i in range(1, 301):
        w.submit(create(i), lambda exc, i=i: order.append((i, exc)))
    w.close()
    await task
    assert order == [(i, None) for i in range(1, 301)]
    assert 6 <= w.batches < 300 and w.commits == 300        # at most 50 per transaction
    assert store.count_isolates() == {"running": 300}
    pool.shutdown()
    store.close()


async def test_a_failed_batch_writes_nothing_and_fails_every_caller(tmp_path):
    store = SQLiteStore(str(tmp_path / "s.db"))
    epoch = store.claim("local")
    pool = ThreadPoolExecutor(1)
    w = GroupCommitWriter(store, "local", epoch, pool)
    task = asyncio.create_task(w.run())
    results = []
    w.submit(create(1), results.append)
    w.submit(create(1), results.append)           # same id again: the batch cannot commit
    await task
    assert len(results) == 2 and all(isinstance(r, StoreError) for r in results)
    assert store.count_isolates() == {}
    late = []
    w.submit(create(2), late.append)               # after a failure nothing more is accepted
    assert isinstance(late[0], StoreError)
    with pytest.raises(StoreError):
        await w.submit_wait(create(3))
    pool.shutdown()
    store.close()
