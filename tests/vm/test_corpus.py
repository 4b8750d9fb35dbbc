"""Every corpus flow runs on the VM with its declared result, and CPython agrees with every
declaration that has a plain-Python meaning (so no expectation is invented)."""
from __future__ import annotations

import copy
import os
import importlib.util
import pathlib
import sys

import pytest

import driver

FILES = driver.corpus_files()
CASES = driver.all_cases()


def _ids(cases: list[driver.Case]) -> list[str]:
    return [c.id for c in cases]


# -- the corpus itself ----------------------------------------------------------------


def test_corpus_size() -> None:
    assert len(FILES) >= 35
    assert len(CASES) >= 100


def test_module_names_are_free() -> None:
    # corpus modules are imported by file name, so none may hide a real module
    for path in FILES:
        assert path.stem not in sys.stdlib_module_names, path.name
        spec = importlib.util.find_spec(path.stem)
        assert spec is None or pathlib.Path(spec.origin).parent == driver.CORPUS, (path.name, spec.origin)


def test_header_errors_are_reported(tmp_path: pathlib.Path) -> None:
    cases = {
        "no_run.py": ("x = 1\n", "no '# run:' header"),
        "bad_run.py": ("# run: main(1)\n# expect: 1\n", "wants flow(name=literal"),
        "orphan.py": ("# expect: 1\n# run: main()\n", "before any '# run:'"),
        "both.py": ("# run: main()\n# expect: 1\n# expect fault: X @m\nx = 1  #@m\n", "exactly one of"),
        "nomark.py": ("# run: main()\n# expect fault: X @nowhere\n", "no line carries the marker #@nowhere"),
        "twice.py": ("# run: main()\n# expect: 1\nx = 1  #@m\ny = 2  #@m\n", "appears twice"),
        "arrow.py": ("# run: main()\n# expect: 1\n# effect: sleep None\n", "KIND -> EXPR"),
        "flag.py": ("# cpython: maybe\n# run: main()\n# expect: 1\n", "yes or no"),
    }
    for name, (text, message) in cases.items():
        p = tmp_path / name
        p.write_text(text)
        with pytest.raises(driver.HeaderError, match=message.replace("(", r"\(").replace("*", r"\*")):
            driver.parse_cases(p)


def test_header_parsing() -> None:
    path = driver.CORPUS / "http_effects.py"
    cases = driver.parse_cases(path)
    assert all(not c.cpython for c in cases)
    first = cases[0]
    assert (first.flow, first.args, first.expect, first.trace) == ("handle", {}, "6", ["http_listen"])
    assert first.effects == [("http_listen", "b'[1, 2, 3]'")]
    faults = [c for c in driver.parse_cases(driver.CORPUS / "faults.py") if c.fault]
    assert faults[0].fault[0] == "ZeroDivisionError"
    assert "#@intdiv" in path.with_name("faults.py").read_text().splitlines()[faults[0].fault[1] - 1]


# -- CPython agrees with the declarations -------------------------------------------------


@pytest.mark.parametrize("case", [c for c in CASES if c.cpython], ids=_ids([c for c in CASES if c.cpython]))
def test_cpython_agrees(case: driver.Case) -> None:
    out = driver.run_cpython(copy.deepcopy(case))
    if case.fault:
        assert (out.exc_type, out.line) == case.fault, f"CPython gave {out.value!r}"
    else:
        assert out.exc_type is None, f"CPython raised {out.exc_type} at line {out.line}"
        assert repr(out.value) == case.expect
    if case.log is not None:
        assert out.log == case.log


def test_differential_catches_a_wrong_expectation(tmp_path: pathlib.Path) -> None:
    p = tmp_path / "wrong.py"
    p.write_text("# run: f(n=2)\n# expect: 5\nfrom deepslate import flow\n\n\n@flow\n"
                 "async def f(n: int) -> int:\n    return n + 2\n")
    (case,) = driver.parse_cases(p)
    assert repr(driver.run_cpython(case).value) == "4"


# -- the VM ----------------------------------------------------------------------------------


def run_case(case: driver.Case, **options):
    """Run one corpus case on the VM; returns (value or FlowFault, driver, root)."""
    mod = driver.load_module(case.path)
    flow = getattr(mod, case.flow)
    drv = None
    try:
        value, drv, root = driver.drive(flow, copy.deepcopy(case.args), driver.eval_effects(case), **options)
    except driver.FlowFault as fault:
        return fault, None, None
    return value, drv, root


