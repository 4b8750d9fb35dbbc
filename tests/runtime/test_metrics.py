"""The Prometheus metrics of an engine, read back through a parser of the text format and held
against what was run: isolates done, steps, commits, @impure retries, ingress answers,
http_request outcomes."""
from __future__ import annotations

import asyncio
import re
import socket
import sys

import aiohttp
import pytest
from aiohttp import web

import deepslate
from deepslate import Engine, FlowFailed, new_sqlite, spawn_workers
from deepslate.runtime import metrics
from deepslate.store import SQLiteStore

sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/flowmods")
import opsflows as F  # noqa: E402
from polling import until  # noqa: E402

pytestmark = pytest.mark.timeout(60)
FLOWS = [v for v in vars(F).values() if hasattr(v, "program") and hasattr(v, "name")]

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def _unescape(v: str) -> str:
    return re.sub(r'\\(.)', lambda m: "\n" if m[1] == "n" else m[1], v)


def parse(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Samples of the text format 0.0.4, checking its grammar: every sample belongs to a
    family declared by HELP and TYPE before it, labels are quoted and escaped, values are
    numbers; a histogram's buckets are cumulative and end at +Inf with its count."""
    assert text.endswith("\n")
    types: dict[str, str] = {}
    helped: set[str] = set()
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            assert name not in helped, f"two HELP lines for {name}"
            helped.add(name)
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge", "histogram") and name in helped and name not in types
            types[name] = kind
            continue
        m = _SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        name, raw, value = m[1], m[2], m[3]
        labels: list[tuple[str, str]] = []
        if raw:
            pos = 0
            for lm in _LABEL.finditer(raw):
                assert lm.start() == pos, f"bad labels in {line!r}"
                labels.append((lm[1], _unescape(lm[2])))
                pos = lm.end()
            assert pos == len(raw), f"bad labels in {line!r}"
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        assert family in types, f"sample {name} before its TYPE line"
        if types[family] == "counter":
            assert name.endswith("_total")
        out[name, frozenset(labels)] = float(value)
    for family, kind in types.items():
        if kind == "histogram":
            buckets = sorted(((float(dict(k)["le"]), v) for (n, k), v in out.items() if n == family + "_bucket"))
            assert buckets and buckets[-1][0] == float("inf")
            assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), "buckets not cumulative"
            assert buckets[-1][1] == out[family + "_count", frozenset()]
    return out


def value(samples: dict, name: str, **labels: str) -> float:
    return samples[name, frozenset(labels.items())]


@pytest.fixture(autouse=True)
def clean():
    F.FAILS.clear()
    yield
    F.FAILS.clear()


async def test_isolates_steps_and_commits_are_counted(tmp_path, engines, monkeypatch):
    eng = await engines.start(Engine(SQLiteStore(str(tmp_path / "s.db")), FLOWS, 2))
    n, steps = 5, 3
    await asyncio.gather(*(eng.spawn(f"q{i}", "quick", {"n": steps}) for i in range(n)))
    assert [await eng.wait(f"q{i}", timeout=20) for i in range(n)] == [steps] * n
    s = parse(metrics.render(eng))
    # each quick(3) commits three sleeps and its return
    assert value(s, "deepslate_steps_total") == n * (steps + 1) == eng.steps_committed
    assert value(s, "deepslate_isolates_finished_total", status="done") == n
    await eng.spawn("t", "ticker", {})
    await until(lambda: eng.steps_committed > n * (steps + 1))
    monkeypatch.setattr(metrics, "COUNTS_TTL", 0.0)        # this test is not about the cache
    s = parse(metrics.render(eng))
    assert value(s, "deepslate_isolates", status="done") == n
    assert value(s, "deepslate_isolates", status="sleeping") + value(s, "deepslate_isolates", status="running") == 1
    assert value(s, "deepslate_isolates", status="failed") == 0          # every status is shown, 0 or not
    assert value(s, "deepslate_steps_total") == eng.steps_committed
    # every commit (spawns too) went through some transaction, counted once
    assert value(s, "deepslate_commit_batch_size_sum") == eng.writer.commits
    assert value(s, "deepslate_commit_batch_size_count") == eng.writer.batches
    assert value(s, "deepslate_commit_seconds_count") == eng.writer.batches
    assert 0 < value(s, "deepslate_commit_seconds_sum")
    assert value(s, "deepslate_engine_paused") == 0


