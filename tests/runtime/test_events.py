"""Structured log events: one logfmt line per event on the ``deepslate`` loggers, the same fields
in ``record.deepslate``, a WARNING with the flow's file:line when an isolate fails, nothing per
step, and no handler installed by the library."""
from __future__ import annotations

import json
import logging
import re
import sys

import pytest

from deepslate import Engine, FlowCancelled, FlowFailed, Retention
from deepslate.runtime import events
from deepslate.store import SQLiteStore

sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/flowmods")
import opsflows as F  # noqa: E402
from polling import until  # noqa: E402

pytestmark = pytest.mark.timeout(60)
FLOWS = [v for v in vars(F).values() if hasattr(v, "program") and hasattr(v, "name")]
_PAIR = re.compile(r'([a-z_]+)=("(?:[^"\\]|\\.)*"|[^ "]+)( |$)')


def fields(line: str) -> dict[str, str]:
    """A logfmt line back into its fields (quoted values are JSON strings)."""
    out, pos = {}, 0
    for m in _PAIR.finditer(line):
        assert m.start() == pos, f"not logfmt at {pos}: {line!r}"
        out[m[1]] = json.loads(m[2]) if m[2].startswith('"') else m[2]
        pos = m.end()
    assert pos == len(line), f"not logfmt: {line!r}"
    return out


def of(caplog, event: str, isolate: str | None = None) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "deepslate", {}).get("event") == event
            and (isolate is None or r.deepslate.get("isolate") == isolate)]


@pytest.fixture(autouse=True)
def clean():
    F.FAILS.clear()
    yield
    F.FAILS.clear()


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.DEBUG, logger="deepslate")
    return caplog


async def test_a_life_spawned_done_and_nothing_per_step(tmp_path, engines, logs):
    eng = await engines.start(Engine(SQLiteStore(str(tmp_path / "s.db")), FLOWS, 2))
    await eng.spawn("q", "quick", {"n": 50})
    assert await eng.wait("q", timeout=20) == 50
    mine = [r for r in logs.records if getattr(r, "deepslate", {}).get("isolate") == "q"]
    assert [r.deepslate["event"] for r in mine] == ["spawned", "done"]       # 51 steps, two lines
    spawned, done = mine
    assert spawned.name == "deepslate.isolate" and spawned.levelno == logging.INFO
    assert fields(spawned.getMessage()) == {"event": "spawned", "isolate": "q", "flow": "quick",
                                            "id": str(spawned.deepslate["id"])}
    assert fields(done.getMessage()) == {"event": "done", "isolate": "q", "flow": "quick", "step": "51"}
    assert done.deepslate == {"event": "done", "isolate": "q", "flow": "quick", "step": 51}


async def test_a_failure_is_a_warning_with_its_message_and_source_line(tmp_path, engines, logs):
    eng = await engines.start(Engine(SQLiteStore(str(tmp_path / "s.db")), FLOWS, 2))
    await eng.spawn("pay-7", "divides", {"x": 0})
    with pytest.raises(FlowFailed) as e:
        await eng.wait("pay-7", timeout=20)
    [rec] = of(logs, "failed", "pay-7")
    assert rec.levelno == logging.WARNING and rec.name == "deepslate.isolate"
    line = rec.getMessage()
    assert line.startswith("event=failed isolate=pay-7 flow=divides step=")
    f = fields(line)
    assert "ZeroDivisionError" in f["error"] and f["kind"] == "fault" and f["retryable"] == "false"
    assert f["at"] == e.value.where and f["at"].endswith(f"opsflows.py:{e.value.frames[-1][2]}")
    assert rec.deepslate["at"] == f["at"] and rec.deepslate["retryable"] is False