def check_outcome(case: driver.Case, value, drv, root) -> None:
    if case.fault:
        assert isinstance(value, driver.FlowFault), f"expected a fault, the flow returned {value!r}"
        exc, line = case.fault
        assert (value.exc_type, value.line) == (exc, line), value.message
        assert pathlib.Path(value.filename).resolve() == case.path.resolve()
        return
    if isinstance(value, driver.FlowFault):
        pytest.fail(f"flow faulted: {value.message} at {value.filename}:{value.line}")
    assert repr(value) == case.expect
    if case.log is not None:
        assert drv.log == case.log
    if case.trace is not None:
        assert root.trace == case.trace


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_runs_on_vm(case: driver.Case) -> None:
    check_outcome(case, *run_case(case))


def test_every_flow_of_the_corpus_compiles() -> None:
    for path in FILES:
        mod = driver.load_module(path)
        flows = driver.module_flows(mod)
        assert flows, f"{path.name} defines no flow"
        for name, f in flows.items():
            assert driver.flow_program(f).codes, name


# -- the driver itself, on hand-assembled programs ----------------------------------------


def _asm_program(text: str, **consts):
    import asm

    return asm.program(asm.assemble(text, consts=consts))


class _Prog:
    """Stands in for a Flow: the driver only needs ``.program``."""

    def __init__(self, program):
        self.program = program


def _spec(kind: str, nargs: int, extra: tuple = (), fn=None):
    from deepslate.program.model import EffectSpec

    return EffectSpec(kind, nargs, extra, fn)


def test_driver_answers_sleep_and_counts_durable_points() -> None:
    prog = _asm_program("""
        LOADK O0 =0.5
        EFFECT O1 $sleep O0
        EFFECT O1 $sleep O0
        RETURN O1
    """, sleep=_spec("sleep", 1))
    value, drv, root = driver.drive(_Prog(prog))
    assert value is None
    assert drv.durable_points == 2 and root.trace == ["sleep", "sleep"]


def test_driver_impure_error_becomes_dserror_or_fault() -> None:
    from deepslate._values import DSError

    def boom(x):
        raise RuntimeError(f"boom {x}")

    text = """
        LOADK O0 =3
        EFFECT O1 $call O0
        RETURN O1
    """
    soft = _asm_program(text, call=_spec("impure", 1, ("m:boom", 2, 0.0, 0.0, True), boom))
    assert driver.run_flow(_Prog(soft)) == DSError("boom 3")
    hard = _asm_program(text, call=_spec("impure", 1, ("m:boom", 0, 0.0, 0.0, False), boom))
    with pytest.raises(driver.FlowFault) as info:
        driver.run_flow(_Prog(hard))
    assert info.value.exc_type == "RuntimeError" and info.value.line == 3


def test_driver_script_errors() -> None:
    prog = _asm_program("""
        LOADK O0 ='POST'
        LOADK O1 ='/x'
        EFFECT O2 $listen O0
        RETURN O2
    """, listen=_spec("http_listen", 2))
    assert driver.run_flow(_Prog(prog), effects=[("http_listen", b"hi")]) == b"hi"
    with pytest.raises(driver.DriverError, match="scripts no answer"):
        driver.run_flow(_Prog(prog))
    with pytest.raises(driver.DriverError, match="never used"):
        driver.run_flow(_Prog(prog), effects=[("http_listen", b"a"), ("http_listen", b"b")])


def test_driver_reports_deadlock_and_runaway_flows() -> None:
    stuck = _asm_program("""
        LOADK O0 =0
        EFFECT O1 $newq O0
        EFFECT O2 $get O1
        RETURN O2
    """, newq=_spec("new_queue", 1, ("int",)), get=_spec("queue_get", 1))
    with pytest.raises(driver.Deadlock, match="root on queue_get"):
        driver.run_flow(_Prog(stuck))
    forever = _asm_program("""
        top:
        JUMP @top
    """)
    with pytest.raises(driver.DriverError, match="did not finish"):
        driver.run_flow(_Prog(forever), max_rounds=50, budget=10)


