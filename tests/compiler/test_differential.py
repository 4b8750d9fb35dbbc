"""Differential check: generated pure flows give on deepslate's VM exactly what CPython gives.

``gen_pure.generate(seed)`` writes a module of typed flows: ints (64-bit edges and far beyond),
floats (-0.0, NaN, infinities), bools, strs (lone surrogates, astral characters), lists of
ints, strs and floats, dicts; if/while/for/range/enumerate/match, arithmetic with // % **,
comparisons, flow-to-flow and @pure calls, print and JSON round trips. It mixes int with float,
bool with int and NaN with lists where Python's answers are easy to miss; its docstring says
what it leaves out (deepslate's documented differences) and how it keeps programs small.
Each program runs once on the VM and once as plain Python (the decorators replaced by the
corpus shim of tests/driver.py). The value returned (with exact types), the printed lines and
the fault (its exception type and source line, where CPython raises) must agree; a program the
compiler refuses fails too, since the generator writes only what Python's typing accepts.

Sizes: ``DEEPSLATE_DIFF_PROGRAMS`` (default 1 000, nightly more) programs from seeds
``DEEPSLATE_DIFF_SEED`` (default 20261130) onwards. A failure prints the seed and the program;
``DEEPSLATE_DIFF_SEED=<seed> DEEPSLATE_DIFF_PROGRAMS=1`` replays it.
``DEEPSLATE_DIFF_EXCLUDE=union,json`` leaves value classes out (names in ``gen_pure.FEATURES``),
e.g. to look past one that still fails; the same seeds then make other programs. The classes
the compiler refuses on purpose (``gen_pure.REFUSED``) are left out unless named in
``DEEPSLATE_DIFF_INCLUDE`` (``all`` for every one). A program that runs more than
``RUNAWAY_RUNS`` million VM instructions, or 10 s on CPython, is a generator bug and fails with
its seed rather than holding the run.
"""
from __future__ import annotations

import contextlib
import io
import math
import os
import resource
import signal
import sys
import time
import traceback
import types

import pytest

import driver
from gen_pure import FEATURES, FLOW_NAMES, REFUSED, Gen, forget_compiled_modules, generate

PROGRAMS = int(os.environ.get("DEEPSLATE_DIFF_PROGRAMS", "1000"))
SEED = int(os.environ.get("DEEPSLATE_DIFF_SEED", "20261130"))


def _names(var: str) -> frozenset[str]:
    return frozenset(f.strip() for f in os.environ.get(var, "").split(",") if f.strip())


EXCLUDE = (REFUSED - (REFUSED if "all" in _names("DEEPSLATE_DIFF_INCLUDE") else _names("DEEPSLATE_DIFF_INCLUDE"))
           | _names("DEEPSLATE_DIFF_EXCLUDE"))
RUNAWAY_RUNS = 20       # million instructions; a generated program takes a few thousand


def canon(v):
    """A value with its exact types spelled out: 1 and 1.0 and True differ, so do 0.0 and -0.0."""
    if isinstance(v, bool) or v is None:
        return (type(v).__name__, v)
    if isinstance(v, float):
        return ("float", "nan" if math.isnan(v) else v.hex())
    if isinstance(v, (int, str, bytes)):
        return (type(v).__name__, v)
    if isinstance(v, list):
        return ("list", [canon(x) for x in v])
    if isinstance(v, dict):
        return ("dict", [(canon(k), canon(x)) for k, x in v.items()])
    return (type(v).__name__, repr(v))


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def run_cpython(source: str, args: dict) -> tuple:
    """('value', canon, log) or ('fault', exception type, line, log)."""
    sys.modules["_deepslate_cpython"] = driver.CPYTHON_SHIM
    src = source.replace("from deepslate import ", "from _deepslate_cpython import ", 1)
    mod = types.ModuleType("_diff_cpython")
    exec(compile(src, "diff.py", "exec", dont_inherit=True), mod.__dict__)  # noqa: S102 - generated program
    buf = io.StringIO()
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, 10.0)
    try:
        with contextlib.redirect_stdout(buf):
            value = mod.main(**_copy(args))
        out = ("value", canon(value))
    except _Timeout:
        raise AssertionError("CPython did not finish in 10 s: the generator made a runaway program")
    except Exception as e:  # noqa: BLE001 - a fault is an outcome to compare
        # the innermost line of the generated module: where deepslate must report its fault
        lines = [f.lineno for f in traceback.extract_tb(e.__traceback__)
                 if f.filename == "diff.py" and f.name in FLOW_NAMES]
        out = ("fault", type(e).__name__, lines[-1] if lines else None)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    # a print whose argument fails has written its first arguments already; the VM logs whole lines
    text = buf.getvalue()
    return out + (bounded(text[:text.rfind("\n") + 1].splitlines()),)


