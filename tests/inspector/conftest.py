"""Fixtures for the inspector's tests: a real engine on a real SQLite store, and the inspector
over it through aiohttp's test client."""
from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from deepslate import new_sqlite, spawn_workers

from inspector.inspectflows import FLOWS
from inspector.inspecting import app_of


@pytest.fixture
def running(tmp_path):
    """(platform, workers): an engine with the test flows, stopped at teardown."""
    platform, _ = new_sqlite(str(tmp_path / "s.db"), "127.0.0.1:0")
    workers = spawn_workers(4, platform, FLOWS)
    yield platform, workers
    workers.stop()


@pytest.fixture
async def client(running):
    platform, _ = running
    async with TestClient(TestServer(app_of(platform))) as c:
        yield c
