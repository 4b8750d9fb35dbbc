"""Print the VM-versus-CPython table for the loops in bench_vm.py.

    .venv/bin/python benchmarks/vm_table.py [N] [REPEATS]

Each cell is the best of REPEATS runs (best-of filters out the other work on
a shared machine); the ratio is deepslate's time over CPython's, so below 1.0
means faster than CPython. Targets: int and float <= 0.5, the rest <= 1.2.
"""
from __future__ import annotations

import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import bench_vm  # noqa: E402

TARGETS = {"int": 0.5, "float": 0.5, "fib": 0.5, "list": 1.2, "dict": 1.2, "str": 1.2}


def best(fn, *args, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else bench_vm.N
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    print(f"loops of n={n}, best of {repeats}, Python {sys.version.split()[0]}")
    print(f"{'loop':<7}{'bytecode':<11}{'CPython ms':>11}{'deepslate ms':>14}{'ratio':>8}{'target':>8}  ok")
    failed = 0
    for name, py in bench_vm.PYTHON.items():
        prog, how = bench_vm.vm_program(name)
        bench_vm.check(name, prog)
        t_py = best(py, n, repeats=repeats)
        t_vm = best(bench_vm.run_vm, prog, n, repeats=repeats)
        ratio = t_vm / t_py
        ok = ratio <= TARGETS[name]
        failed += not ok
        print(f"{name:<7}{how:<11}{t_py * 1e3:>11.2f}{t_vm * 1e3:>14.2f}{ratio:>8.2f}"
              f"{TARGETS[name]:>8.1f}  {'yes' if ok else 'NO'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
