"""Print the VM-versus-CPython table for the loops in bench_vm.py.

    .venv/bin/python benchmarks/vm_table.py [N] [REPEATS]

Each cell is the best CPU time of REPEATS runs, CPython's and deepslate's
runs interleaved (both filter out the other work on a shared machine); a ratio is deepslate's time over CPython's, so below 1.0
means faster than CPython. "flow" is the compiled flow, "asm" the
hand-assembled program. Targets (on the flow): int, float and fib <= 0.5,
list, dict and str <= 1.2. "calls" is a recursive fib(20) of flow calls (CPython
awaits the same coroutines); its 1.2 is ours, not the issue's. Exit status 1
when a target is missed.
"""
from __future__ import annotations

import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import bench_vm  # noqa: E402

TARGETS = {"int": 0.5, "float": 0.5, "fib": 0.5, "list": 1.2, "dict": 1.2, "str": 1.2,
           "calls": 1.2}


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


def cpython_ops(fn, n: int) -> int:
    """Bytecodes CPython executes in the loop function fn (a flow's own
    coroutine function) for n, traced per opcode."""
    count = 0

    def tracer(frame, event, arg):
        nonlocal count
        if frame.f_code is not fn.__code__:
            return None
        frame.f_trace_opcodes = True
        count += event == "opcode"
        return tracer
    sys.settrace(tracer)
    try:
        fn(n).send(None)
    except StopIteration:
        pass
    finally:
        sys.settrace(None)
    return count


def vm_steps(prog, n: int) -> int:
    vm = bench_vm.VM(prog, prog.entry, (n,))
    vm.run(1 << 62)
    return vm.steps


# A counting loop in the typed I file and the same loop on boxed ints through
# the generic O instructions: what unboxing is worth on its own.
SUM_TYPED = """
    UNBOXI I0 O0
    LOADI I1 0
    LOADI I2 0
    JUMP @test
loop:
    IADD I1 I1 I2
    IADDI I2 I2 1
test:
    ILT I3 I2 I0
    JUMPIF I3 @loop
    BOXI O1 I1
    RETURN O1
"""
SUM_BOXED = """
    LOADK O1 =0
    LOADK O2 =0
    LOADK O3 =1
    JUMP @test
loop:
    ADD O1 O1 O2
    ADD O2 O2 O3
test:
    LT I0 O2 O0
    JUMPIF I0 @loop
    RETURN O1
"""


def sum_loop(n: int) -> int:
    total = 0
    i = 0
    while i < n:
        total += i
        i += 1
    return total


def registers_section(n: int, repeats: int) -> None:
    print()
    print("instructions per loop iteration: CPython's stack bytecode vs deepslate's registers")
    for name, py in bench_vm.PYTHON.items():
        if name in bench_vm.SIZES:
            continue
        prog = bench_vm.compiled(name)
        fn = bench_vm._PLAIN[bench_vm.FLOWS[name].name]
        per_py = (cpython_ops(fn, 2000) - cpython_ops(fn, 1000)) / 1000
        per_vm = (vm_steps(prog, 2000) - vm_steps(prog, 1000)) / 1000
        print(f"  {name:<7}CPython {per_py:5.1f}   deepslate {per_vm:5.1f}   ({per_py / per_vm:.1f}x fewer)")
    typed = bench_vm.program(bench_vm.assemble(SUM_TYPED, params=bench_vm.params("n")))
    boxed = bench_vm.program(bench_vm.assemble(SUM_BOXED, params=bench_vm.params("n")))
    t_py, t_typed, t_boxed = best_of([sum_loop, lambda n: bench_vm.run_vm(typed, n),
                                      lambda n: bench_vm.run_vm(boxed, n)], n, repeats)
    print("a counting loop: unboxed I registers vs boxed ints in O registers")
    print(f"  CPython {t_py * 1e3:.2f} ms   typed {t_typed * 1e3:.2f} ms ({t_typed / t_py:.2f}x)"
          f"   boxed {t_boxed * 1e3:.2f} ms ({t_boxed / t_py:.2f}x)")


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
                                     lambda n: bench_vm.run_vm(asm_prog, n)],
                                    bench_vm.SIZES.get(name, n), repeats)
        ratio = t_vm / t_py
        ok = ratio <= TARGETS[name]
        failed += not ok
        print(f"{name:<7}{t_py * 1e3:>11.2f}{t_vm * 1e3:>9.2f}{ratio:>7.2f}{TARGETS[name]:>8.1f}"
              f"  {'yes' if ok else 'NO ':<3}{t_asm * 1e3:>8.2f}{t_asm / t_py:>7.2f}")
    registers_section(n, repeats)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
