"""The group-commit writer: many isolates' steps, one transaction.

Steps are submitted from the event loop with a callback; the writer task takes
everything submitted so far (up to ``max_batch``), writes it on the database
thread in one transaction, and only then calls the callbacks in submission
order. While one batch is being written the next one fills up, so the number
of transactions per second stays about the disk's fsync rate while the number
of steps per transaction grows with the load.

Submission order is the order of the batches and, inside a batch, the order
of the statements: an effect on shared state is always submitted before any
step that observed it (see engine.py), so no batch can depend on a later one.
A failed batch is written not at all; the engine then stops (see Engine._halt).
"""
from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor
from typing import Callable

from ..store.base import Commit, Store
from .._faults import fault_point

log = logging.getLogger("deepslate.runtime")
Callback = Callable[[BaseException | None], None]


class GroupCommitWriter:
    def __init__(self, store: Store, node_id: str, epoch: int, executor: Executor, max_batch: int = 1000):
        self.store = store
        self.node_id = node_id
        self.epoch = epoch
        self.executor = executor
        self.max_batch = max_batch
        self._buf: list[tuple[Commit, Callback]] = []
        self._wake = asyncio.Event()
        self._closed = False
        self.failure: BaseException | None = None
        self.batches = 0
        self.commits = 0

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

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._buf:
                if self._closed:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            batch, self._buf = self._buf[:self.max_batch], self._buf[self.max_batch:]
            try:
                await loop.run_in_executor(self.executor, self.store.commit_batch, self.node_id, self.epoch,
                                           [c for c, _ in batch])
                fault_point("after_commit_before_resume")
            except BaseException as e:   # the batch is rolled back; nothing of it is durable
                self.failure = e
                rest, self._buf = self._buf, []
                for _, cb in batch + rest:
                    cb(e)
                return
            self.batches += 1
            self.commits += len(batch)
            for _, cb in batch:
                try:
                    cb(None)
                except Exception:      # a callback's bug must not stop every other isolate's commits
                    log.exception("after a commit")

    def close(self) -> None:
        """Finish writing what was submitted, then let ``run`` return."""
        self._closed = True
        self._wake.set()
