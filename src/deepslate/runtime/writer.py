"""The group-commit writer: many isolates' steps, one transaction.

Steps are submitted from the event loop with a callback; the writer task takes
everything submitted so far (up to ``max_batch``), writes it on the database
thread in one transaction, and only then calls the callbacks in submission
order. While one batch is being written the next one fills up, so the number
of transactions per second stays about the disk's fsync rate while the number
of steps per transaction grows with the load.

No commit in a batch depends on another one in flight: a change to shared
state is published to other isolates only once its commit is durable (see
runtime/shared.py). So a batch that fails because of one commit's values is
split and written again in halves until that commit stands alone; its
callback gets a ``CommitRejected`` (the isolate fails, see Engine._rejected)
and the others land. Any other failure is the store's (disk, I/O, lost lease):
nothing of the batch was written, and every callback gets the exception; the
engine then stops (Engine._halt).
"""
from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Callable

from ..store.base import Commit, CommitRejected, Store, StoreError
from .._faults import fault_point

if TYPE_CHECKING:
    from .metrics import EngineMetrics

log = logging.getLogger("deepslate.runtime")
Callback = Callable[[BaseException | None], None]

# what one commit's values can raise on the way into the store (an int out of range, a str
# that cannot be encoded); everything else is taken as a fault of the store itself
VALUE_FAULTS = (CommitRejected, ValueError, TypeError, OverflowError)


class GroupCommitWriter:
    def __init__(self, store: Store, node_id: str, epoch: int, executor: Executor, max_batch: int = 1000, *,
                 metrics: "EngineMetrics | None" = None):
        self.store = store
        self.node_id = node_id
        self.epoch = epoch
        self.executor = executor
        self.max_batch = max_batch
        self._buf: list[tuple[Commit, Callback]] = []
        self._wake = asyncio.Event()
        self._closed = False
        self._writing = False
        self._drained: asyncio.Future[None] | None = None
        self.failure: BaseException | None = None
        self.batches = 0
        self.commits = 0
        self.rejected = 0
        self.metrics = metrics      # commits per transaction and its latency, once per transaction

    def submit(self, commit: Commit, callback: Callback) -> None:
        if self.failure is not None:
            callback(self.failure)
            return
        self._buf.append((commit, callback))
        self._wake.set()

    def submit_wait(self, commit: Commit) -> "asyncio.Future[None]":
        fut = asyncio.get_running_loop().create_future()

        def done(exc: BaseException | None) -> None:
            if not fut.done():
                fut.set_exception(exc) if exc else fut.set_result(None)
        self.submit(commit, done)
        return fut

    def drained(self) -> "asyncio.Future[None] | None":
        """None when nothing submitted is waiting or being written (every callback has run);
        else a future that ends once that is so."""
        if not self._buf and not self._writing:
            return None
        if self._drained is None:
            self._drained = asyncio.get_running_loop().create_future()
        return self._drained

    def _settled(self) -> None:
        if self._drained is not None and not self._buf:
            self._drained.set_result(None)
            self._drained = None

    async def run(self) -> None:
        try:
            await self._run()
        finally:
            self._writing = False
            self._buf_done()

    def _buf_done(self) -> None:
        if self._drained is not None:
            self._drained.set_result(None)
            self._drained = None

    async def _run(self) -> None:
        while True:
            if not self._buf:
                if self._closed:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            batch, self._buf = self._buf[:self.max_batch], self._buf[self.max_batch:]
            self._writing = True
            try:
                await self._write(batch)
            except BaseException as e:   # the store failed: nothing of this batch is durable
                self.failure = e
                rest, self._buf = self._buf, []
                for _, cb in batch + rest:
                    _call(cb, e)
                return
            finally:
                self._writing = False
            self._settled()

    async def _write(self, batch: list[tuple[Commit, Callback]]) -> None:
        """Write ``batch``, splitting out commits whose values the store refuses; raises only
        for a fault of the store."""
        loop = asyncio.get_running_loop()
        t0 = time.perf_counter()
        try:
            await loop.run_in_executor(self.executor, self.store.commit_batch, self.node_id, self.epoch,
                                       [c for c, _ in batch])
        except VALUE_FAULTS as e:
            if isinstance(e, StoreError):
                raise
            if len(batch) == 1:
                self.rejected += 1
                commit, cb = batch[0]
                err = e if isinstance(e, CommitRejected) else CommitRejected(f"{type(e).__name__}: {e}")
                log.warning("commit of isolate %d refused: %s", commit.isolate_id, err)
                _call(cb, err)
                return
            mid = len(batch) // 2
            await self._write(batch[:mid])
            await self._write(batch[mid:])
            return
        fault_point("after_commit_before_resume")
        self.batches += 1
        self.commits += len(batch)
        m = self.metrics
        if m is not None:
            m.commit_seconds.observe(time.perf_counter() - t0)
            m.commit_batch_size.observe(len(batch))
        for _, cb in batch:
            _call(cb, None)

    def close(self) -> None:
        """Finish writing what was submitted, then let ``run`` return."""
        self._closed = True
        self._wake.set()


def _call(cb: Callback, exc: BaseException | None) -> None:
    try:
        cb(exc)
    except Exception:      # a callback's bug must not stop every other isolate's commits
        log.exception("after a commit")
