"""pytest-benchmark suites for the inspector over real HTTP, on a store of 10 000 isolates
(run: .venv/bin/python -m pytest benchmarks/bench_inspector.py). The 100 000-isolate table
with percentiles is benchmarks/inspector_table.py."""
import os
import random
import sys
import urllib.parse

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import inspector_table as it  # noqa: E402

ISOLATES = 10_000


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("inspector") / "bench.db")
    names = it.fill(path, ISOLATES)
    ins = it.serve(path)
    client = it.Client(ins.url)
    yield path, names, client
    client.close()
    ins.stop()


def test_list_first_page(benchmark, served):
    _, _, client = served
    body = benchmark(lambda: client.get("/api/isolates")[1])
    assert len(body["items"]) == 50 and body["total"] == ISOLATES


def test_list_filtered_by_status(benchmark, served):
    _, _, client = served
    body = benchmark(lambda: client.get("/api/isolates?status=failed")[1])
    assert body["items"] and {i["status"] for i in body["items"]} == {"failed"}


def test_list_deep_keyset_page(benchmark, served):
    path, _, client = served
    cursor = it.deep_cursor(path, ISOLATES // 2)
    body = benchmark(lambda: client.get(f"/api/isolates?cursor={cursor}")[1])
    assert len(body["items"]) == 50


def test_list_name_search_matching_nothing(benchmark, served):
    _, _, client = served
    body = benchmark(lambda: client.get("/api/isolates?q=nobody")[1])
    assert body["items"] == []


def test_detail(benchmark, served):
    _, names, client = served
    rng = random.Random(3)
    pool = [n for v in names.values() for n in v[:20]]
    body = benchmark(lambda: client.get("/api/isolates/" + urllib.parse.quote(rng.choice(pool), safe=""))[1])
    assert body["frames"] or body["status"] in ("done", "cancelled")
