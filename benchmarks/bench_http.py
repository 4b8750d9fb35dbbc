"""pytest-benchmark suite for http_request (run: .venv/bin/python -m pytest benchmarks/bench_http.py).

The table with the bare-aiohttp ratio is benchmarks/http_table.py."""
import asyncio
import itertools
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import http_table as ht  # noqa: E402

_n = itertools.count()


@pytest.fixture(scope="module")
def server():
    s = ht.Server()
    yield s
    s.close()


@pytest.mark.parametrize("c", [1, 50])
def test_http_request_through_flows(benchmark, tmp_path, server, c):
    def run():
        return asyncio.run(ht.flows(server.url, str(tmp_path / f"h{next(_n)}.db"), 500, c))
    rate = benchmark.pedantic(run, rounds=3, iterations=1)
    benchmark.extra_info["requests_per_s"] = rate


@pytest.mark.parametrize("c", [1, 50])
def test_bare_aiohttp_shared_session(benchmark, server, c):
    rate = benchmark.pedantic(lambda: asyncio.run(ht.bare(server.url, 500, c)), rounds=3, iterations=1)
    benchmark.extra_info["requests_per_s"] = rate