def test_driver_lock_misuse_is_a_fault() -> None:
    prog = _asm_program("""
        EFFECT O0 $newlock O0
        EFFECT O1 $release O0
        RETURN O1
    """, newlock=_spec("new_lock", 0), release=_spec("lock_release", 1))
    with pytest.raises(driver.FlowFault, match="release of an unlocked lock"):
        driver.run_flow(_Prog(prog))


# -- random typed arithmetic: the VM's unboxed int/float instructions against CPython ----------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

INT_LEAVES = ["a", "b", "0", "1", "-1", "7", "-7", "3", "9223372036854775807", "(-9223372036854775807 - 1)",
              "4611686018427387904", "(2 ** 64)", "(-(2 ** 70))", "n"]
FLOAT_LEAVES = ["x", "0.5", "-2.25", "1e308", "-0.0", "3.0", "y"]


@st.composite
def int_expr(draw, depth: int = 0) -> str:
    if depth > 3 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(INT_LEAVES))
    kind = draw(st.integers(0, 5))
    left, right = draw(int_expr(depth + 1)), draw(int_expr(depth + 1))
    if kind == 0:
        return f"({left} {draw(st.sampled_from(['+', '-', '*', '//', '%']))} {right})"
    if kind == 1:
        return f"({left} ** {draw(st.integers(0, 5))})"
    if kind == 2:
        return f"(-{left})"
    if kind == 3:
        return f"{draw(st.sampled_from(['abs', 'int']))}({left})"
    if kind == 4:
        return f"{draw(st.sampled_from(['min', 'max']))}({left}, {right})"
    return f"len(str({left}))"


@st.composite
def float_expr(draw, depth: int = 0) -> str:
    if depth > 3 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(FLOAT_LEAVES))
    kind = draw(st.integers(0, 4))
    left = draw(float_expr(depth + 1))
    right = draw(st.one_of(float_expr(depth + 1), int_expr(3)))
    if kind in (0, 1):
        return f"({left} {draw(st.sampled_from(['+', '-', '*', '/', '//', '%']))} {right})"
    if kind == 2:
        return f"(-{left})"
    if kind == 3:
        return f"({draw(int_expr(2))} / {draw(int_expr(3))})"
    return f"{draw(st.sampled_from(['abs', 'float']))}({left})"


@st.composite
def bool_expr(draw) -> str:
    cmp = draw(st.sampled_from(["<", "<=", "==", "!=", ">", ">="]))
    if draw(st.booleans()):
        return f"({draw(int_expr(1))} {cmp} {draw(int_expr(1))})"
    return f"({draw(float_expr(1))} {cmp} {draw(st.one_of(float_expr(1), int_expr(2)))})"


INT_SPECS = ["", ">6", "<4", "^7", "05d", "+d", "x", "X", "o", "b", ",", "_", "=+8", " d", "#x", "08.3f", "e"]
FLOAT_SPECS = ["", ".3f", "10.2f", "e", ".2e", "g", ".3g", "%", ".1%", "+.1f", ",.2f", "<9", "^9.1f", "09.3f"]


@st.composite
def text_expr(draw, depth: int = 0) -> str:
    kind = draw(st.integers(0, 5 if depth < 2 else 1))
    if kind == 0:
        return f"f\"{{{draw(int_expr(2))}:{draw(st.sampled_from(INT_SPECS))}}}\""
    if kind == 1:
        return f"f\"<{{{draw(float_expr(2))}:{draw(st.sampled_from(FLOAT_SPECS))}}}>\""
    if kind == 2:
        return f"({draw(text_expr(depth + 1))} + {draw(text_expr(depth + 1))})"
    if kind == 3:
        return f"({draw(text_expr(depth + 1))} * ({draw(int_expr(3))} % 4 - 1))"
    if kind == 4:
        return f"str({draw(st.one_of(int_expr(2), float_expr(2)))})"
    return f"{draw(text_expr(depth + 1))}[{draw(int_expr(3))} % 7 - 3]"


ARITH_TEMPLATE = '''from deepslate import flow


@flow
async def f(a: int, b: int, x: float) -> list[str]:
    n: int = a * b
    y: float = x * 2.0
    i: int = {i}
    g: float = {g}
    c: bool = {c}
    z: bool = c and not (i > 0) or {c2}
    t: str = {t}
    return [str(i), str(g), str(c), str(z), t]
'''


