"""The inspector's reads: its own read-only store connection, used from one thread of its own."""
from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, TypeVar

from ..store.base import Store

T = TypeVar("T")


class Reader:
    """Store reads off the inspector's event loop: a slow query (a name search over every row)
    delays the pages waiting behind it, never the loop's other work nor the engine, which
    writes through a connection of its own."""

    def __init__(self, store: Store):
        self.store = store
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="deepslate-inspector-db")
        self.closed = False

    async def call(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, functools.partial(fn, *args, **kw))

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.store.close()
