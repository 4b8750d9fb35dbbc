"""Retention on a running engine (on SQLite and on PostgreSQL): finished isolates are purged in
the background, at start and then periodically, never a live one; a purged name can be spawned
again."""
from __future__ import annotations

import math
import sys
import time

import pytest

from deepslate import Engine, FlowFailed, Retention, new_postgres, new_sqlite, spawn_workers
from deepslate.cli import main
from deepslate.runtime import retention
from deepslate.store import SQLiteStore

sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/flowmods")
import opsflows as F  # noqa: E402
from polling import until  # noqa: E402

pytestmark = pytest.mark.timeout(60)
FLOWS = F.FLOWS


async def test_finished_isolates_are_purged_at_start_and_a_name_can_come_back(any_store, engines):
    eng = await engines.start(Engine(any_store.open(), FLOWS, 2))
    await eng.spawn("a", "quick", {"n": 2})
    await eng.wait("a", timeout=20)
    await eng.spawn("t", "tree", {"n": 3})
    assert await eng.wait("t", timeout=20) == 3
    await eng.spawn("live", "ticker", {})
    old_id = eng.store.get_isolate("t/3").id
    await eng.stop()

    eng2 = await engines.start(Engine(eng.store, FLOWS, 2, retention=Retention(days=0)))
    await until(lambda: eng2.metrics.purged == 5)          # a, t and its three children
    store = eng2.store
    assert [r.name for r in store.list_isolates()] == ["live"]
    assert store.get_program(F.quick.program.hash) is None       # no isolate uses it any more
    assert store.get_program(F.ticker.program.hash) is not None
    # the name is free again: a new isolate, with an id never used before
    iid, exists = await eng2.spawn("a", "quick", {"n": 1})
    assert not exists and iid > old_id
    assert await eng2.wait("a", timeout=20) == 1


async def test_the_engine_purges_again_while_it_runs(any_store, engines, monkeypatch):
    monkeypatch.setattr(retention, "PURGE_EVERY", 0.05)
    store = any_store.open()
    eng = await engines.start(Engine(store, FLOWS, 2, retention=Retention(days=0)))
    await eng.spawn("live", "napper", {"seconds": 3600.0})
    await eng.spawn("a", "quick", {"n": 1})
    await eng.wait("a", timeout=20)
    await eng.spawn("t1", "ticker", {})
    await until(lambda: eng.by_name["t1"].steps >= 1)
    assert await eng.cancel("t1")
    await until(lambda: store.get_isolate("a") is None and store.get_isolate("t1") is None)
    # its flow's program went with it; spawning that flow again stores it again, so the new
    # isolate can be resumed by another process (which has only the store to read it from)
    assert store.get_program(F.ticker.program.hash) is None
    await eng.spawn("t2", "ticker", {})
    await until(lambda: eng.by_name["t2"].steps >= 2)
    assert store.get_program(F.ticker.program.hash) is not None
    assert store.get_isolate("live").status == "sleeping"
    await eng.stop()
    eng2 = await engines.start(Engine(store, [], 2))       # no flows of its own: programs from the store
    await until(lambda: "t2" in eng2.by_name and eng2.by_name["t2"].steps >= 1)


async def test_only_what_the_policy_names_and_only_when_old_enough(any_store, engines, monkeypatch):
    monkeypatch.setattr(retention, "PURGE_EVERY", 0.05)
    store = any_store.open()
    eng = await engines.start(Engine(store, FLOWS, 2, retention=Retention(days=0, statuses=["failed"])))
    await eng.spawn("ok", "quick", {"n": 1})
    await eng.spawn("bad", "divides", {"x": 0})
    await eng.wait("ok", timeout=20)
    await until(lambda: store.get_isolate("bad") is None)
    assert store.get_isolate("ok").status == "done"
    await eng.stop()
    eng2 = await engines.start(Engine(store, FLOWS, 2, retention=Retention(days=1)))
    await eng2.spawn("x", "quick", {"n": 1})
    await eng2.wait("x", timeout=20)
    assert (await retention.purge_once(eng2, Retention(days=1))).get("isolates", 0) == 0
    assert {r.name for r in store.list_isolates()} == {"ok", "x"}