async def test_impure_calls_retries_and_failures(tmp_path, engines):
    eng = await engines.start(Engine(SQLiteStore(str(tmp_path / "s.db")), FLOWS, 2))
    F.FAILS["a"] = 2                    # two failures, then it answers: retried twice
    await eng.spawn("a", "uses_flaky", {"key": "a"})
    assert await eng.wait("a", timeout=20) == 7
    s = parse(metrics.render(eng))
    assert (value(s, "deepslate_impure_calls_total"), value(s, "deepslate_impure_retries_total"),
            value(s, "deepslate_impure_failures_total")) == (3, 2, 0)
    F.FAILS["b"] = 10                   # never answers within its 3 retries
    await eng.spawn("b", "uses_flaky", {"key": "b"})
    with pytest.raises(FlowFailed, match="provider down"):
        await eng.wait("b", timeout=20)
    s = parse(metrics.render(eng))
    assert (value(s, "deepslate_impure_calls_total"), value(s, "deepslate_impure_retries_total"),
            value(s, "deepslate_impure_failures_total")) == (7, 5, 1)
    assert value(s, "deepslate_isolates_finished_total", status="failed") == 1


async def test_ingress_answers_are_counted_by_code(tmp_path, engines):
    eng = await engines.start(Engine(SQLiteStore(str(tmp_path / "s.db")), FLOWS, 2, listen_addr="127.0.0.1:0"))
    await eng.spawn("l", "listener", {"n": 1})
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{eng.ingress_url}/l/numbers", data=b"1") as r:
            assert r.status == 202
        for _ in range(2):
            async with http.post(f"{eng.ingress_url}/nobody/numbers", data=b"1") as r:
                assert r.status == 404
        assert await eng.wait("l", timeout=20) == [b"1"]
        async with http.post(f"{eng.ingress_url}/l/numbers", data=b"2") as r:
            assert r.status == 410
    s = parse(metrics.render(eng))
    assert value(s, "deepslate_ingress_requests_total", code="202") == 1
    assert value(s, "deepslate_ingress_requests_total", code="404") == 2
    assert value(s, "deepslate_ingress_requests_total", code="410") == 1


async def test_http_request_outcomes(tmp_path, engines):
    async def ok(request: web.Request) -> web.Response:
        return web.Response(body=b"fine")

    async def missing(request: web.Request) -> web.Response:
        return web.Response(status=404, body=b"no such thing")
    app = web.Application()
    app.router.add_get("/ok", ok)
    app.router.add_get("/missing", missing)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    closed = socket.socket()            # a port nobody listens on: refused at once
    closed.bind(("127.0.0.1", 0))
    dead = closed.getsockname()[1]
    closed.close()
    try:
        eng = await engines.start(Engine(SQLiteStore(str(tmp_path / "s.db")), FLOWS, 2))
        for name, url in (("ok", f"http://127.0.0.1:{port}/ok"), ("missing", f"http://127.0.0.1:{port}/missing"),
                          ("dead", f"http://127.0.0.1:{dead}/x")):
            await eng.spawn(name, "fetch", {"url": url})
        assert await eng.wait("ok", timeout=20) == b"fine"
        assert (await eng.wait("missing", timeout=20)).code == 404
        assert (await eng.wait("dead", timeout=20)).code == 0
    finally:
        await runner.cleanup()
    s = parse(metrics.render(eng))
    assert {o: value(s, "deepslate_http_requests_total", outcome=o) for o in metrics.HTTP_OUTCOMES} == \
        {"ok": 1, "status": 1, "unreachable": 1, "timeout": 0, "error": 0}


