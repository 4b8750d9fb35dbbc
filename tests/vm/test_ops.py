"""Every opcode, executed by a hand-assembled program and checked against Python.

The typed int and float instructions are compared with Python's own operators
over grids of awkward values (int64 edges, big ints, nan, inf, -0.0); the
coverage test proves that the programs in this module use every opcode.
"""
import math
from dataclasses import dataclass

import pytest

from deepslate._opcodes import Op, OpcodeMax
from deepslate.program.model import FAULT, RETURN, CallTarget, EffectSpec, TypeTest
from deepslate._vm import VM
from vm.asm import assemble, params, program, run_to_end

ALL_CODES = []     # every code assembled in this module, for the coverage test


def code(text, **kw):
    c = assemble(text, **kw)
    ALL_CODES.append(c)
    return c


def run(c, *args, answer=None, extra=()):
    vm = VM(program(c, *extra), 0, args)
    spec, out = run_to_end(vm, answer)
    if spec is FAULT:
        return out[0]
    assert spec is RETURN
    return out[0]


def outcome(fn):
    """Python's result, or the exception class name it raises."""
    try:
        return fn()
    except Exception as e:
        return type(e).__name__


def vm_outcome(c, *args):
    r = run(c, *args)
    return r.exc_type if type(r).__name__ == "Fault" else r


def same(x, y):
    if isinstance(x, float) and isinstance(y, float):
        return repr(x) == repr(y)     # tells nan, -0.0 and 0.0 apart
    return type(x) is type(y) and x == y


# -- typed int instructions against Python -----------------------------------

INTS = [0, 1, -1, 3, -7, 2**31, 2**62, -2**62, 2**63 - 1, -2**63 + 1, -2**63, 2**63, 2**100, -2**100]

INT_BINOPS = {
    "IADD": lambda x, y: x + y, "ISUB": lambda x, y: x - y, "IMUL": lambda x, y: x * y,
    "IFLOORDIV": lambda x, y: x // y, "IMOD": lambda x, y: x % y,
    "ILT": lambda x, y: x < y, "ILE": lambda x, y: x <= y, "IEQ": lambda x, y: x == y,
    "INE": lambda x, y: x != y, "IGT": lambda x, y: x > y, "IGE": lambda x, y: x >= y,
}
INT_PROGS = {
    name: code(f"""
        UNBOXI I0 O0
        UNBOXI I1 O1
        {name} I2 I0 I1
        {'BOXB' if name[1] in 'LGEN' else 'BOXI'} O2 I2
        RETURN O2
    """, params=params("x", "y"), name=name)
    for name in INT_BINOPS
}


@pytest.mark.parametrize("name", INT_BINOPS)
def test_int_binops_match_python(name):
    for x in INTS:
        for y in INTS:
            want = outcome(lambda: INT_BINOPS[name](x, y))
            got = vm_outcome(INT_PROGS[name], x, y)
            assert same(got, want), (name, x, y, got, want)


IDIV_PROG = code("""
    UNBOXI I0 O0
    UNBOXI I1 O1
    IDIV F0 I0 I1
    BOXF O2 F0
    RETURN O2
""", params=params("x", "y"))


def test_idiv_is_correctly_rounded_true_division():
    for x in INTS + [2**53 + 1, 10**30]:
        for y in INTS + [3, 2**53 + 1]:
            want = outcome(lambda: x / y)
            assert same(vm_outcome(IDIV_PROG, x, y), want), (x, y)


IPOW_PROG = code("""
    UNBOXI I0 O0
    UNBOXI I1 O1
    IPOW I2 I0 I1
    BOXI O2 I2
    RETURN O2
""", params=params("x", "y"))


def test_ipow_promotes_and_rejects_negative_exponents():
    for x in INTS:
        for y in [0, 1, 2, 3, 31, 62, 63, 64, 65]:
            assert vm_outcome(IPOW_PROG, x, y) == x ** y, (x, y)
    assert vm_outcome(IPOW_PROG, 2, 100) == 2**100
    fault = run(IPOW_PROG, 2, -1)
    assert fault.exc_type == "ValueError" and "negative exponent" in fault.message


