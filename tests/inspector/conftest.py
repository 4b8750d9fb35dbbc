"""Fixtures for the inspector's tests: a real engine on a real SQLite store, and the inspector
over it (through aiohttp's test client, or served from its own thread)."""
from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp.test_utils import TestClient, TestServer

from deepslate import new_sqlite, spawn_workers
from deepslate.inspector import EngineActions
from deepslate.inspector.api import Settings, make_app
from deepslate.store import SQLiteStore

from inspector.inspectflows import FLOWS

ACTION = {"X-Deepslate-Action": "1"}


@pytest.fixture
def running(tmp_path):
    """(platform, workers): an engine with the test flows, stopped at teardown."""
    platform, _ = new_sqlite(str(tmp_path / "s.db"), "127.0.0.1:0")
    workers = spawn_workers(4, platform, FLOWS)
    yield platform, workers
    workers.stop()


def app_of(platform, *, token=None, loopback_only=True, max_body=1 << 20, actions=None, engine=True):
    settings = Settings(token=token, cookie="deepslate_inspector_test", loopback_only=loopback_only,
                        max_body=max_body)
    return make_app(SQLiteStore(platform.store.path, readonly=True), actions or EngineActions(platform),
                    (lambda: platform.engine) if engine else (lambda: None), settings)


@pytest.fixture
async def client(running):
    platform, _ = running
    async with TestClient(TestServer(app_of(platform))) as c:
        yield c


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
