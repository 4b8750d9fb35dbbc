"""The interpreter core against CPython on the same pure loops.

Each loop is written once, as an ``@flow``: deepslate compiles it and runs the
bytecode on the VM; CPython runs the same function (a coroutine that never
awaits). A hand-assembled program per loop, as tight as we know how to write
it, shows what the machine itself costs apart from the compiler's choices.
``benchmarks/vm_table.py`` prints the ratios as a table.

    .venv/bin/python -m pytest benchmarks/bench_vm.py --benchmark-group-by=group
"""
from __future__ import annotations

import pathlib
import sys
import types

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))

from deepslate import flow                             # noqa: E402
from deepslate.program.model import RETURN, CallTarget  # noqa: E402
from deepslate._vm import VM                           # noqa: E402
from vm.asm import assemble, params, program           # noqa: E402

N = 200_000


# -- the loops: each is one source, compiled to a flow by deepslate and run by
#    CPython as the very same (never awaiting) coroutine function

@flow
async def int_loop(n: int) -> int:
    total: int = 0
    for i in range(n):
        if i % 3 == 0:
            total += i * 2
        else:
            total -= 1
    return total

@flow
async def float_loop(n: int) -> float:
    x: float = 0.0
    acc: float = 0.0
    for i in range(n):
        x = x + 0.5
        acc = acc + x * x / (x + 1.0)
    return acc

@flow
async def list_loop(n: int) -> int:
    xs: list[int] = []
    for i in range(n):
        xs.append(i)
    s: int = 0
    for x in xs:
        s += x
    return s

@flow
async def fib_loop(n: int) -> int:
    a: int = 0
    b: int = 1
    for i in range(n):
        t: int = (a + b) % 1000000007
        a = b
        b = t
    return a

@flow
async def dict_loop(n: int) -> dict[int, int]:
    d: dict[int, int] = {}
    for i in range(n):
        k: int = i % 100
        if k in d:
            d[k] = d[k] + i
        else:
            d[k] = i
    return d

@flow
async def str_loop(n: int) -> int:
    s: str = ""
    for i in range(n):
        s = s + str(i % 10)
    return len(s)


@flow
async def calls(n: int) -> int:
    if n < 2:
        return n
    a: int = await calls(n - 1)
    b: int = await calls(n - 2)
    return a + b


def cpython(f):
    """Run a flow's own Python function under CPython. Its coroutine finishes
    on the first send: nothing here awaits anything but other such coroutines,
    which CPython runs inline."""
    fn = _PLAIN[f.name]

    def run(n):
        try:
            fn(n).send(None)
        except StopIteration as stop:
            return stop.value
        raise AssertionError("a benchmark flow suspended")
    run.__name__ = f.name
    return run


FLOWS = {"int": int_loop, "float": float_loop, "list": list_loop, "fib": fib_loop,
         "dict": dict_loop, "str": str_loop, "calls": calls}
# the argument per benchmark: the loops' length, the depth of the call tree
SIZES = {"calls": 20}
# the flows' own functions, sharing globals in which a flow's name is its
# function again (in the module it is the Flow, which Python cannot call)
_GLOBALS = dict(globals())
_PLAIN = {f.name: types.FunctionType(f.fn.__code__, _GLOBALS, f.name) for f in FLOWS.values()}
_GLOBALS.update(_PLAIN)
PYTHON = {name: cpython(f) for name, f in FLOWS.items()}


# -- the same loops as register bytecode --------------------------------------------