UNARY_PROG = code("""
    UNBOXI I0 O0
    INEG I1 I0
    NOT I2 I0
    IADDI I3 I0 -5
    ITOF F0 I0
    BOXI O1 I1
    BOXB O2 I2
    BOXI O3 I3
    BOXF O4 F0
    BUILDLIST O5 O1 4
    RETURN O5
""", params=params("x"))


def test_int_unary_ops():
    for x in INTS:
        want = [-x, not x, x - 5, float(x)]
        got = run(UNARY_PROG, x)
        assert all(same(g, w) for g, w in zip(got, want)), (x, got, want)
    fault = run(UNARY_PROG, 2**1024)
    assert fault.exc_type == "OverflowError" and "too large" in fault.message


def test_iaddi_overflow_promotes():
    assert run(UNARY_PROG, 2**63 + 10)[2] == 2**63 + 5
    assert run(UNARY_PROG, -2**63 + 3)[2] == -2**63 - 2


LOADS_PROG = code("""
    LOADI I0 -7
    LOADKI I1 =1099511627776
    LOADKI I2 =340282366920938463463374607431768211456
    MOVEI I3 I2
    LOADKF F0 =2.5
    LOADKF F1 =3
    MOVEF F2 F0
    LOADK O0 ='hi'
    MOVE O1 O0
    LOADNONE O2
    BOXI O3 I0
    BOXI O4 I1
    BOXI O5 I3
    BOXF O6 F2
    BOXF O7 F1
    NOP
    BUILDLIST O8 O0 8
    RETURN O8
""")


def test_loads_and_moves():
    assert run(LOADS_PROG) == ["hi", "hi", None, -7, 2**40, 2**128, 2.5, 3.0]


UNBOX_PROG = code("""
    UNBOXF F0 O0
    UNBOXI I0 O1
    BOXF O2 F0
    BOXI O3 I0
    BUILDLIST O4 O2 2
    RETURN O4
""", params=params("f", "i"))


def test_unbox_accepts_its_types_and_faults_on_others():
    assert run(UNBOX_PROG, 1.5, True) == [1.5, 1]
    assert run(UNBOX_PROG, 2, -2**70) == [2.0, -2**70]
    fault = run(UNBOX_PROG, "1.5", 1)
    assert (fault.exc_type, fault.message) == ("TypeError", "TypeError: expected float, got str")
    fault = run(UNBOX_PROG, 1.0, None)
    assert fault.message == "TypeError: expected int, got NoneType"


# -- typed float instructions against Python ---------------------------------

FLOATS = [0.0, -0.0, 1.5, -2.5, 3.0, 7.0, -1e-300, 1e308, 5e-324, math.inf, -math.inf, math.nan]

FLOAT_BINOPS = {
    "FADD": lambda x, y: x + y, "FSUB": lambda x, y: x - y, "FMUL": lambda x, y: x * y,
    "FDIV": lambda x, y: x / y, "FFLOORDIV": lambda x, y: x // y, "FMOD": lambda x, y: x % y,
    "FPOW": lambda x, y: x ** y,
    "FLT": lambda x, y: x < y, "FLE": lambda x, y: x <= y, "FEQ": lambda x, y: x == y,
    "FNE": lambda x, y: x != y, "FGT": lambda x, y: x > y, "FGE": lambda x, y: x >= y,
}
FLOAT_PROGS = {
    name: code(f"""
        UNBOXF F0 O0
        UNBOXF F1 O1
        {name} {'I0' if name[1] in 'LGEN' else 'F2'} F0 F1
        {'BOXB O2 I0' if name[1] in 'LGEN' else 'BOXF O2 F2'}
        RETURN O2
    """, params=params("x", "y"), name=name)
    for name in FLOAT_BINOPS
}


@pytest.mark.parametrize("name", FLOAT_BINOPS)
def test_float_binops_match_python(name):
    for x in FLOATS:
        for y in FLOATS:
            want = outcome(lambda: FLOAT_BINOPS[name](x, y))
            if isinstance(want, complex):
                want = "ValueError"       # an F register cannot hold a complex
            got = vm_outcome(FLOAT_PROGS[name], x, y)
            assert same(got, want), (name, x, y, got, want)