async def test_impure_retry_retried_and_cancelled(tmp_path, engines, logs):
    eng = await engines.start(Engine(SQLiteStore(str(tmp_path / "s.db")), FLOWS, 2))
    F.FAILS["a"] = 1
    await eng.spawn("a", "uses_flaky", {"key": "a"})
    assert await eng.wait("a", timeout=20) == 7
    [retry] = of(logs, "impure_retry", "a")
    assert retry.levelno == logging.INFO
    f = fields(retry.getMessage())
    assert (f["function"], f["attempt"], f["of"]) == ("opsflows:flaky", "2", "4")
    assert f["error"] == "ConnectionError: provider down (1 more)"

    F.FAILS["c"] = 1                        # no retries: the isolate fails, keeping its snapshot
    await eng.spawn("c", "charge", {"key": "c"})
    with pytest.raises(FlowFailed):
        await eng.wait("c", timeout=20)
    [failed] = of(logs, "failed", "c")
    assert failed.deepslate["retryable"] is True and failed.deepslate["kind"] == "impure"
    assert await eng.retry("c")
    assert await eng.wait("c", timeout=20) == 1
    [retried] = of(logs, "retried", "c")
    assert retried.levelno == logging.INFO and fields(retried.getMessage())["flow"] == "charge"
    assert len(of(logs, "done", "c")) == 1

    await eng.spawn("t", "ticker", {})
    await until(lambda: eng.by_name["t"].steps >= 2)
    assert await eng.cancel("t")
    with pytest.raises(FlowCancelled):
        await eng.wait("t", timeout=20)
    [cancelled] = of(logs, "cancelled", "t")
    assert cancelled.levelno == logging.INFO


async def test_a_lost_store_pauses_the_engine_with_an_error(tmp_path, engines, logs):
    path = str(tmp_path / "s.db")
    eng = await engines.start(Engine(SQLiteStore(path), FLOWS, 2))
    await eng.spawn("t", "ticker", {})
    await until(lambda: eng.by_name["t"].steps >= 1)
    other = SQLiteStore(path)
    other.claim("intruder")
    try:
        await until(lambda: eng.failure is not None)
    finally:
        other.close()
    [paused] = of(logs, "paused")
    assert paused.levelno == logging.ERROR and paused.name == "deepslate.engine"
    f = fields(paused.getMessage())
    assert f["store"] == path and f["error"].startswith("LeaseLost: ")


async def test_purge_logs_its_counts(tmp_path, engines, logs):
    path = str(tmp_path / "s.db")
    eng = await engines.start(Engine(SQLiteStore(path), FLOWS, 2))
    for i in range(3):
        await eng.spawn(f"q{i}", "quick", {"n": 1})
        await eng.wait(f"q{i}", timeout=20)
    await eng.stop()
    eng2 = await engines.start(Engine(eng.store, FLOWS, 2, retention=Retention(days=0)))
    await until(lambda: bool(of(logs, "purge")))
    [purge] = of(logs, "purge")
    assert purge.levelno == logging.INFO and purge.name == "deepslate.engine"
    f = fields(purge.getMessage())
    assert (f["isolates"], f["trees"], f["programs"], f["statuses"]) == ("3", "3", "1", "done,cancelled,failed")
    await eng2.stop()


def test_the_library_installs_no_handler():
    for name in ("deepslate", "deepslate.isolate", "deepslate.engine", "deepslate.runtime", "deepslate.ingress"):
        assert logging.getLogger(name).handlers == [], name


def test_logfmt_quotes_what_would_break_a_line():
    odd = 'pay "7" x=1\nnext'
    line = events.logfmt({"event": "failed", "isolate": odd, "step": 3, "ok": True, "t": 0.5, "gone": None,
                          "empty": "", "plain": "a/b:c-d.e"})
    assert "\n" not in line
    assert line.startswith("event=failed isolate=")
    assert fields(line) == {"event": "failed", "isolate": odd, "step": "3", "ok": "true", "t": "0.5", "empty": "",
                            "plain": "a/b:c-d.e"}
    assert events.failure_fields("not json") == {"error": "not json"}
    assert events.failure_fields(json.dumps({"message": "m", "frames": [["f", "x.py", 3, 1]], "kind": "fault"})) \
        == {"error": "m", "kind": "fault", "at": "x.py:3"}
