"""now(), random() and uuid4(): drawn in the flow, kept by its snapshot, so a flow resumed
after a restart goes on with the values it drew before (on SQLite and PostgreSQL)."""
import asyncio
import os
import sys
import time
import uuid

import pytest

from deepslate import Engine, now, random, uuid4
from deepslate.store import SQLiteStore

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "flowmods"))
import drawnflows as dr  # noqa: E402

pytestmark = pytest.mark.timeout(30)


async def test_values_drawn_before_a_restart_are_the_ones_after_it(any_store, engines):
    before = time.time()
    eng = await engines.start(Engine(any_store.open(), [dr.drawn], 2))
    await eng.spawn("a", "drawn", {"pause": 0.5})
    while await eng.status("a") != "sleeping":
        await asyncio.sleep(0.01)
    await eng.stop()
    store = any_store.open()
    printed = store.read_log(store.get_isolate("a").id)
    t, r, u = printed[0].split()
    eng2 = await engines.start(Engine(store, [dr.drawn], 2))     # resumes from the snapshot at the sleep
    got = await eng2.wait("a", timeout=10)
    assert got == [t, r, u, "True"]
    assert before <= float(t) <= time.time() and 0.0 <= float(r) < 1.0
    assert uuid.UUID(u).version == 4


async def test_uuid4_is_new_on_each_call(tmp_path, engines):
    eng = await engines.start(Engine(SQLiteStore(str(tmp_path / "s.db")), [dr.draws], 2))
    await eng.spawn("a", "draws", {"n": 500})
    assert await eng.wait("a", timeout=10) == 500


@pytest.mark.parametrize("fn", [now, random, uuid4])
def test_outside_a_flow_they_say_where_they_work(fn):
    with pytest.raises(RuntimeError, match=rf"{fn.__name__}\(\) is a flow operation and only works inside an @flow"):
        fn()