def test_float_pow_negative_base_fractional_exponent_faults():
    fault = run(FLOAT_PROGS["FPOW"], -8.0, 1 / 3)
    assert fault.exc_type == "ValueError" and "fractional power" in fault.message
    assert run(FLOAT_PROGS["FPOW"], -2.0, 3.0) == -8.0
    assert run(FLOAT_PROGS["FPOW"], 10.0, 400.0).exc_type == "OverflowError"


def test_float_zero_division_messages_are_pythons():
    assert run(FLOAT_PROGS["FDIV"], 1.0, 0.0).message == "ZeroDivisionError: float division by zero"
    assert run(FLOAT_PROGS["FMOD"], 1.0, -0.0).message == "ZeroDivisionError: float modulo"
    assert run(INT_PROGS["IMOD"], 1, 0).message == "ZeroDivisionError: integer modulo by zero"


FNEG_PROG = code("""
    UNBOXF F0 O0
    FNEG F1 F0
    BOXF O1 F1
    RETURN O1
""", params=params("x"))


def test_fneg_flips_the_sign_of_zero_and_nan_stays_nan():
    assert repr(run(FNEG_PROG, 0.0)) == "-0.0"
    assert math.isnan(run(FNEG_PROG, math.nan))
    assert run(FNEG_PROG, -math.inf) == math.inf


# -- generic object instructions ------------------------------------------------

OBJ_BINOPS = {
    "ADD": lambda x, y: x + y, "MUL": lambda x, y: x * y,
    "EQ": lambda x, y: x == y, "NE": lambda x, y: x != y, "LT": lambda x, y: x < y,
    "LE": lambda x, y: x <= y, "GT": lambda x, y: x > y, "GE": lambda x, y: x >= y,
    "IN": lambda x, y: x in y, "INDEX": lambda x, y: x[y],
}
OBJ_PROGS = {
    name: code(f"""
        {name} {'O2' if name in ('ADD', 'MUL', 'INDEX') else 'I0'} O0 O1
        {'' if name in ('ADD', 'MUL', 'INDEX') else 'BOXB O2 I0'}
        RETURN O2
    """, params=params("x", "y"), name=name)
    for name in OBJ_BINOPS
}
OBJS = ["ab", "", b"x", [1, 2], [], 2, {"ab": 1}, None]


@pytest.mark.parametrize("name", OBJ_BINOPS)
def test_object_binops_match_python(name):
    for x in OBJS:
        for y in OBJS:
            want = outcome(lambda: OBJ_BINOPS[name](x, y))
            got = vm_outcome(OBJ_PROGS[name], x, y)
            assert got == want, (name, x, y, got, want)


TESTS_PROG = code("""
    TRUTHY I0 O0
    ISNONE I1 O0
    ISINSTANCE I2 O0 $is_str
    LEN I3 O1
    BOXB O2 I0
    BOXB O3 I1
    BOXB O4 I2
    BOXI O5 I3
    BUILDLIST O6 O2 4
    RETURN O6
""", params=params("x", "sized"), consts={"is_str": TypeTest(None, lambda v: type(v) is str)})


def test_truthy_isnone_isinstance_len():
    assert run(TESTS_PROG, "a", [1, 2]) == [True, False, True, 2]
    assert run(TESTS_PROG, None, "") == [False, True, False, 0]
    assert run(TESTS_PROG, 0, {1: 2}) == [False, False, False, 1]
    assert run(TESTS_PROG, 1, 5).exc_type == "TypeError"      # len(5)


CONTAINERS_PROG = code("""
    LOADK O2 ='k'
    BUILDDICT O3 O1 1        ; {O1: O2}
    STOREINDEX O3 O2 O0      ; d['k'] = x
    BUILDLIST O4 O0 0        ; []
    APPEND O4 O0
    APPEND O4 O1
    LOADI I0 1
    INDEXI O5 O4 I0          ; lst[1]
    STOREINDEXI O4 I0 O2     ; lst[1] = 'k'
    TOLIST O6 O3             ; list(d)
    BUILDLIST O7 O3 2        ; [d, lst]
    BUILDLIST O9 O5 3        ; [lst[1] before, list(d), [d, lst]]
    RETURN O9
""", params=params("x", "y"), n_o=10)


