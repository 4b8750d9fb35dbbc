"""pytest-benchmark suite for the HTTP ingress (run: .venv/bin/python -m pytest benchmarks/bench_ingress.py).

The table with latency percentiles is benchmarks/ingress_table.py."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ingress_table as it  # noqa: E402


@pytest.mark.parametrize("clients", [1, 10, 50])
def test_acknowledged_posts(benchmark, tmp_path, clients):
    rate = benchmark.pedantic(lambda: it.throughput(str(tmp_path), clients, 1000), rounds=3, iterations=1)
    benchmark.extra_info["requests_per_s"] = rate


@pytest.mark.parametrize("senders", [1, 10])
def test_post_to_flow_resumed(benchmark, tmp_path, senders):
    p50, p99 = benchmark.pedantic(lambda: it.latency(str(tmp_path), senders, 50), rounds=1, iterations=1)
    benchmark.extra_info["p50_ms"] = p50 * 1e3
    benchmark.extra_info["p99_ms"] = p99 * 1e3
