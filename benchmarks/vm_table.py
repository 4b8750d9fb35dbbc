"""Print the VM-versus-CPython table for the loops in bench_vm.py.

    .venv/bin/python benchmarks/vm_table.py [N] [REPEATS]

Each cell is the best CPU time of REPEATS runs, CPython's and deepslate's
runs interleaved (both filter out the other work on a shared machine); a ratio is deepslate's time over CPython's, so below 1.0
means faster than CPython. "flow" is the compiled flow, "asm" the
hand-assembled program. Targets (on the flow): int, float and fib <= 0.5,
list, dict and str <= 1.2. Exit status 1 when a target is missed.
"""
from __future__ import annotations

import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import bench_vm  # noqa: E402

TARGETS = {"int": 0.5, "float": 0.5, "fib": 0.5, "list": 1.2, "dict": 1.2, "str": 1.2}


def best_of(fns, n: int, repeats: int) -> list[float]:
    """Best CPU time of each function, the runs interleaved so that all of them
    see the same machine (process time: a descheduled wait does not count)."""
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = time.process_time()
            fn(n)
            best[i] = min(best[i], time.process_time() - t0)
    return best


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else bench_vm.N
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    print(f"loops of n={n}, best of {repeats}, Python {sys.version.split()[0]}")
    print(f"{'loop':<7}{'CPython ms':>11}{'flow ms':>9}{'ratio':>7}{'target':>8}  ok"
          f"{'asm ms':>9}{'ratio':>7}")
    failed = 0
    for name, py in bench_vm.PYTHON.items():
        flow_prog, asm_prog = bench_vm.compiled(name), bench_vm.assembled(name)
        bench_vm.check(name, flow_prog)
        bench_vm.check(name, asm_prog)
        t_py, t_vm, t_asm = best_of([py, lambda n: bench_vm.run_vm(flow_prog, n),
                                     lambda n: bench_vm.run_vm(asm_prog, n)], n, repeats)
        ratio = t_vm / t_py
        ok = ratio <= TARGETS[name]
        failed += not ok
        print(f"{name:<7}{t_py * 1e3:>11.2f}{t_vm * 1e3:>9.2f}{ratio:>7.2f}{TARGETS[name]:>8.1f}"
              f"  {'yes' if ok else 'NO ':<3}{t_asm * 1e3:>8.2f}{t_asm / t_py:>7.2f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
