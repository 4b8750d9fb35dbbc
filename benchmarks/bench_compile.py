"""Compile time of flows: a small one and a large generated one (hundreds of statements).

    .venv/bin/python -m pytest benchmarks/bench_compile.py      # pytest-benchmark
    .venv/bin/python benchmarks/bench_compile.py                 # a plain table
"""
from __future__ import annotations

import pathlib
import statistics
import sys
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests"))
import driver  # noqa: E402  (tests/driver.py: compile a module's text as importing it would)

SMALL = '''\
from deepslate import flow, sleep


@flow
async def counter(limit: int) -> int:
    count: int = 0
    while True:
        sleep(1.0)
        count = count + 1
        if count >= limit:
            break
    return count
'''


def large_source(blocks: int = 60) -> str:
    """One flow of about ``10 * blocks`` statements touching every register file."""
    out = [
        "from dataclasses import dataclass\n\nfrom deepslate import DSError, flow, sleep\n\n\n"
        "@dataclass\nclass Acc:\n    total: int\n    names: list[str]\n\n\n"
        "@flow\nasync def large(n: int, x: float) -> str:\n"
        "    acc: Acc = Acc(0, [])\n    f: float = x\n    s: str = ''\n"
        "    d: dict[str, int] = {}\n"
    ]
    for k in range(blocks):
        out.append(
            f"    v{k}: int = n * {k + 1} + {k} // 3 - {k} % 7\n"
            f"    if v{k} > {k * 10}:\n"
            f"        acc.total = acc.total + v{k}\n"
            f"    elif v{k} == {k}:\n"
            f"        f = f * 1.5 + {k}.25\n"
            f"    else:\n"
            f"        s = s + str(v{k})\n"
            f"    for i{k} in range({k % 5 + 1}):\n"
            f"        d['k{k}'] = i{k} + v{k}\n"
            f"    acc.names.append(f'{{v{k}:>4}}')\n"
        )
        if k % 10 == 9:
            out.append("    sleep(0.0)\n")
    out.append("    return s + str(acc.total) + str(f) + str(len(d))\n")
    return "".join(out)


LARGE = large_source()


def compile_text(source: str, filename: str):
    """Every flow of the module compiled, and each flow's program built, linked and hashed."""
    flows = driver.compile_source(source, filename)
    assert flows
    return flows


def _ready() -> None:
    try:
        from deepslate.compiler.flow import collect_errors  # noqa: F401
    except ImportError as e:
        pytest.skip(f"the compiler is not importable yet: {e}")


def test_compile_small(benchmark) -> None:
    _ready()
    benchmark(compile_text, SMALL, "small_flow.py")


def test_compile_large(benchmark) -> None:
    _ready()
    assert LARGE.count("\n") > 600
    benchmark(compile_text, LARGE, "large_flow.py")


def _time(source: str, name: str, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        compile_text(source, name)
        times.append(time.perf_counter() - t0)
    return times


def main() -> int:
    rows = []
    for label, src, repeat in (("small flow", SMALL, 200), ("large flow", LARGE, 20)):
        _time(src, label, 2)   # warm caches (imports, linecache)
        t = _time(src, label, repeat)
        lines = src.count("\n")
        rows.append((label, lines, statistics.median(t) * 1e3, min(t) * 1e3, lines / statistics.median(t)))
    print(f"{'case':<12} {'lines':>6} {'median ms':>10} {'min ms':>8} {'lines/s':>10}")
    for label, lines, med, best, rate in rows:
        print(f"{label:<12} {lines:>6} {med:>10.2f} {best:>8.2f} {rate:>10.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