def _plain_python(source: str, args: dict) -> tuple[str, object]:
    src = source.replace("from deepslate import flow", "from _deepslate_cpython import flow")
    sys.modules["_deepslate_cpython"] = driver.CPYTHON_SHIM
    ns: dict = {}
    exec(compile(src, "arith_plain.py", "exec", dont_inherit=True), ns)  # noqa: S102
    try:
        return "value", ns["f"](**args)
    except Exception as e:  # noqa: BLE001 - compared with the VM's fault type
        return "fault", type(e).__name__


_ARITH_RUNS = [0]


@settings(max_examples=int(os.environ.get("DEEPSLATE_FUZZ_EXAMPLES", "150")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(i=int_expr(), g=float_expr(), c=bool_expr(), c2=bool_expr(), t=text_expr(),
       a=st.sampled_from([0, 1, -1, 5, -13, 2 ** 62, -(2 ** 63), 2 ** 63 - 1, 10 ** 20]),
       b=st.sampled_from([0, 3, -4, 2 ** 31, -(2 ** 40)]),
       x=st.sampled_from([0.0, -0.0, 1.5, -7.25, 1e300, float("inf"), float("nan")]))
def test_random_arithmetic_agrees_with_cpython(i, g, c, c2, t, a, b, x) -> None:
    source = ARITH_TEMPLATE.format(i=i, g=g, c=c, c2=c2, t=t)
    args = {"a": a, "b": b, "x": x}
    want = _plain_python(source, args)
    _ARITH_RUNS[0] += 1
    flows = driver.compile_source(source, f"arith_{_ARITH_RUNS[0]}.py")
    try:
        got = ("value", driver.run_flow(flows["f"], args))
    except driver.FlowFault as e:
        got = ("fault", e.exc_type)
    assert got == want, source


# -- random well-typed programs: control flow, scoping and containers against CPython ----------

INTS = ["i0", "i1", "acc"]


@st.composite
def small_int(draw, depth: int = 0) -> str:
    if depth > 2 or draw(st.integers(0, 2)) == 0:
        return draw(st.sampled_from(INTS + ["len(l0)", "len(d0)", "len(s0)", "3", "-5", "17"]))
    left, right = draw(small_int(depth + 1)), draw(small_int(depth + 1))
    op = draw(st.sampled_from(["+", "-", "*", "//", "%"]))
    if op in ("//", "%"):
        right = f"(abs({right}) + 1)"
    return f"({left} {op} {right})"


@st.composite
def condition(draw) -> str:
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return f"{draw(small_int())} {draw(st.sampled_from(['<', '<=', '==', '!=', '>', '>=']))} {draw(small_int())}"
    if kind == 1:
        return f"{draw(small_int())} % 2 == 0 and not b0"
    if kind == 2:
        return f"str({draw(small_int())} % 4) in d0 or f0 > 2.5"
    if kind == 3:
        return f"{draw(small_int())} % 5 in l0"
    return "b0"


@st.composite
def program_stmts(draw, indent: int, depth: int, loops: int, names: list) -> list[str]:
    pad = "    " * indent
    out: list[str] = []
    for _ in range(draw(st.integers(3, 8) if depth == 0 else st.integers(1, 3))):
        kind = draw(st.integers(0, 13 if depth < 3 else 6) if depth else st.integers(7, 13))
        if kind == 0:
            out.append(f"{pad}{draw(st.sampled_from(INTS))} = {draw(small_int())} % 2000003 - 1000001")
        elif kind == 1:
            out.append(f"{pad}f0 = f0 * 0.5 + float({draw(small_int())} % 7) / 4")
        elif kind == 2:
            out.append(f"{pad}s0 = str({draw(small_int())} % 97) + \"{draw(st.sampled_from(['x', 'é', '']))}\"")
        elif kind == 3:
            out.append(f"{pad}l0.append({draw(small_int())} % 100)")
        elif kind == 4:
            out.append(f"{pad}d0[str({draw(small_int())} % 5)] = {draw(small_int())} % 1000")
        elif kind == 5:
            out.append(f"{pad}b0 = {draw(condition())}")
        elif kind == 6:
            out.append(f"{pad}print(i0 % 10, s0, b0)")
        elif kind == 7:
            name = f"t{len(names)}"
            names.append(name)
            out.append(f"{pad}{name}: int = {draw(small_int())} % 1000")
            out.append(f"{pad}acc = acc + {name}")
        elif kind == 8:
            out.append(f"{pad}if {draw(condition())}:")
            out += draw(program_stmts(indent + 1, depth + 1, loops, names))
            if draw(st.booleans()):
                out.append(f"{pad}elif {draw(condition())}:")
                out += draw(program_stmts(indent + 1, depth + 1, loops, names))
            if draw(st.booleans()):
                out.append(f"{pad}else:")
                out += draw(program_stmts(indent + 1, depth + 1, loops, names))
        elif kind == 9:
            v = f"v{len(names)}"
            names.append(v)
            it = draw(st.sampled_from([f"range({draw(st.integers(0, 4))})", "range(3, -1, -2)", "l0[:0] + [1, 2]",
                                       "[7, 8, 9]"]))
            if it.startswith("l0[:0]"):
                it = "[1, 2]"
            out.append(f"{pad}for {v} in {it}:")
            out.append(f"{pad}    acc = acc + {v}")
            out += draw(program_stmts(indent + 1, depth + 1, loops + 1, names))
        elif kind == 10:
            w = f"w{len(names)}"
            names.append(w)
            out.append(f"{pad}{w}: int = 0")
            out.append(f"{pad}while {w} < {draw(st.integers(0, 3))}:")
            out.append(f"{pad}    {w} = {w} + 1")
            out += draw(program_stmts(indent + 1, depth + 1, loops + 1, names))
        elif kind == 11 and loops:
            out.append(f"{pad}if {draw(condition())}:")
            out.append(f"{pad}    {draw(st.sampled_from(['break', 'continue']))}")
        elif kind == 12:
            out.append(f"{pad}match {draw(small_int())} % 3:")
            for case in draw(st.sampled_from([["0", "1", "_"], ["2", "0"], ["-1", "_"]])):
                out.append(f"{pad}    case {case}:")
                out += draw(program_stmts(indent + 2, depth + 1, loops, names))
        elif kind == 13:
            out.append(f"{pad}if {draw(condition())}:")
            out.append(f"{pad}    i1 = helper(i0, i1)")
            if draw(st.booleans()):
                out.append(f"{pad}    return summary(i0, i1, acc, f0, s0, l0, d0, b0)")
        else:
            out.append(f"{pad}acc = acc + 1")
    return out


PROGRAM_HEAD = '''from deepslate import flow


@flow
async def helper(a: int, b: int) -> int:
    if a > b:
        return a - b
    return b % 7 + 1


@flow
async def summary(i0: int, i1: int, acc: int, f0: float, s0: str, l0: list[int], d0: dict[str, int],
                  b0: bool) -> list[str]:
    return [str(i0), str(i1), str(acc), str(f0), s0, str(l0), str(d0), str(b0)]


@flow
async def main(a: int, b: int) -> list[str]:
    i0: int = a
    i1: int = b
    acc: int = 0
    f0: float = 1.5
    s0: str = "ab"
    l0: list[int] = [1, 2, 3]
    d0: dict[str, int] = {"k": 1}
    b0: bool = a > b
'''


@settings(max_examples=int(os.environ.get("DEEPSLATE_FUZZ_EXAMPLES", "120")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(body=st.builds(list).flatmap(lambda names: program_stmts(1, 0, 0, names)), a=st.sampled_from([0, 7, -12, 2 ** 40]), b=st.sampled_from([1, -3, 99]))
def test_random_programs_agree_with_cpython(body: list[str], a: int, b: int) -> None:
    source = PROGRAM_HEAD + "\n".join(body) + "\n    return summary(i0, i1, acc, f0, s0, l0, d0, b0)\n"
    args = {"a": a, "b": b}
    src = source.replace("from deepslate import flow", "from _deepslate_cpython import flow")
    sys.modules["_deepslate_cpython"] = driver.CPYTHON_SHIM
    ns: dict = {}
    exec(compile(src, "program_plain.py", "exec", dont_inherit=True), ns)  # noqa: S102
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        want = ns["main"](**args)
    _ARITH_RUNS[0] += 1
    flows = driver.compile_source(source, f"program_{_ARITH_RUNS[0]}.py")
    got, drv, _ = driver.drive(flows["main"], args)
    assert (repr(got), drv.log) == (repr(want), buf.getvalue().splitlines()), source


def test_driver_argument_errors() -> None:
    flow = driver.load_module(driver.CORPUS / "int_arith.py").main
    with pytest.raises(TypeError, match=r"unknown argument\(s\) \['c'\]"):
        driver.run_flow(flow, {"a": 1, "b": 2, "c": 3})
    with pytest.raises(TypeError, match=r"missing argument\(s\) \['b'\]"):
        driver.run_flow(flow, {"a": 1})
    with pytest.raises(TypeError, match="not a compiled flow"):
        driver.run_flow(object(), {})


def test_driver_rejects_unknown_effects_and_bad_wait_groups() -> None:
    odd = _asm_program("""
        EFFECT O0 $odd O0
        RETURN O0
    """, odd=_spec("teleport", 0))
    with pytest.raises(driver.DriverError, match="unknown effect kind 'teleport'"):
        driver.run_flow(_Prog(odd))
    negative = _asm_program("""
        EFFECT O0 $newwg O0
        EFFECT O1 $done O0
        RETURN O1
    """, newwg=_spec("new_waitgroup", 0), done=_spec("wg_done", 1))
    with pytest.raises(driver.FlowFault, match="negative wait group counter"):
        driver.run_flow(_Prog(negative))


def test_cpython_shim_refuses_what_has_no_plain_meaning(tmp_path: pathlib.Path) -> None:
    p = tmp_path / "needs_queue.py"
    p.write_text("# run: f()\n# expect: 1\nfrom deepslate import dpslio, flow\n\n\n@flow\n"
                 "async def f() -> int:\n    q: dpslio.Queue[int] = dpslio.Queue[int]()\n    return 1\n")
    (case,) = driver.parse_cases(p)
    with pytest.raises(driver.ShimUnsupported, match="dpslio.Queue"):
        driver.run_cpython(case)


def test_fault_backtrace_names_every_flow_frame() -> None:
    (case,) = [c for c in CASES if c.path.stem == "faults" and c.flow == "outer" and c.fault]
    fault, _, _ = run_case(case)
    assert isinstance(fault, driver.FlowFault)
    assert [f[0] for f in fault.frames] == ["outer", "inner"]
    lines = case.path.read_text().splitlines()
    outer_line = fault.frames[0][2]
    assert "inner(n)" in lines[outer_line - 1]
    assert all(pathlib.Path(f[1]).resolve() == case.path.resolve() for f in fault.frames)
    assert fault.frames[1][3] >= 1


def test_frames_view_at_durable_points() -> None:
    # what the inspector will show: the live locals of every frame at each durable point
    mod = driver.load_module(driver.CORPUS / "sleep_loop.py")
    seen: list[str] = []

    def hook(iso: driver.Isolate, phase: str) -> None:
        if phase == "pending":
            seen.append(repr(iso.vm.frames_view()))
    driver.run_flow(mod.counter, {"limit": 3}, on_durable=hook)
    path = str(driver.CORPUS / "sleep_loop.py")
    lines = (driver.CORPUS / "sleep_loop.py").read_text().splitlines()
    line = next(n for n, text in enumerate(lines, 1) if "sleep(1.0)" in text)
    assert seen == [repr([{"function": "counter", "filename": path, "line": line, "col": 9,
                           "locals": {"count": k, "limit": 3}}]) for k in range(3)]

    mod = driver.load_module(driver.CORPUS / "durable_mix.py")
    views: list[list[dict]] = []

    def grab(iso: driver.Isolate, phase: str) -> None:
        if phase == "pending":
            views.append(copy.deepcopy(iso.vm.frames_view()))
    driver.run_flow(mod.main, {"n": 2}, on_durable=grab)
    nested = [v for v in views if len(v) == 2]
    assert nested, "step() sleeps inside a flow call"
    outer, inner = nested[0]
    assert (outer["function"], inner["function"]) == ("main", "step")
    assert set(inner["locals"]) == {"acc", "x"}
    assert {"i", "v", "got", "acc", "alias", "counts", "q", "f", "big", "n"} <= set(outer["locals"])
    assert outer["locals"]["big"] == 2 ** 64 and outer["locals"]["i"] == 0


def test_scripted_answer_replaces_one_impure_function() -> None:
    mod = driver.load_module(driver.CORPUS / "impure_calls.py")
    value, _, root = driver.drive(mod.strict, {"cents": 0}, [("impure:charge", "from the script")])
    assert value == "from the script"          # the real charge() would have raised
    assert root.trace == ["impure:charge", "impure:nothing_back"]