def test_the_door_keeps_the_policy_for_its_engine(any_store, monkeypatch):
    # new_sqlite or new_postgres
    monkeypatch.setattr(retention, "PURGE_EVERY", 0.05)
    policy = Retention(days=0)
    platform = any_store.platform(retention=policy)
    assert platform.retention is policy
    workers = spawn_workers(2, platform, FLOWS)
    try:
        workers.spawn("a", "quick", {"n": 1})
        assert workers.wait("a", timeout=20) == 1
        assert platform.engine is not None and platform.engine.retention is policy
        deadline = time.monotonic() + 20
        while platform.store.get_isolate("a") is not None:
            assert time.monotonic() < deadline, "not purged in time"
            time.sleep(0.02)
    finally:
        workers.stop()


def test_a_bad_policy_is_refused_by_name(tmp_path):
    for days in (-1, math.nan, math.inf, True, "7"):
        with pytest.raises(ValueError, match="Retention days must be a finite number of days, at least 0"):
            Retention(days)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Retention statuses to purge must be some of done, failed, cancelled, "
                                         "not 'running'"):
        Retention(7, statuses=("done", "running"))
    with pytest.raises(ValueError, match="not none"):
        Retention(7, statuses=())
    assert Retention(0.5, statuses="done,failed").statuses == ("done", "failed")
    assert Retention(2).seconds == 2 * 86400
    with pytest.raises(TypeError, match="retention must be a deepslate.Retention, not int"):
        new_sqlite(str(tmp_path / "s.db"), retention=7)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="retention must be a deepslate.Retention, not int"):
        new_postgres(1, "postgresql://nobody@127.0.0.1:9/none", retention=7)  # type: ignore[arg-type]
    store = SQLiteStore(str(tmp_path / "e.db"))
    with pytest.raises(TypeError, match="retention must be a deepslate.Retention, not str"):
        Engine(store, FLOWS, retention="7d")  # type: ignore[arg-type]
    store.close()


def test_purge_from_the_command_line(tmp_path, capsys):
    store = str(tmp_path / "s.db")
    platform, _ = new_sqlite(store, listen_addr="127.0.0.1:0")
    workers = spawn_workers(2, platform, FLOWS)
    try:
        for i in range(3):
            workers.spawn(f"q{i}", "quick", {"n": 1})
            workers.wait(f"q{i}", timeout=20)
        workers.spawn("t", "tree", {"n": 2})
        workers.wait("t", timeout=20)
        workers.spawn("bad", "divides", {"x": 0})
        with pytest.raises(FlowFailed):
            workers.wait("bad", timeout=20)
        workers.spawn("live", "ticker", {})
    finally:
        workers.stop()
    assert main(["purge", store, "--older-than", "1h"]) == 0
    assert capsys.readouterr().out.startswith("removed 0 isolates in 0 trees")
    assert main(["purge", store, "--older-than", "0s", "--status", "done", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("would remove 6 isolates in 4 trees (done, ended before ")
    assert "2 programs no isolate uses" in out
    assert len(SQLiteStore(store, readonly=True).list_isolates()) == 8          # nothing removed
    assert main(["purge", store, "--older-than", "0s", "--status", "done"]) == 0
    assert capsys.readouterr().out.startswith("removed 6 isolates in 4 trees")
    assert main(["purge", store, "--older-than", "0m"]) == 0
    assert capsys.readouterr().out.startswith("removed 1 isolates in 1 trees (done, failed, cancelled")
    reader = SQLiteStore(store, readonly=True)
    assert [r.name for r in reader.list_isolates()] == ["live"]
    reader.close()
    for args, message in ((["--older-than", "7x"], "--older-than must be a number with a unit, like 7d, 12h, "
                                                   "30m or 45s, not '7x'"),
                          (["--status", "done,running"], "statuses to purge must be some of done, failed, "
                                                         "cancelled, not 'running'")):
        assert main(["purge", store, *args]) == 2
        assert message in capsys.readouterr().err
    assert main(["purge", str(tmp_path / "missing.db")]) == 2
    assert "deepslate purge: no store at" in capsys.readouterr().err
