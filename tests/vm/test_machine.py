"""The machine around the opcodes: promotion, faults, budget, states, views, verification."""
import pytest

from deepslate.program.model import FAULT, RETURN, YIELD, EffectSpec
from deepslate._vm import VM, ProgramError, VMError
from vm.asm import assemble, params, program, run_to_end

SLEEP = EffectSpec("sleep", 1)

# sum(range(n)) with a counting loop
SUM = assemble("""
    UNBOXI I0 O0
    LOADI I1 0
    LOADI I2 0
loop:
    ILT I3 I2 I0
    JUMPIFNOT I3 @end
    IADD I1 I1 I2
    IADDI I2 I2 1
    JUMP @loop
end:
    BOXI O1 I1
    RETURN O1
""", params=params("n"), name="sum")


# -- overflow promotion --------------------------------------------------------

POW2 = assemble("""
    UNBOXI I0 O0          ; n
    LOADI I1 1
    LOADI I2 2
loop:
    JUMPIFNOT I0 @end
    IMUL I1 I1 I2
    IADDI I0 I0 -1
    JUMP @loop
end:
    MOVEI I3 I1
    LOADKI I4 =1267650600228229401496703205375   ; 2**100 - 1
    IGT I5 I3 I4
    LOADI I6 -3
    IFLOORDIV I7 I3 I6
    IMOD I8 I3 I6
    ISUB I9 I3 I3
    BOXI O1 I3
    BOXB O2 I5
    BOXI O3 I7
    BOXI O4 I8
    BOXI O5 I9
    BUILDLIST O6 O1 5
    RETURN O6
""", params=params("n"))