def test_metrics_text_of_a_platform_with_and_without_an_engine(tmp_path):
    platform, _ = new_sqlite(str(tmp_path / "s.db"), listen_addr="127.0.0.1:0")
    text = deepslate.metrics_text(platform)     # no engine yet: the store's isolates alone
    s = parse(text)
    assert value(s, "deepslate_isolates", status="done") == 0
    assert not any(name == "deepslate_steps_total" for name, _ in s)
    workers = spawn_workers(2, platform, FLOWS)
    try:
        workers.spawn("x", "quick", {"n": 2})
        assert workers.wait("x", timeout=20) == 2
        s = parse(deepslate.metrics_text(platform))
        assert value(s, "deepslate_steps_total") == 3
        assert value(s, "deepslate_isolates_finished_total", status="done") == 1
    finally:
        workers.stop()
    with pytest.raises(TypeError, match="metrics_text needs the platform from new_sqlite, not str"):
        deepslate.metrics_text("s.db")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="render needs a deepslate Engine or Store, not int"):
        metrics.render(3)


def test_a_store_alone_with_a_status_that_needs_escaping(tmp_path, monkeypatch):
    s = SQLiteStore(str(tmp_path / "s.db"))
    odd = 'we"ird\\ \nstatus'
    s.db.execute("INSERT INTO isolates (id, name, flow, program_hash, status, created_at, updated_at) "
                 "VALUES (1, 'x', 'f', x'00', ?, 0, 0)", (odd,))
    samples = parse(metrics.render(s))
    assert value(samples, "deepslate_isolates", status=odd) == 1
    assert value(samples, "deepslate_isolates", status="running") == 0
    s.close()
    # a closed store cannot be counted: the gauge is left out, nothing raises
    monkeypatch.setattr(metrics, "COUNTS_TTL", 0.0)
    assert "deepslate_isolates" not in metrics.render(s)


def test_counts_are_reused_within_their_time_to_live(tmp_path, monkeypatch):
    s = SQLiteStore(str(tmp_path / "s.db"))
    insert = ("INSERT INTO isolates (id, name, flow, program_hash, status, created_at, updated_at) "
              "VALUES (?, ?, 'f', x'00', 'done', 0, 0)")
    monkeypatch.setattr(metrics, "COUNTS_TTL", 3600.0)
    s.db.execute(insert, (1, "a"))
    assert value(parse(metrics.render(s)), "deepslate_isolates", status="done") == 1
    s.db.execute(insert, (2, "b"))
    assert value(parse(metrics.render(s)), "deepslate_isolates", status="done") == 1    # from the cache
    monkeypatch.setattr(metrics, "COUNTS_TTL", 0.0)
    assert value(parse(metrics.render(s)), "deepslate_isolates", status="done") == 2
    s.close()


def test_histogram_buckets_hold_values_up_to_their_bound():
    h = metrics.Histogram([1, 5, 10])
    for v in (0.5, 1, 1.0001, 5, 7, 10, 11, 1e9):
        h.observe(v)
    assert h.cumulative() == [("1.0", 2), ("5.0", 4), ("10.0", 6), ("+Inf", 8)]
    assert h.count == 8 and h.sum == pytest.approx(0.5 + 1 + 1.0001 + 5 + 7 + 10 + 11 + 1e9)
    with pytest.raises(ValueError, match="increasing"):
        metrics.Histogram([5, 1])


async def test_a_paused_engine_shows_in_its_metrics(tmp_path, engines):
    path = str(tmp_path / "s.db")
    eng = await engines.start(Engine(SQLiteStore(path), FLOWS, 2))
    await eng.spawn("t", "ticker", {})
    await until(lambda: eng.by_name["t"].steps >= 1)
    other = SQLiteStore(path)
    other.claim("intruder")                     # another process takes the store over
    try:
        await until(lambda: eng.failure is not None)
        s = parse(metrics.render(eng))
        assert value(s, "deepslate_engine_paused") == 1
    finally:
        other.close()
