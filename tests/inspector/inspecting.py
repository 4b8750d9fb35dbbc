"""Helpers of the inspector's tests: the inspector's app over a platform, and polling."""
from __future__ import annotations

import asyncio
import time

from deepslate.inspector import EngineActions
from deepslate.inspector.api import Settings, make_app
from deepslate.store import SQLiteStore

ACTION = {"X-Deepslate-Action": "1"}


def app_of(platform, *, token=None, loopback_only=True, max_body=1 << 20, actions=None, engine=True):
    """The inspector's aiohttp app over ``platform``'s store, with its own read-only connection."""
    settings = Settings(token=token, cookie="deepslate_inspector_test", loopback_only=loopback_only,
                        max_body=max_body)
    return make_app(SQLiteStore(platform.store.path, readonly=True), actions or EngineActions(platform),
                    (lambda: platform.engine) if engine else (lambda: None), settings)


async def until(cond, timeout=10.0, what="the condition"):
    """Poll ``cond`` (a function, or a coroutine function) until it is true."""
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if asyncio.iscoroutine(got):
            got = await got
        if got:
            return got
        assert time.monotonic() < deadline, f"{what} not reached within {timeout} s"
        await asyncio.sleep(0.02)
