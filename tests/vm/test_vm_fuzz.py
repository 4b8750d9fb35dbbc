"""Random bytecode: the verifier rejects it or the loop runs it, never a crash.

The loop reads operands unchecked because ``CodeInfo`` verified them once;
these tests throw arbitrary words at that contract.
"""
from array import array

from hypothesis import HealthCheck, given, settings, strategies as st

from deepslate._opcodes import CONST_OPERAND, JUMP_OPERAND, REGISTER_FILES, Op, OpcodeMax
from deepslate.program.model import FAULT, RETURN, YIELD, CallTarget, Code, EffectSpec, Program, TypeTest
from deepslate._types import INT
from deepslate._vm import VM, ProgramError

CONSTS = (0, 2**70, 1.5, "x", "", b"b", None, True,
          CallTarget("builtin", "builtin:str", 1, fn=str),
          CallTarget("builtin", "builtin:max", 2, fn=max),
          EffectSpec("sleep", 1), EffectSpec("new_lock", 0),
          TypeTest(INT, lambda v: type(v) is int))

OPS = [int(op) for op in Op] + [OpcodeMax + 1, 2, -1]
KINDS = {Op.LOADKI: int, Op.LOADKF: float, Op.ISINSTANCE: TypeTest, Op.GETATTR: str,
         Op.SETATTR: str, Op.FORMAT: str, Op.CALL: CallTarget, Op.CALLFLOW: int,
         Op.EFFECT: EffectSpec}


def make_code(insns, n_o, n_i, n_f, n_params):
    words = array("i", [w for i in insns for w in i])
    return Code(name="fuzz", ref="t:fuzz", filename="fuzz.py", firstlineno=1, source="",
                params=tuple((f"p{i}", INT) for i in range(n_params)), returns=None,
                insns=words, positions=array("i", [1, 1] * len(insns)), consts=CONSTS,
                n_o=n_o, n_i=n_i, n_f=n_f)


@st.composite
def programs(draw):
    """Mostly well-formed code (operands drawn for their file), some of it not."""
    sizes = {"O": draw(st.integers(1, 6)), "I": draw(st.integers(0, 4)), "F": draw(st.integers(0, 4))}
    n = draw(st.integers(1, 12))
    body = []
    for _ in range(n):
        op = draw(st.sampled_from(OPS))
        files = REGISTER_FILES.get(Op(op), "---") if op in Op._value2member_map_ else "---"
        words = [op]
        for j in range(3):
            f = files[j] if j < len(files) else "-"
            odd = draw(st.integers(0, 30)) == 0        # now and then, anything
            if odd:
                words.append(draw(st.integers(-2, 9)))
            elif f in sizes and sizes[f]:
                words.append(draw(st.integers(0, sizes[f] - 1)))
            elif CONST_OPERAND.get(op) == j:
                fits = [k for k, v in enumerate(CONSTS) if isinstance(v, KINDS.get(Op(op), object))]
                words.append(draw(st.sampled_from(fits)))
            elif JUMP_OPERAND.get(op) == j:
                words.append(draw(st.integers(0, n)))
            else:
                words.append(draw(st.integers(-2, 4)))
        body.append(tuple(words))
    body.append((int(Op.RETURNNONE), 0, 0, 0))
    return make_code(body, sizes["O"], sizes["I"], sizes["F"], 1)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(code=programs())
def test_random_code_is_rejected_or_runs(code):
    prog = Program(codes=[code], entry=0)
    try:
        vm = VM(prog, 0, (5,))
    except ProgramError:
        return
    for _ in range(20):
        spec, args = vm.run(50)
        if spec is RETURN or spec is FAULT:
            return
        if spec is not YIELD:
            vm = VM.from_state(prog, vm.export_state())     # any pending state restores
            vm.resume(None)


@settings(max_examples=200, deadline=None)
@given(pc=st.integers(-1, 4), o=st.lists(st.none(), max_size=4),
       i=st.lists(st.one_of(st.integers(), st.floats(), st.none()), max_size=3),
       f=st.lists(st.one_of(st.floats(), st.integers()), max_size=3),
       pending=st.booleans(), idx=st.integers(-1, 2))
def test_random_states_are_rejected_or_restore(pc, o, i, f, pending, idx):
    sleep = next(k for k, v in enumerate(CONSTS) if isinstance(v, EffectSpec) and v.kind == "sleep")
    body = [(int(Op.EFFECT), 0, sleep, 0), (int(Op.LOADI), 0, 3, 0), (int(Op.RETURN), 0, 0, 0)]
    prog = Program(codes=[make_code(body, 2, 1, 1, 1)], entry=0)
    try:
        vm = VM.from_state(prog, ([(idx, pc, o, i, f)], pending, 0))
    except ProgramError:
        return
    if pending:
        vm.resume(None)
    spec, args = vm.run()
    assert spec in (RETURN, FAULT) or spec.kind == "sleep"
