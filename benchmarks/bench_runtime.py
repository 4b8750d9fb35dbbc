"""pytest-benchmark suites for the runtime (run: .venv/bin/python -m pytest benchmarks/bench_runtime.py).

The table with the DBOS comparison is benchmarks/runtime_table.py."""
import asyncio
import itertools
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import runtime_table as rt  # noqa: E402

_n = itertools.count()


@pytest.mark.parametrize("isolates,steps", [(1, 500), (100, 10), (1000, 2)])
def test_durable_steps(benchmark, tmp_path, isolates, steps):
    def run():
        return asyncio.run(rt.throughput(rt.Where(str(tmp_path)).fresh(f"t{next(_n)}"), isolates, steps))
    rate = benchmark.pedantic(run, rounds=3, iterations=1)
    benchmark.extra_info["steps_per_s"] = rate


def test_durable_steps_copying_impure_results(benchmark, tmp_path):
    def run():
        return asyncio.run(rt.throughput(rt.Where(str(tmp_path)).fresh(f"f{next(_n)}"), 100, 10, flow="fetched"))
    rate = benchmark.pedantic(run, rounds=3, iterations=1)
    benchmark.extra_info["steps_per_s"] = rate


def test_single_isolate_step_latency(benchmark, tmp_path):
    def run():
        return asyncio.run(rt.latency(rt.Where(str(tmp_path)).fresh(f"l{next(_n)}"), 300))
    p50, p99 = benchmark.pedantic(run, rounds=3, iterations=1)
    benchmark.extra_info.update(p50_ms=p50 * 1e3, p99_ms=p99 * 1e3)


@pytest.mark.parametrize("n", [100, 2000])
def test_resume_after_n_steps(benchmark, tmp_path, n):
    paths = []

    def setup():
        p = str(tmp_path / f"p{next(_n)}.db")
        asyncio.run(rt.build_parked(p, n))
        paths.append(p)
        return (p,), {}

    def run(p):
        return asyncio.run(rt.resume(p, 1))
    dt, steps, size = benchmark.pedantic(run, setup=setup, rounds=3, iterations=1)
    benchmark.extra_info.update(resume_ms=dt * 1e3, bytes=size, steps=steps)
