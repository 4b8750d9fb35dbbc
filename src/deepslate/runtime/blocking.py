"""Threads for blocking ``@impure`` calls.

``loop.run_in_executor`` costs a concurrent Future (with its Condition), an asyncio Future
chained to it and a Task awaiting it: about 30 µs of the event loop's time per call, which is
most of a step's cost when thousands of isolates resume at once. Here a call is a tuple on a
queue, and outcomes go back to the loop in batches: one wake-up of the loop for however many
calls ended meanwhile.
"""
from __future__ import annotations

import asyncio
import collections
import contextvars
import queue
import threading
from typing import Any, Callable

Outcome = tuple[bool, Any]          # (True, value) or (False, the exception raised)


class BlockingPool:
    def __init__(self, loop: asyncio.AbstractEventLoop, threads: int,
                 deliver: Callable[[Any, Outcome], None]):
        self.loop = loop
        self.deliver = deliver
        self.jobs: queue.SimpleQueue[tuple[contextvars.Context, Callable[..., Any], tuple[Any, ...], Any] | None] = \
            queue.SimpleQueue()
        self.ended: collections.deque[tuple[Any, Outcome]] = collections.deque()
        self.lock = threading.Lock()
        self.posted = False
        self.closed = False
        # daemon: a call that never returns must not keep the process from exiting
        self.threads = [threading.Thread(target=self._serve, name=f"deepslate-impure-{i}", daemon=True)
                        for i in range(threads)]
        for t in self.threads:
            t.start()

    def submit(self, ctx: contextvars.Context, fn: Callable[..., Any], args: tuple[Any, ...], tag: Any) -> None:
        """Run ``ctx.run(fn, *args)`` on a pool thread; ``deliver(tag, outcome)`` runs on the loop."""
        self.jobs.put((ctx, fn, args, tag))

    def _serve(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            ctx, fn, args, tag = job
            try:
                out: Outcome = (True, ctx.run(fn, *args))
            except BaseException as e:       # the engine decides: retry, DSError or a failed isolate
                out = (False, e)
            with self.lock:
                if self.closed:
                    continue
                self.ended.append((tag, out))
                post, self.posted = not self.posted, True
            if post:
                try:
                    self.loop.call_soon_threadsafe(self._drain)
                except RuntimeError:         # the loop is closed: the engine has stopped
                    return

    def _drain(self) -> None:
        with self.lock:
            batch = list(self.ended)
            self.ended.clear()
            self.posted = False
        for tag, out in batch:
            self.deliver(tag, out)

    def close(self) -> None:
        """Drop calls not started yet and outcomes not delivered; running calls finish unheard."""
        with self.lock:
            self.closed = True
            self.ended.clear()
        try:
            while True:
                self.jobs.get_nowait()
        except queue.Empty:
            pass
        for _ in self.threads:
            self.jobs.put(None)
