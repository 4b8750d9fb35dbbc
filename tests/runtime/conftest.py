"""Fixtures for the runtime tests.

``engines`` starts engines for a test and stops every one of them at teardown, also when an
assertion failed half-way, so that no engine (its worker tasks, threads and open SQLite store)
outlives its test and runs into the next one::

    async def test_x(tmp_path, engines):
        eng = await engines.start(Engine(SQLiteStore(str(tmp_path / "s.db")), flows, 2))
        ...
        await eng.stop()        # optional: stopping twice is fine

A test may stop an engine itself (e.g. to restart on the same store) and go on using its store;
the stores are closed only at teardown.
"""
from __future__ import annotations

from typing import Any

import pytest


class Engines:
    def __init__(self) -> None:
        self.started: list[Any] = []

    async def start(self, engine: Any) -> Any:
        """``await engine.start()``, remembering the engine (and its store) for teardown; an
        engine whose start raised is cleaned up too."""
        self.started.append(engine)
        return await engine.start()

    async def stop_all(self) -> None:
        errors: list[BaseException] = []
        for eng in reversed(self.started):
            try:
                await eng.stop()             # a no-op for an engine already stopped
            except BaseException as e:       # noqa: BLE001 - reported below, after every store is closed
                errors.append(e)
            finally:
                eng.store.close()
        self.started.clear()
        if errors:
            raise errors[0]


@pytest.fixture
async def engines():
    e = Engines()
    try:
        yield e
    finally:
        await e.stop_all()


@pytest.fixture
def ops_fails_cleared() -> Any:
    """Clear opsflows' record of failing calls before and after a test (tests/runtime/flowmods)."""
    import opsflows
    opsflows.FAILS.clear()
    yield
    opsflows.FAILS.clear()