def test_containers():
    assert run(CONTAINERS_PROG, 1, "y") == ["y", ["y", "k"], [{"y": "k", "k": 1}, [1, "k"]]]
    # a dict key collision: the later STOREINDEX wins
    assert run(CONTAINERS_PROG, 5, "k")[2][0] == {"k": 5}


INDEXI_PROG = code("""
    UNBOXI I0 O1
    INDEXI O2 O0 I0
    RETURN O2
""", params=params("seq", "i"))
STOREI_PROG = code("""
    UNBOXI I0 O1
    LOADK O2 ='new'
    STOREINDEXI O0 I0 O2
    RETURN O0
""", params=params("seq", "i"))


def test_indexi_negative_big_and_non_list():
    assert run(INDEXI_PROG, [1, 2, 3], -1) == 3
    assert run(INDEXI_PROG, "abc", 1) == "b"
    assert run(INDEXI_PROG, {7: "x"}, 7) == "x"
    assert run(INDEXI_PROG, [1], 1).message == "IndexError: list index out of range"
    assert run(INDEXI_PROG, [1], 2**80).exc_type == "IndexError"
    assert run(STOREI_PROG, [1, 2], -2) == ["new", 2]
    assert run(STOREI_PROG, {}, 2**80) == {2**80: "new"}
    assert run(STOREI_PROG, [], 0).message == "IndexError: list assignment index out of range"


def test_index_errors_fault_with_pythons_text():
    assert run(OBJ_PROGS["INDEX"], {"a": 1}, "b").message == "KeyError: 'b'"
    assert run(OBJ_PROGS["INDEX"], [1], 3).message == "IndexError: list index out of range"


@dataclass
class Point:
    x: int
    y: int


@dataclass(frozen=True)
class Frozen:
    x: int


FIELDS_PROG = code("""
    GETATTR O1 O0 ='x'
    SETATTR O0 ='y' O1
    FORMAT O2 O1 ='>4'
    LOADK O3 ='<'
    MOVE O4 O2
    LOADK O5 ='>'
    JOINSTR O6 O3 3
    PRINT O0 2
    PRINT O6 1
    BUILDLIST O7 O0 0
    APPEND O7 O0
    APPEND O7 O6
    RETURN O7
""", params=params("p"))


def test_fields_format_joinstr_print():
    vm = VM(program(FIELDS_PROG), 0, (Point(3, 4),))
    spec, (value,) = vm.run()
    assert value == [Point(3, 3), "<   3>"]
    assert vm.take_log() == ["Point(x=3, y=3) 3", "<   3>"]
    assert vm.take_log() == []
    fault = run(FIELDS_PROG, Frozen(1))
    assert fault.exc_type == "FrozenInstanceError" and "cannot assign to field 'y'" in fault.message
    assert run(FIELDS_PROG, 5).message == "AttributeError: 'int' object has no attribute 'x'"


JOIN_PROG = code("""
    JOINSTR O2 O0 2
    RETURN O2
""", params=params("a", "b"))


def test_joinstr_rejects_non_str():
    assert run(JOIN_PROG, "a", "b") == "ab"
    assert run(JOIN_PROG, "a", 1).exc_type == "TypeError"


APPEND_PROG = code("""
    APPEND O0 O1
    RETURN O0
""", params=params("lst", "x"))


def test_append_on_non_list_faults():
    assert run(APPEND_PROG, [1], 2) == [1, 2]
    assert run(APPEND_PROG, "s", 2).message == "AttributeError: 'str' object has no attribute 'append'"


# -- jumps, calls, effects -------------------------------------------------------

JUMPS_PROG = code("""
    UNBOXI I0 O0
    LOADI I1 0
    JUMPIF I0 @yes
    LOADI I1 10
yes:
    JUMPIFNOT I0 @no
    IADDI I1 I1 1
no:
    JUMP @out
    LOADI I1 99
out:
    BOXI O1 I1
    RETURN O1
""", params=params("flag"))


def test_jumps():
    assert run(JUMPS_PROG, 1) == 1
    assert run(JUMPS_PROG, 0) == 10
    assert run(JUMPS_PROG, 2**70) == 1     # a big int is true


def _pure_add(a, b):
    return a + b


