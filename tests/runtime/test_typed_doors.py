"""Flow.spawn / wait / wait_async: the typed doors, on a real engine and SQLite store,
through the sync doors of spawn_workers and through Engine's async methods."""
import os
import sys

import pytest

from deepslate import DSError, Engine, new_sqlite, spawn_workers
from deepslate.store import SQLiteStore

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "flowmods"))
import doorflows as df  # noqa: E402

pytestmark = pytest.mark.timeout(60)
FLOWS = [df.add, df.nap, df.checkout, df.returns_error]


@pytest.fixture
def doors(tmp_path):
    platform, _ = new_sqlite(str(tmp_path / "s.db"), listen_addr="127.0.0.1:0")
    d = spawn_workers(2, platform, FLOWS)
    yield d
    d[3]()


def test_typed_spawn_and_wait_through_the_sync_doors(doors):
    spawn, wait, cancel, stop = doors
    assert df.add.spawn(spawn, "x", 2, b=3) == (1, False)
    assert df.add.spawn(spawn, "x", a=2, b=3) == (1, True)
    assert df.add.wait(wait, "x", timeout=20) == 5
    order = df.Order(7, ["a", "b"])
    df.checkout.spawn(spawn, "o", order, 100)
    assert df.checkout.wait(wait, "o", timeout=20) == "charged 7:100 2"
    df.returns_error.spawn(spawn, "e", "nope")
    assert df.returns_error.wait(wait, "e", timeout=20) == DSError("nope")   # a returned DSError is a value
    assert spawn("y", "add", {"a": 1, "b": 1})[1] is False                  # the untyped shape still works
    assert df.add.wait(wait, "y", timeout=20) == 2


def test_typed_spawn_refuses_arguments_the_flow_does_not_take(doors):
    spawn = doors[0]
    with pytest.raises(TypeError, match=r"flow add takes 2 argument\(s\) \(a, b\), not 3"):
        df.add.spawn(spawn, "x", 1, 2, 3)
    with pytest.raises(TypeError, match="flow add has no parameter 'c'"):
        df.add.spawn(spawn, "x", 1, c=2)
    with pytest.raises(TypeError, match="parameter 'a' is given twice"):
        df.add.spawn(spawn, "x", 1, a=2)
    with pytest.raises(TypeError, match="missing argument for parameter 'b'"):    # the engine's own check
        df.add.spawn(spawn, "x", 1)
    with pytest.raises(TypeError, match="parameter b: expected int, got str"):
        df.add.spawn(spawn, "x", 1, "2")


def test_typed_wait_refuses_a_result_of_another_type(doors):
    spawn, wait = doors[0], doors[1]
    spawn("n", "nap", {"seconds": 0.0})
    with pytest.raises(TypeError, match=r"isolate 'n' did not return what flow add returns \(int\): "
                                        r"result: expected int, got str; is it an isolate of another flow"):
        df.add.wait(wait, "n", timeout=20)


async def test_typed_spawn_and_wait_through_the_engine(tmp_path, engines):
    eng = await engines.start(Engine(SQLiteStore(str(tmp_path / "s.db")), FLOWS, 2))
    assert await df.add.spawn(eng.spawn, "x", 20, 22) == (1, False)
    assert await df.add.wait_async(eng.wait, "x", timeout=20) == 42
    with pytest.raises(TypeError, match=r"add.wait: Engine.wait is asynchronous; use await add.wait_async"):
        df.add.wait(eng.wait, "x")
    await eng.stop()


def test_wait_async_refuses_a_sync_wait(doors):
    import asyncio
    wait = doors[1]
    doors[0]("z", "add", {"a": 1, "b": 2})
    with pytest.raises(TypeError, match="add.wait_async: .*wait is not asynchronous .*use add.wait"):
        asyncio.run(df.add.wait_async(wait, "z", timeout=20))