def test_repeated_doubling_promotes_to_python_ints():
    spec, (value,) = VM(program(POW2), 0, (100,)).run()
    assert value == [2**100, True, 2**100 // -3, 2**100 % -3, 0]
    spec, (value,) = VM(program(POW2), 0, (10,)).run()
    assert value == [1024, False, 1024 // -3, 1024 % -3, 0]
    # a big value that shrinks back below 2**63 is unboxed again
    assert type(value[4]) is int


def test_big_ints_survive_export_state():
    vm = VM(program(POW2), 0, (70,))
    assert vm.run(3 + 4 * 66)[0] is YIELD          # 66 doublings done
    frames, pending, steps = vm.export_state()
    assert steps == 3 + 4 * 66 and not pending
    (idx, pc, o, i, f), = frames
    assert i[:3] == [4, 2**66, 2]
    vm2 = VM.from_state(program(POW2), vm.export_state())
    vm.run(10_000)
    while True:
        spec, out = vm2.run(10_000)
        if spec is RETURN:
            break
    assert out[0][0] == 2**70


def test_int64_min_is_held_as_a_python_int():
    c = assemble("""
        UNBOXI I0 O0
        INEG I1 I0
        BOXI O1 I1
        RETURN O1
    """, params=params("x"))
    assert VM(program(c), 0, (2**63,)).run()[1] == (-2**63,)
    assert VM(program(c), 0, (-2**63,)).run()[1] == (2**63,)


# -- faults --------------------------------------------------------------------

OUTER = assemble("""
    LOADI I0 0
    BOXI O1 I0
    CALLFLOW O2 =1 O1
    RETURN O2
""", name="outer", filename="outer.py", firstlineno=10)
INNER = assemble("""
    UNBOXI I0 O0
    LOADI I1 7
    IFLOORDIV I2 I1 I0
    BOXI O1 I2
    RETURN O1
""", name="inner", filename="inner.py", params=params("d"), firstlineno=20)


def test_fault_names_every_frame_outermost_first():
    vm = VM(program(OUTER, INNER), 0, ())
    spec, (fault,) = vm.run()
    assert spec is FAULT
    assert fault.message == "ZeroDivisionError: integer division or modulo by zero"
    assert fault.exc_type == "ZeroDivisionError"
    assert fault.frames == [("outer", "outer.py", 13, 5), ("inner", "inner.py", 23, 5)]
    assert 'File "inner.py", line 23, col 5, in inner' in fault.backtrace()
    assert vm.steps == 6
    with pytest.raises(VMError, match="cannot run: the flow faulted .*ZeroDivisionError"):
        vm.run()
    with pytest.raises(VMError, match="cannot export the state: the flow faulted"):
        vm.export_state()
    view = vm.frames_view()
    assert [(v["function"], v["line"]) for v in view] == [("outer", 13), ("inner", 23)]


def test_builtin_conversion_failure_faults():
    from deepslate._builtins import BUILTINS
    from deepslate.program.model import CallTarget
    c = assemble("""
        CALL O1 $int O0
        RETURN O1
    """, params=params("s"), consts={"int": CallTarget("builtin", "builtin:int", 1, fn=BUILTINS["int"])})
    assert VM(program(c), 0, ("12",)).run()[1] == (12,)
    spec, (fault,) = VM(program(c), 0, ("x",)).run()
    assert fault.message == "ValueError: invalid literal for int() with base 10: 'x'"
    assert fault.frames == [("f", "test.asm", 2, 9)]


def test_unbounded_flow_recursion_faults_with_recursion_error():
    c = assemble("""
        CALLFLOW O0 =0 O0
        RETURN O0
    """, name="again")
    vm = VM(program(c), 0, ())
    spec, (fault,) = vm.run()
    assert fault.exc_type == "RecursionError"
    assert "maximum flow call depth" in fault.message
    assert len(fault.frames) == 1000


# -- budget and yield ------------------------------------------------------------

def test_budget_yields_and_the_total_is_unchanged():
    whole = VM(program(SUM), 0, (50,))
    assert whole.run() == (RETURN, (1225,))
    vm = VM(program(SUM), 0, (50,))
    chunks = []
    while True:
        before = vm.steps
        spec, out = vm.run(7)
        chunks.append(vm.steps - before)
        if spec is RETURN:
            break
        assert spec is YIELD and out == ()
        # the budget is checked where control jumps: a yield lands on a jump target
        assert vm.export_state()[0][0][1] in (3, 8)
    assert out == (1225,)
    assert vm.steps == whole.steps == 3 + 50 * 5 + 4
    # every run but the last used its budget and stopped at the next taken jump
    assert all(7 <= n <= 7 + 5 for n in chunks[:-1]), chunks
    with pytest.raises(VMError, match="cannot run: the flow has returned"):
        vm.run()


def test_budget_bounds_recursion_too():
    c = assemble("""
        UNBOXI I0 O0
        JUMPIFNOT I0 @base
        IADDI I0 I0 -1
        BOXI O1 I0
        CALLFLOW O1 =0 O1
        RETURN O1
    base:
        RETURN O0
    """, params=params("n"), name="down")
    vm = VM(program(c), 0, (20,))
    spec, out = vm.run(10)
    assert spec is YIELD and vm.steps == 10     # five instructions per level, checked at each call
    assert len(vm.export_state()[0]) == 3
    spec, out = run_to_end(vm)
    assert out == (0,)


def test_budget_must_be_positive():
    with pytest.raises(ValueError, match="budget must be positive, got 0"):
        VM(program(SUM), 0, (1,)).run(0)


# -- effects, export_state and from_state -------------------------------------------

MAIN = assemble("""
    LOADI I0 3
    LOADK O1 ='a'
    BUILDLIST O2 O1 1        ; shared list
    MOVE O3 O2               ; a second name for it
loop:
    BOXI O4 I0
    CALLFLOW O5 =1 O4
    APPEND O2 O5
    IADDI I0 I0 -1
    JUMPIF I0 @loop
    LOADKF F0 =0.5
    BOXF O6 F0
    BUILDLIST O7 O3 1
    APPEND O7 O6
    RETURN O7
""", name="main")
WORKER = assemble("""
    EFFECT O1 $sleep O0
    ADD O2 O1 O1
    RETURN O2
""", name="worker", params=params("n"), consts={"sleep": SLEEP})
PROG = program(MAIN, WORKER)


def answer(spec, args):
    assert spec is SLEEP
    return args[0] * 10


def test_effects_round_trip_through_state_at_every_point():
    reference = VM(PROG, 0, ())
    assert run_to_end(reference, answer) == (RETURN, ([["a", 60, 40, 20], 0.5],))

    vm = VM(PROG, 0, ())
    points = 0
    while True:
        # ready point: restore and continue in a fresh VM
        vm = VM.from_state(PROG, vm.export_state())
        spec, args = vm.run()
        if spec is RETURN:
            break
        points += 1
        state = vm.export_state()
        frames, pending, steps = state
        assert pending and len(frames) == 2
        assert frames[1][0] == 1 and frames[1][1] == 0       # worker waits at its EFFECT
        # pending point: a restored VM knows what it waits on
        vm = VM.from_state(PROG, state)
        assert vm.pending() == (SLEEP, args)
        vm.resume(answer(*vm.pending()))
        assert vm.pending() is None
    assert points == 3
    assert args == ([["a", 60, 40, 20], 0.5],)
    assert vm.steps == reference.steps


def test_export_state_layout_and_aliasing():
    vm = VM(PROG, 0, ())
    vm.run()
    frames, pending, steps = vm.export_state()
    (i0, pc0, o0, ii0, f0), (i1, pc1, o1, ii1, f1) = frames
    assert (i0, pc0) == (0, 5) and MAIN.insns[4 * 5] == 111     # caller waits at CALLFLOW
    assert o0[2] is o0[3] and o0[2] == ["a"]
    assert ii0 == [3] and f0 == [0.0]
    assert o1 == [3, None, None] and ii1 == [] and f1 == []
    # from_state keeps the objects: two registers naming one list still do
    vm2 = VM.from_state(PROG, (frames, pending, steps))
    st2 = vm2.export_state()
    assert st2[0][0][2][2] is st2[0][0][2][3]


def test_misuse_is_a_clear_error():
    vm = VM(PROG, 0, ())
    with pytest.raises(VMError, match="cannot resume: the VM is not pending on an effect"):
        vm.resume(1)
    vm.run()
    with pytest.raises(VMError, match="cannot run: the VM is pending on an effect"):
        vm.run()
    with pytest.raises(VMError, match="never set up"):
        VM.__new__(VM).run()
    with pytest.raises(TypeError, match="flow 'worker' takes 1 arguments, got 0"):
        VM(PROG, 1, ())
    with pytest.raises(ProgramError, match="code index 5 outside 0..1"):
        VM(PROG, 5, ())


@pytest.mark.parametrize("state, message", [
    ([], "want a tuple"),
    (([], False, 0), "non-empty list"),
    (([(0, 0, [None] * 8, [0], [0.0])], "no", 0), "pending must be a bool"),
    (([(0, 0, [None] * 8, [0], [0.0])], False, -1), "steps a non-negative int"),
    (([(0, 0)], False, 0), "frame 0: want"),
    (([(2, 0, [], [], [])], False, 0), "code index 2 outside"),
    (([(0, 99, [None] * 8, [0], [0.0])], False, 0), "pc 99 outside"),
    (([(0, 0, [None] * 8, [0], [0.0]), (1, 0, [1, None, None], [], [])], False, 0),
     "caller frame must wait at CALLFLOW, pc 0 is LOADI"),
    (([(0, 0, [None] * 8, [0], [0.0])], True, 0), "pending frame must wait at EFFECT"),
    (([(0, 0, [None] * 7, [0], [0.0])], False, 0), "O must be a list of 8"),
    (([(0, 0, [None] * 8, [0.5], [0.0])], False, 0), "I\\[0\\] is float, want int"),
    (([(0, 0, [None] * 8, [0], [1])], False, 0), "F\\[0\\] is int, want float"),
])
def test_from_state_rejects_bad_states(state, message):
    with pytest.raises(ProgramError, match=message):
        VM.from_state(PROG, state)


# -- frames_view -----------------------------------------------------------------

VIEWED = assemble("""
    UNBOXI I0 O0
    LOADI I1 1
    LOADKF F0 =2.5
body:
    EFFECT O1 $sleep O0
    LOADI I1 0
gone:
    RETURN O1
.local n I0
.local is_on I1 @body @gone
.local ratio F0 @body
.local arg O0
.local never O1 @gone @gone
""", name="viewed", params=params("n"), consts={"sleep": SLEEP}, filename="v.py", firstlineno=30)


def test_frames_view_shows_live_locals_and_positions():
    vm = VM(program(VIEWED), 0, (4,))
    vm.run()
    (view,) = vm.frames_view()
    assert view == {"function": "viewed", "filename": "v.py", "line": 35, "col": 5,
                    "locals": {"n": 4, "is_on": True, "ratio": 2.5, "arg": 4}}
    vm.resume("done")
    (view,) = vm.frames_view()
    assert view["line"] == 36 and "is_on" in view["locals"]
    assert vm.run() == (RETURN, ("done",))


# -- verification of programs ------------------------------------------------------

@pytest.mark.parametrize("text, kw, message", [
    ("MOVEI I3 I0\nRETURNNONE", {"n_i": 2}, "MOVEI operand a names I\\[3\\] but the code has 2 I registers"),
    ("LOADKI I0 ='x'\nRETURNNONE", {}, "LOADKI wants a constant of kind int, got str"),
    ("LOADK O0 7\nRETURNNONE", {}, "LOADK constant index 7 outside"),
    ("JUMP 9\nRETURNNONE", {}, "JUMP jumps to 9, outside 0..1"),
    ("BUILDLIST O0 O1 5\nRETURNNONE", {"n_o": 3}, "register range O\\[1..5\\] outside 0..2"),
    ("CALLFLOW O0 =3 O0\nRETURNNONE", {}, "CALLFLOW names code 3, outside 0..0"),
    ("EFFECT O0 $sleep O0\nRETURNNONE", {"consts": {"sleep": EffectSpec("x", 2)}},
     "EFFECT arguments O\\[0..1\\] outside 0..0"),
    ("LOADI I0 1", {}, "last instruction must be one of"),
])
def test_verifier_rejects_malformed_code(text, kw, message):
    c = assemble(text, **kw)
    with pytest.raises(ProgramError, match=message):
        VM(program(c), 0, ())


def test_verifier_rejects_short_tables():
    c = assemble("RETURNNONE")
    c.positions = c.positions[:1]
    with pytest.raises(ProgramError, match="positions has 1 words, want 2"):
        VM(program(c), 0, ())
    c = assemble("RETURNNONE")
    c.insns = c.insns[:3]
    with pytest.raises(ProgramError, match="insns has 3 words"):
        VM(program(c), 0, ())


# -- re-entry and interruption -------------------------------------------------------

def _call_program(fn):
    from deepslate.program.model import CallTarget
    return program(assemble("""
        CALL O0 $fn O0
        RETURN O0
    """, n_o=1, consts={"fn": CallTarget("pure", "t:fn", 0, fn=fn)}))


def test_a_call_back_into_the_running_vm_is_refused():
    holder = []

    def reenter():
        return holder[0].run()

    vm = VM(_call_program(reenter), 0, ())
    holder.append(vm)
    spec, (fault,) = vm.run()
    assert spec is FAULT and fault.exc_type == "VMError"
    assert "called back from inside its own run" in fault.message


def test_keyboard_interrupt_from_user_code_faults_the_isolate():
    # DESIGN 2.8: any exception user code raises, BaseExceptions included, fails its isolate
    def interrupt():
        raise KeyboardInterrupt("from a @pure")

    vm = VM(_call_program(interrupt), 0, ())
    spec, (fault,) = vm.run()
    assert spec is FAULT and vm.faulted and not vm.done
    assert fault.exc_type == "KeyboardInterrupt"
    assert fault.message == "KeyboardInterrupt: from a @pure"
    assert fault.frames == [("f", "test.asm", 2, 9)]     # the CALL
    with pytest.raises(VMError, match="the flow faulted"):
        vm.run()
    with pytest.raises(VMError, match="cannot export the state"):
        vm.export_state()


def test_unlinked_type_test_faults_clearly():
    from deepslate.program.model import TypeTest
    from deepslate._types import INT
    c = assemble("""
        ISINSTANCE I0 O0 $t
        RETURNNONE
    """, n_o=1, consts={"t": TypeTest(INT)})
    spec, (fault,) = VM(program(c), 0, ()).run()
    assert fault.message == "VMError: type test for int is not linked"


def test_a_reused_frame_starts_clean():
    main = assemble("""
        LOADK O0 ='first'
        CALLFLOW O1 =1 O0
        LOADK O0 ='second'
        CALLFLOW O1 =1 O0
        RETURN O1
    """, name="twice")
    callee = assemble("""
        EFFECT O1 $sleep O0
        LOADI I0 7
        LOADKF F0 =1.5
        MOVE O2 O0
        RETURN O2
    """, name="callee", params=params("x"), consts={"sleep": SLEEP})
    vm = VM(program(main, callee), 0, ())
    seen = []
    while True:
        spec, args = vm.run()
        if spec is RETURN:
            break
        seen.append(vm.export_state()[0][1])
        vm.resume(None)
    assert args == ("second",)
    assert seen == [(1, 0, ["first", None, None], [0], [0.0]),
                    (1, 0, ["second", None, None], [0], [0.0])]


# -- size limits -----------------------------------------------------------------------

from deepslate._vm import MAX_INT_BITS, MAX_LEN  # noqa: E402

ADD_PROG = assemble("""
    ADD O2 O0 O1
    RETURN O2
""", params=params("x", "y"))


def test_sequences_built_by_add_are_bounded():
    half = MAX_LEN // 2
    for unit in ("x", b"x"):
        big = unit * (half + 1)
        spec, (fault,) = VM(program(ADD_PROG), 0, (big, big)).run()
        assert spec is FAULT and fault.message == (
            f"MemoryError: a {type(unit).__name__} of {2 * half + 2} items is over the limit of {MAX_LEN}")
    assert VM(program(ADD_PROG), 0, ([1], [2])).run()[1] == ([1, 2],)


def test_in_place_str_growth_is_bounded_too():
    c = assemble("""
        ADD O3 O0 O2         ; a fresh str that only O3 holds
        ADD O3 O3 O1         ; would grow in place
        RETURN O3
    """, params=params("s", "chunk", "one"))
    spec, (fault,) = VM(program(c), 0, ("y" * (MAX_LEN - 5), "z" * 10, "q")).run()
    assert fault.exc_type == "MemoryError" and f"str of {MAX_LEN + 6} items" in fault.message
    assert VM(program(c), 0, ("ab", "c", "q")).run()[1] == ("abqc",)


MUL_PROG = assemble("""
    MUL O2 O0 O1
    LEN I0 O2
    BOXI O2 I0
    RETURN O2
""", params=params("x", "y"))


def test_sequence_repetition_is_bounded():
    assert VM(program(MUL_PROG), 0, ([1, 2], 3)).run()[1] == (6,)
    assert VM(program(MUL_PROG), 0, (3, "ab")).run()[1] == (6,)
    assert VM(program(MUL_PROG), 0, ("ab", -1)).run()[1] == (0,)
    spec, (fault,) = VM(program(MUL_PROG), 0, (2**40, [0])).run()
    assert fault.message == f"MemoryError: a list of {2**40} items is over the limit of {MAX_LEN}"


POW_PROG = assemble("""
    UNBOXI I0 O0
    UNBOXI I1 O1
    IPOW I2 I0 I1
    BOXI O2 I2
    RETURN O2
""", params=params("x", "y"))


@pytest.mark.parametrize("x, y, fits", [
    (2, 1000, True), (2**70, 2**70, False),
    (2, MAX_INT_BITS - 1, True),          # exactly MAX_INT_BITS bits
    (2, MAX_INT_BITS, False),             # one bit over
    (-4, (MAX_INT_BITS - 1) // 2, True),
    (3, 2**26, False),                    # about 1.06e8 bits: the old estimate let it through
    (3, 42_340_980, False),               # 67 108 866 bits: just over, refused without building it
    (10**40, 100, True),
    (0, 2**80, True), (1, 2**80, True), (-1, 2**80 + 1, True),
])
def test_int_power_is_bounded_exactly(x, y, fits):
    spec, res = VM(program(POW_PROG), 0, (x, y)).run()
    if fits:
        assert spec is not FAULT, res
        assert res[0] == x ** y
    else:
        assert spec is FAULT and res[0].message == f"OverflowError: int ** int would need more than {MAX_INT_BITS} bits"


def test_the_power_bound_builds_and_measures_a_result_within_its_estimate_s_margin(monkeypatch):
    import deepslate._vm as vm
    monkeypatch.setattr(vm, "MAX_INT_BITS", 80)
    # 2 * log2(2**40 +- 1) is within 1e-11 of 80: only building the result tells
    assert vm.checked_pow(2**40 - 1, 2) == (2**40 - 1) ** 2            # 80 bits
    with pytest.raises(OverflowError, match="more than 80 bits"):
        vm.checked_pow(2**40 + 1, 2)                                  # 81 bits
    assert vm.checked_pow(3, 50) == 3**50 and vm.checked_pow(-2, 79) == -(2**79)
    with pytest.raises(OverflowError):
        vm.checked_pow(-2, 80)