def bounded(lines: list[str]) -> list[str]:
    """What the VM keeps of a run's printed lines (docs/language.md: at most MAX_LOG_LINES
    between two durable points, the rest counted in one last line)."""
    from deepslate._vm import MAX_LOG_LINES
    if len(lines) <= MAX_LOG_LINES:
        return lines
    return lines[:MAX_LOG_LINES] + [f"... {len(lines) - MAX_LOG_LINES} more lines printed here were not kept "
                                    f"(at most {MAX_LOG_LINES} between two durable points)"]


def _copy(args: dict) -> dict:
    return {k: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v) for k, v in args.items()}


def run_deepslate(source: str, args: dict) -> tuple:
    from deepslate._vm import VM

    flows = driver.compile_source(source, "diff.py")
    program = flows["main"].program
    vm = VM(program, program.entry, tuple(_copy(args).values()))
    for _ in range(RUNAWAY_RUNS):
        spec, res = vm.run(1_000_000)
        if spec.kind != "yield":
            break
    else:
        raise AssertionError(f"the VM ran {RUNAWAY_RUNS} million instructions: the generator made a runaway program")
    log = list(vm.take_log())
    if spec.kind == "return":
        return ("value", canon(res[0]), log)
    assert spec.kind == "fault", f"a pure program asked for a {spec.kind} effect"
    return ("fault", res[0].exc_type, res[0].frames[-1][2] if res[0].frames else None, log)


def check_seed(seed: int) -> tuple:
    source, args = generate(seed, exclude=EXCLUDE)
    try:
        ours = run_deepslate(source, args)
    except Exception as e:
        raise AssertionError(f"seed {seed}: deepslate raised {type(e).__name__}: {e}\n"
                             f"args {args!r}\n{source}") from e
    finally:
        forget_compiled_modules()
    try:
        theirs = run_cpython(source, args)
    except AssertionError as e:
        raise AssertionError(f"seed {seed}: {e}\nargs {args!r}\n{source}") from None
    assert ours == theirs, (f"seed {seed}: deepslate {ours!r}\n           CPython   {theirs!r}\n"
                            f"args {args!r}\n{source}")
    return ours


def test_generated_programs_agree_with_cpython() -> None:
    t0 = time.perf_counter()
    kinds: dict[str, int] = {}
    # a generated program may allocate without bound (on either side): a MemoryError within 4 GB
    # more than the process holds now, rather than the machine's OOM killer ending the whole run
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as f:
        held = int(f.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (held + (4 << 30), hard))
    try:
        for seed in range(SEED, SEED + PROGRAMS):
            out = check_seed(seed)
            kinds[out[0] if out[0] == "value" else out[1]] = kinds.get(out[0] if out[0] == "value" else out[1], 0) + 1
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    print(f"\n{PROGRAMS} programs agree in {time.perf_counter() - t0:.1f} s: {sorted(kinds.items())}")
    if PROGRAMS >= 500:
        # a generator whose programs all fault (or never do) would compare little
        assert kinds.get("value", 0) >= PROGRAMS // 3, kinds
        assert sum(n for k, n in kinds.items() if k != "value") >= PROGRAMS // 50, kinds