ASM = {
    "int": """
        UNBOXI I0 O0
        LOADI I1 0              ; total
        LOADI I2 0              ; i
    loop:
        ILT I3 I2 I0
        JUMPIFNOT I3 @end
        LOADI I5 3
        IMOD I4 I2 I5
        LOADI I6 0
        IEQ I3 I4 I6
        JUMPIFNOT I3 @else
        LOADI I7 2
        IMUL I4 I2 I7
        IADD I1 I1 I4
        JUMP @next
    else:
        IADDI I1 I1 -1
    next:
        IADDI I2 I2 1
        JUMP @loop
    end:
        BOXI O1 I1
        RETURN O1
    """,
    "float": """
        UNBOXI I0 O0
        LOADKF F0 =0.0          ; x
        LOADKF F1 =0.0          ; acc
        LOADI I1 0
    loop:
        ILT I2 I1 I0
        JUMPIFNOT I2 @end
        LOADKF F2 =0.5
        FADD F0 F0 F2
        FMUL F3 F0 F0
        LOADKF F4 =1.0
        FADD F5 F0 F4
        FDIV F3 F3 F5
        FADD F1 F1 F3
        IADDI I1 I1 1
        JUMP @loop
    end:
        BOXF O1 F1
        RETURN O1
    """,
    "list": """
        UNBOXI I0 O0
        BUILDLIST O1 O0 0       ; xs
        LOADI I1 0
    fill:
        ILT I2 I1 I0
        JUMPIFNOT I2 @sum
        BOXI O2 I1
        APPEND O1 O2
        IADDI I1 I1 1
        JUMP @fill
    sum:
        LOADI I3 0              ; s
        LOADI I1 0
        LEN I4 O1
    loop:
        ILT I2 I1 I4
        JUMPIFNOT I2 @end
        INDEXI O2 O1 I1
        UNBOXI I5 O2
        IADD I3 I3 I5
        IADDI I1 I1 1
        JUMP @loop
    end:
        BOXI O3 I3
        RETURN O3
    """,
    "fib": """
        UNBOXI I0 O0
        LOADI I1 0              ; a
        LOADI I2 1              ; b
        LOADI I3 0              ; i
    loop:
        ILT I4 I3 I0
        JUMPIFNOT I4 @end
        IADD I5 I1 I2
        LOADI I6 1000000007
        IMOD I5 I5 I6
        MOVEI I1 I2
        MOVEI I2 I5
        IADDI I3 I3 1
        JUMP @loop
    end:
        BOXI O1 I1
        RETURN O1
    """,
    "dict": """
        UNBOXI I0 O0
        BUILDDICT O1 O0 0       ; d
        LOADI I1 0
    loop:
        ILT I2 I1 I0
        JUMPIFNOT I2 @end
        LOADI I3 100
        IMOD I4 I1 I3           ; k
        BOXI O2 I4
        IN I2 O2 O1
        JUMPIFNOT I2 @new
        INDEX O3 O1 O2
        UNBOXI I5 O3
        IADD I5 I5 I1
        BOXI O3 I5
        STOREINDEX O1 O2 O3
        JUMP @next
    new:
        BOXI O3 I1
        STOREINDEX O1 O2 O3
    next:
        IADDI I1 I1 1
        JUMP @loop
    end:
        RETURN O1
    """,
    "str": """
        UNBOXI I0 O0
        LOADK O1 =''            ; s
        LOADI I1 0
    loop:
        ILT I2 I1 I0
        JUMPIFNOT I2 @end
        LOADI I3 10
        IMOD I4 I1 I3
        BOXI O2 I4
        CALL O3 $str O2
        ADD O1 O1 O3
        IADDI I1 I1 1
        JUMP @loop
    end:
        LEN I5 O1
        BOXI O4 I5
        RETURN O4
    """,
    "calls": """
        UNBOXI I0 O0
        LOADI I4 2
        ILT I1 I0 I4
        JUMPIFNOT I1 @rec
        RETURN O0
    rec:
        IADDI I2 I0 -1
        BOXI O1 I2
        CALLFLOW O2 =0 O1
        UNBOXI I1 O2
        IADDI I3 I0 -2
        BOXI O1 I3
        CALLFLOW O2 =0 O1
        UNBOXI I2 O2
        IADD I3 I1 I2
        BOXI O1 I3
        RETURN O1
    """,
}

CONSTS = {"str": CallTarget("builtin", "builtin:str", 1, fn=str)}


def assembled(name: str):
    return program(assemble(ASM[name], name=f"{name}_loop", params=params("n"), consts=CONSTS))


def compiled(name: str):
    return FLOWS[name].program


def run_vm(prog, n: int):
    spec, (value,) = VM(prog, prog.entry, (n,)).run(1 << 62)
    assert spec is RETURN, value
    return value


def check(name: str, prog) -> None:
    n = min(1000, SIZES.get(name, N))
    want = PYTHON[name](n)
    got = run_vm(prog, n)
    assert got == want, (name, got, want)


@pytest.mark.parametrize("name", list(PYTHON))
def test_cpython(benchmark, name):
    benchmark.group = name
    benchmark(PYTHON[name], SIZES.get(name, N))


@pytest.mark.parametrize("name", list(PYTHON))
def test_deepslate(benchmark, name):
    benchmark.group = name
    prog = compiled(name)
    check(name, prog)
    benchmark(run_vm, prog, SIZES.get(name, N))


@pytest.mark.parametrize("name", list(PYTHON))
def test_deepslate_assembled(benchmark, name):
    benchmark.group = name
    prog = assembled(name)
    check(name, prog)
    benchmark(run_vm, prog, SIZES.get(name, N))
