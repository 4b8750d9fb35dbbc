"""pytest-benchmark of the testing kit (run: .venv/bin/python -m pytest benchmarks/bench_testing.py).
The printed table is benchmarks/testing_table.py."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import testing_table as tt  # noqa: E402


def test_year_of_sleeps_with_an_approval_sync(benchmark):
    benchmark.pedantic(tt.sync_round, rounds=10, iterations=1)


def test_year_of_sleeps_with_an_approval_async(benchmark):
    benchmark.pedantic(lambda: asyncio.run(tt.async_round()), rounds=10, iterations=1)