def test_the_generator_is_reproducible() -> None:
    assert generate(SEED) == generate(SEED)
    assert generate(SEED) != generate(SEED + 1)
    assert generate(SEED, exclude=set()) == generate(SEED, exclude=set())
    with pytest.raises(ValueError, match="unknown features"):
        generate(SEED, exclude={"no_such_class"})


def test_the_generator_reaches_every_value_class() -> None:
    # the classes that found divergences must stay in the mix: each appears in some of 300 programs
    used: dict[str, int] = {}
    texts = {"nan": "float('nan')", "surrogate": "'\\ud800", "astral": "\\U0001f600", "list[float]": "list[float]",
             "beyond 64 bits": "(2 ** 64)"}
    for seed in range(SEED, SEED + 300):
        gen = Gen(seed, exclude=set())
        source = gen.module()[0]
        for name in gen.used | {t for t, sign in texts.items() if sign in source}:
            used[name] = used.get(name, 0) + 1
    assert all(used.get(name, 0) >= 3 for name in [*FEATURES, *texts]), used
    for seed in range(SEED, SEED + 100):
        gen = Gen(seed)
        gen.module()
        assert not gen.used & REFUSED, (seed, gen.used)


@pytest.mark.parametrize("seed", [20271088, 20261203, 20271000])
def test_a_generated_program_stays_small(seed: int) -> None:
    # 20271088 once appended, through a helper flow, to the list its caller looped over: it never
    # ended. The size guard bounds loops, calls and growth: a few million instructions at most
    from deepslate._vm import VM
    source, args = generate(seed)
    try:
        program = driver.compile_source(source, "diff.py")["main"].program
        spec, _ = VM(program, program.entry, tuple(_copy(args).values())).run(5_000_000)
    finally:
        forget_compiled_modules()
    assert spec.kind != "yield", f"seed {seed} ran past 5 million instructions"
    assert len(run_cpython(source, args)[-1]) < 2000


@pytest.mark.parametrize("a, b", [(1, 1.0), (0.0, -0.0), (True, 1), ([1], [1.0]), ({"a": 1}, {"a": True})])
def test_canon_sees_exact_types(a, b) -> None:
    assert canon(a) != canon(b)
    assert canon(float("nan")) == canon(float("nan"))


@pytest.mark.parametrize("ret", ["int", "float", "list[int]"])
def test_int_of_a_bool_parameter_is_an_int(ret: str) -> None:
    # the unassigned-parameter boxing shortcut once handed back the bool argument object itself
    body = {"int": "int(b)", "float": "float(int(b))", "list[int]": "[int(b), int(c)]"}[ret]
    source = f"from deepslate import flow, pure\n\n\n@flow\nasync def main(b: bool, c: int) -> {ret}:\n    return {body}\n"
    for args in ({"b": True, "c": 3}, {"b": False, "c": -1}):
        ours, theirs = run_deepslate(source, args), run_cpython(source, args)
        assert ours == theirs, (ours, theirs)


def test_a_program_is_freed_once_nothing_uses_it() -> None:
    # the VM's per-program cache once kept every program ever run (and its module) alive
    import gc
    import weakref

    from deepslate._vm import VM

    source, args = generate(SEED)
    program = driver.compile_source(source, "diff.py")["main"].program
    VM(program, program.entry, tuple(_copy(args).values())).run(1000)
    gone = weakref.ref(program)
    del program
    forget_compiled_modules()
    gc.collect()
    assert gone() is None, [type(r).__name__ for r in gc.get_referrers(gone())]


def test_a_program_printing_past_the_log_bound_agrees() -> None:
    from deepslate._vm import MAX_LOG_LINES
    source = '''from deepslate import flow, pure


@flow
async def main(n: int) -> int:
    for i in range(n):
        print("line", i)
    return n
'''
    args = {"n": MAX_LOG_LINES + 5}
    ours, theirs = run_deepslate(source, args), run_cpython(source, args)
    assert ours == theirs
    assert len(ours[2]) == MAX_LOG_LINES + 1 and ours[2][-1].startswith("... 5 more lines")