def _pure_fail(a, b):
    raise ValueError(f"bad input {a}")


CALL_PROG = code("""
    CALL O2 $add O0
    RETURN O2
""", params=params("a", "b"), consts={"add": CallTarget("pure", "t:add", 2, fn=_pure_add)})
CALL_FAIL = code("""
    CALL O2 $fail O0
    RETURN O2
""", params=params("a", "b"), consts={"fail": CallTarget("pure", "t:fail", 2, fn=_pure_fail)})
CALL_UNLINKED = code("""
    CALL O2 $nofn O0
    RETURN O2
""", params=params("a", "b"), consts={"nofn": CallTarget("pure", "t:missing", 2)})


def test_call_passes_the_vms_values():
    x = [1]
    assert run(CALL_PROG, x, [2]) == [1, 2]
    assert run(CALL_FAIL, 7, 0).message == "ValueError: bad input 7"
    fault = run(CALL_UNLINKED, 1, 2)
    assert fault.exc_type == "VMError" and "'t:missing' is not linked" in fault.message


CALLER = code("""
    LOADK O1 =' world'
    CALLFLOW O2 =1 O0
    LOADK O3 ='!'
    ADD O2 O2 O3
    RETURN O2
""", params=params("s"), name="caller")
CALLEE = code("""
    ADD O2 O0 O1
    EFFECT O3 $echo O2
    RETURNNONE
""", params=params("a", "b"), name="callee", consts={"echo": EffectSpec("impure", 1)})
CALLEE_RET = code("""
    ADD O2 O0 O1
    EFFECT O3 $echo O2
    RETURN O3
""", params=params("a", "b"), name="callee2", consts={"echo": EffectSpec("impure", 1)})


def test_callflow_effect_return():
    seen = []

    def answer(spec, args):
        seen.append((spec.kind, args))
        return args[0].upper()

    assert run(CALLER, "hello", answer=answer, extra=(CALLEE_RET,)) == "HELLO WORLD!"
    assert seen == [("impure", ("hello world",))]
    # RETURNNONE from a callee lands None in the caller's register
    assert run(CALLER, "x", answer=answer, extra=(CALLEE,)).exc_type == "TypeError"


def test_every_opcode_is_exercised():
    used = set()
    for c in ALL_CODES:
        used |= {c.insns[i] for i in range(0, len(c.insns), 4)}
    missing = {op.name for op in Op if int(op) not in used}
    assert not missing, f"opcodes without a test program: {sorted(missing)}"


def test_illegal_opcode_faults_by_number():
    c = assemble(f"""
        NOP
        {OpcodeMax + 1}
        RETURNNONE
    """)
    vm = VM(program(c), 0, ())
    spec, (fault,) = vm.run()
    assert spec is FAULT and fault.exc_type == "SystemError"
    assert f"illegal opcode {OpcodeMax + 1}" in fault.message
    assert fault.frames == [("f", "test.asm", 3, 9)]


def test_unimplemented_opcode_in_the_table_gap_is_illegal_too():
    c = assemble("""
        2
        RETURNNONE
    """)
    assert "illegal opcode 2 (not in the table)" in run(c).message


# -- random values against Python ------------------------------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402

# near the int64 edges, where promotion happens, and anywhere
EDGE_INTS = st.one_of(st.integers(-2**64, 2**64), st.integers(),
                      st.integers(-2**63 - 3, -2**63 + 3), st.integers(2**63 - 3, 2**63 + 3))


@settings(max_examples=300, deadline=None)
@given(x=EDGE_INTS, y=EDGE_INTS, name=st.sampled_from(sorted(INT_BINOPS)))
def test_int_binops_on_random_values(x, y, name):
    want = outcome(lambda: INT_BINOPS[name](x, y))
    assert same(vm_outcome(INT_PROGS[name], x, y), want)


@settings(max_examples=300, deadline=None)
@given(x=st.floats(), y=st.floats(), name=st.sampled_from(sorted(FLOAT_BINOPS)))
def test_float_binops_on_random_values(x, y, name):
    want = outcome(lambda: FLOAT_BINOPS[name](x, y))
    if isinstance(want, complex):
        want = "ValueError"
    assert same(vm_outcome(FLOAT_PROGS[name], x, y), want)
