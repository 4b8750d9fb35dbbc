"""The group-commit writer: batching, order, all-or-nothing (on SQLite and PostgreSQL)."""
import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from deepslate.runtime.writer import GroupCommitWriter
from deepslate.store import Commit, IsolateRow, StoreError
from deepslate.store.base import CommitRejected, QueueTake, StoreFull

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def pool():
    p = ThreadPoolExecutor(1)
    yield p
    p.shutdown()


@pytest.fixture
async def running():
    """``running(w)`` starts writer ``w``'s task; at teardown the writer is closed and its task
    ended, also when the test failed before it awaited the task."""
    tasks = []

    def run(w):
        task = asyncio.create_task(w.run())
        tasks.append((w, task))
        return task
    yield run
    for w, task in tasks:
        w.close()
        await asyncio.wait([task], timeout=10)
        task.cancel()


def create(i):
    return Commit(i, "running", b"s", 0, create=IsolateRow(i, f"n{i}", "f", b"h" * 32, snapshot=b"s"))


async def test_many_steps_share_transactions_and_keep_their_order(any_store, pool, running):
    store = any_store.open()
    epoch = store.claim("local")
    w = GroupCommitWriter(store, "local", epoch, pool, max_batch=50)
    task = running(w)
    order = []
    for i in range(1, 301):
        w.submit(create(i), lambda exc, i=i: order.append((i, exc)))
    w.close()
    await task
    assert order == [(i, None) for i in range(1, 301)]
    assert 6 <= w.batches < 300 and w.commits == 300        # at most 50 per transaction
    assert store.count_isolates() == {"running": 300}


async def test_a_store_fault_writes_nothing_and_fails_every_caller(store, pool, running):
    epoch = store.claim("local")
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count={pages}")             # a full disk: no page to grow into
    w = GroupCommitWriter(store, "local", epoch, pool)
    task = running(w)
    results = []
    big = b"s" * 100_000
    w.submit(Commit(1, "running", big, 0, create=IsolateRow(1, "n1", "f", b"h" * 32, snapshot=big)), results.append)
    w.submit(Commit(2, "running", big, 0, create=IsolateRow(2, "n2", "f", b"h" * 32, snapshot=big)), results.append)
    await task
    assert len(results) == 2 and all(isinstance(r, StoreFull) for r in results)
    assert w.rejected == 0                          # a store fault is not split into rejections
    assert store.count_isolates() == {}
    late = []
    w.submit(create(3), late.append)               # after a failure nothing more is accepted
    assert isinstance(late[0], StoreError)
    with pytest.raises(StoreError):
        await w.submit_wait(create(4))


@pytest.mark.parametrize("poison", [
    Commit(3, "running", b"s", 2**63, create=IsolateRow(3, "n3", "f", b"h" * 32, snapshot=b"s")),   # int64
    Commit(3, "running", b"s", 0, create=IsolateRow(3, "n\ud800", "f", b"h" * 32, snapshot=b"s")),  # not UTF-8
    Commit(3, "running", b"s", 0, create=IsolateRow(1, "again", "f", b"h" * 32, snapshot=b"s")),    # id taken
    Commit(3, "running", b"s", 0, ops=[QueueTake(1, 1)], create=IsolateRow(3, "n3", "f", b"h" * 32, snapshot=b"s")),
], ids=["int64", "surrogate-name", "duplicate-id", "take-of-no-item"])
async def test_one_bad_commit_is_split_out_and_the_others_land(any_store, pool, running, poison):
    store = any_store.open()
    epoch = store.claim("local")
    w = GroupCommitWriter(store, "local", epoch, pool)
    task = running(w)
    order = []
    for c in [create(1), create(2), poison, create(4), create(5)]:
        w.submit(c, lambda exc, i=c.isolate_id: order.append((i, exc)))
    w.close()
    await task
    assert [i for i, _ in order] == [1, 2, 3, 4, 5]          # callbacks keep submission order
    assert [exc is None for _, exc in order] == [True, True, False, True, True]
    assert isinstance(order[2][1], CommitRejected) and not isinstance(order[2][1], StoreError)
    assert w.failure is None and w.rejected == 1
    assert sorted(r.name for r in store.list_isolates()) == ["n1", "n2", "n4", "n5"]
