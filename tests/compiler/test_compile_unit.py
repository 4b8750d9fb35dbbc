"""Codegen shapes (one-line disassembly), programs, serialization and hashing,
and the decorators' behaviour from plain Python."""
from __future__ import annotations

import dataclasses
import linecache
import sys
import types

import pytest

from deepslate import DSError, CompileError, dpslio, flow, http_listen, impure, json_marshal, \
    json_unmarshal, pure, sleep
from deepslate import _builtins
from deepslate import _vm as vm_mod
from deepslate._opcodes import Op
from deepslate._types import FLOAT, INT, STR, DataclassT, ListT
from deepslate.compiler import Flow, collect_errors
from deepslate.program.dis import dis, instructions, oneline
from deepslate.program.link import LinkError, link
from deepslate.program.model import CallTarget, EffectSpec, TypeTest
from deepslate.program.serial import program_from_bytes, program_to_bytes

_counter = 0


def compile_module(text: str, name: str | None = None) -> types.ModuleType:
    """Run ``text`` as a module whose source inspect can read."""
    global _counter
    _counter += 1
    name = name or f"_unit_mod_{_counter}"
    filename = f"<unit {name}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
    mod = types.ModuleType(name)
    mod.__file__ = filename
    sys.modules[name] = mod
    exec(compile(text, filename, "exec"), mod.__dict__)
    return mod


def body(code) -> str:
    """oneline() without the prologue's constant loads and parameter unboxing."""
    ins = instructions(code)
    first_line = min(i.line for i in ins if i.line != code.position(0)[0]) if len(
        {i.line for i in ins}) > 1 else ins[0].line
    return "; ".join(f"{i.opname} {i.argrepr.split(' (')[0]}".strip() for i in ins if i.line >= first_line)


HEAD = "from deepslate import flow, pure, impure, dpslio, DSError, sleep, http_listen, json_unmarshal\n"


# -- codegen shapes ----------------------------------------------------------------------


def test_increment_is_one_addi() -> None:
    m = compile_module(HEAD + """
@flow
async def f(n: int) -> int:
    x: int = n
    x = x + 1
    x += 2
    return x
""")
    assert oneline(m.f.code) == ("UNBOXI I0 O0; MOVEI I1 I0; IADDI I1 I1 1; IADDI I1 I1 2; "
                                 "BOXI O1 I1; RETURN O1")


def test_range_loop_is_a_pure_register_loop() -> None:
    m = compile_module(HEAD + """
@flow
async def f(n: int) -> int:
    total: int = 0
    for i in range(n):
        total = total + i
    return total
""")
    # n is not assigned in the body, so the loop test reads it in place
    assert oneline(m.f.code) == (
        "UNBOXI I0 O0; LOADI I1 0; LOADI I2 0; JUMP L2; "
        "IADD I1 I1 I2; IADDI I2 I2 1; ILT I3 I2 I0; JUMPIF I3 L1; BOXI O1 I1; RETURN O1")
    code = m.f.code
    assert (code.n_o, code.n_i, code.n_f) == (2, 4, 0)


def test_range_bound_the_body_assigns_is_copied_once() -> None:
    m = compile_module(HEAD + """
@flow
async def f(n: int) -> int:
    for i in range(n):
        n = n - 1
    return n
""")
    assert oneline(m.f.code) == (
        "UNBOXI I0 O0; MOVEI I1 I0; LOADI I2 0; JUMP L2; "
        "IADDI I0 I0 -1; IADDI I2 I2 1; ILT I3 I2 I1; JUMPIF I3 L1; BOXI O1 I0; RETURN O1")


def test_loop_bound_that_the_body_does_not_assign_is_read_in_place() -> None:
    m = compile_module(HEAD + """
@flow
async def f(n: int) -> int:
    total: int = 0
    i: int = 0
    while i < n:
        total = total + i
        i = i + 1
    return total
""")
    assert oneline(m.f.code) == (
        "UNBOXI I0 O0; LOADI I1 0; LOADI I2 0; JUMP L2; IADD I1 I1 I2; IADDI I2 I2 1; "
        "ILT I3 I2 I0; JUMPIF I3 L1; BOXI O1 I1; RETURN O1")


def test_constant_operands_live_in_registers_loaded_once() -> None:
    m = compile_module(HEAD + """
@flow
async def f(x: float) -> float:
    y: float = 0.0
    while y < 100.0:
        y = y * 1.5 + x
    return y
""")
    code = m.f.code
    text = oneline(code)
    assert text.startswith("LOADKF F3 k1; LOADKF F4 k2; UNBOXF F0 O0; LOADKF F1 k0; JUMP L2; ")
    assert "FMUL F2 F1 F3; FADD F1 F2 F0; FLT I0 F1 F4; JUMPIF I0 L1" in text
    assert code.n_f == 5


def test_int_to_float_promotion() -> None:
    m = compile_module(HEAD + """
@flow
async def f(n: int, x: float) -> float:
    y: float = n
    y = y + n
    return n / 2 + x
""")
    text = oneline(m.f.code)
    assert "ITOF F1 I0" in text            # y: float = n
    assert "ITOF F2 I0; FADD F1 F1 F2" in text
    assert "IDIV F2 I0 I1" in text          # int / int is a float


def test_literal_next_to_float_is_a_float_constant() -> None:
    m = compile_module(HEAD + """
@flow
async def f(x: float) -> float:
    return 2 * x
""")
    text = oneline(m.f.code)
    assert "ITOF" not in text and "FMUL" in text


def test_big_int_constant_uses_loadki() -> None:
    m = compile_module(HEAD + """
@flow
async def f() -> int:
    x: int = 2 ** 100
    y: int = 12345678901234567890
    return x + y
""")
    text = oneline(m.f.code)
    assert "LOADKI" in text and "IPOW" in text
    assert 12345678901234567890 in m.f.code.consts


def test_implicit_return_none_and_no_return_after_return() -> None:
    m = compile_module(HEAD + """
@flow
async def f(n: int):
    print(n)

@flow
async def g(n: int) -> int:
    return n
""")
    assert oneline(m.f.code).endswith("PRINT O1 1; RETURNNONE")
    assert "RETURNNONE" not in oneline(m.g.code)


def test_narrowing_after_early_return() -> None:
    m = compile_module(HEAD + """
@flow
async def handle() -> int | DSError:
    data: bytes | DSError
    data = http_listen("POST", "/n")
    if not isinstance(data, bytes):
        return data
    return len(data)
""")
    text = oneline(m.handle.code)
    assert "ISINSTANCE I0 O0 k" in text and "JUMPIF I0 L1" in text
    assert "RETURN O0" in text              # the error goes back as is
    assert "LEN I0 O0" in text              # data is bytes after the if
    test = next(k for k in m.handle.code.consts if isinstance(k, TypeTest))
    assert str(test.type) == "bytes" and test.check(b"x") and not test.check(DSError("e"))


def test_select_cases_listen_timeout_and_detach_are_in_the_effect_descriptors() -> None:
    m = compile_module(HEAD + """
@flow
async def child(q: dpslio.Queue[int]):
    await q.put(1)

@flow
async def f(route: str, secs: float) -> str:
    q: dpslio.Queue[int] = dpslio.Queue[int]()
    dpslio.create_task(child(q), detach=True)
    dpslio.create_task(child(q), detach=False)
    r: bytes | DSError = http_listen("POST", route, timeout=secs * 2)
    out: str = ""
    match dpslio.select:
        case _ if body := await http_listen("PUT", route):
            out = str(body)
        case _ if await sleep(secs):
            out = "timeout"
        case _ if v := q.get():
            out = str(v)
    return out
""")
    p = m.f.program
    specs = [k for k in p.codes[p.entry].consts if isinstance(k, EffectSpec)]
    tasks = [k for k in specs if k.kind == "create_task"]
    assert [k.extra for k in tasks] == [(p.code_index("child"), True), (p.code_index("child"),)]
    listen = next(k for k in specs if k.kind == "http_listen")
    assert listen.nargs == 3
    select = next(k for k in specs if k.kind == "select")
    assert (select.nargs, select.extra) == (4, ("listen", "sleep", "queue"))
    # and they survive the program's serialization
    again = program_from_bytes(program_to_bytes(p))
    specs2 = [k for k in again.codes[again.entry].consts if isinstance(k, EffectSpec)]
    assert [(k.kind, k.nargs, k.extra) for k in specs2] == [(k.kind, k.nargs, k.extra) for k in specs]
    assert "create_task/1 child detach" in dis(p)


def test_effects_and_calls_carry_their_descriptors() -> None:
    m = compile_module(HEAD + """
@impure(retries=3, backoff=0.25, timeout=5.0)
def charge(n: int) -> str | DSError:
    return "ok"

@pure
def double(n: int) -> int:
    return 2 * n

@flow
async def child(q: dpslio.Queue[int]):
    await q.put(1)

@flow
async def f() -> int:
    q: dpslio.Queue[int] = dpslio.Queue[int](4)
    dpslio.create_task(child(q))
    r: str | DSError = await charge(double(2))
    sleep(1)
    return await q.get()
""")
    p = m.f.program
    consts = p.codes[0].consts
    effects = {k.kind: k for k in consts if isinstance(k, EffectSpec)}
    assert set(effects) == {"new_queue", "create_task", "impure", "sleep", "queue_get"}
    assert effects["new_queue"].extra == ("int",)
    assert effects["create_task"].extra == (p.code_index("child"),)
    assert effects["impure"].extra == (f"{m.__name__}:charge", 3, 0.25, 5.0, True)
    assert effects["impure"].fn is m.charge
    call = next(k for k in consts if isinstance(k, CallTarget))
    assert (call.kind, call.ref, call.nargs, call.fn) == ("pure", f"{m.__name__}:double", 1, m.double)
    assert "LOADKF" in oneline(p.codes[0]) or "BOXF" in oneline(p.codes[0])  # sleep(1) takes a float


def test_locals_and_positions() -> None:
    m = compile_module(HEAD + """
@flow
async def f(n: int) -> int:
    total: int = 0
    for i in range(n):
        total += i
    return total
""")
    code = m.f.code
    names = {(v.name, v.file, v.reg) for v in code.locals}
    assert {("n", "I", 0), ("total", "I", 1), ("i", "I", 2)} <= names
    for v in code.locals:
        assert 0 <= v.start_pc <= v.end_pc <= len(code.insns) // 4
    add = next(i for i in instructions(code) if i.opname == "IADD")
    assert (add.line, add.col) == (7, 9)   # `total += i`, 1-based column
    assert code.firstlineno == 3 and code.source.startswith("@flow")


def test_select_and_match_shapes() -> None:
    m = compile_module(HEAD + """
@flow
async def f(a: dpslio.Queue[int], b: dpslio.Queue[str]) -> int:
    match dpslio.select:
        case _ if v := await a.get():
            return v
        case _ if s := await b.get():
            match s:
                case "x" | "y":
                    return 1
                case _:
                    return len(s)
""")
    text = oneline(m.f.code)
    assert "EFFECT O" in text and "INDEXI" in text and "EQ I" in text
    assert any(k.kind == "select" and k.nargs == 2 for k in m.f.code.consts if isinstance(k, EffectSpec))


# -- programs, serialization, hashing -----------------------------------------------------

SRC = HEAD + """
from dataclasses import dataclass

@flow
async def main(n: int) -> int:
    p: Point = Point(n, "a")
    return helper(p) + later_flow(n)

@pure
def helper(p: "Point") -> int:
    return p.x

@flow
async def later_flow(n: int) -> int:
    return n * 2

@dataclass
class Point:
    x: int
    tag: str
"""


def test_names_defined_later_resolve_and_link() -> None:
    m = compile_module(SRC)
    p = m.main.program
    assert [c.name for c in p.codes] == ["main", "later_flow"]
    assert [t.name for t in p.types] == ["Point"] and p.types[0].cls is m.Point
    assert p.types[0].fields == [("x", INT), ("tag", STR)]
    dc = next(k for k in p.codes[0].consts if isinstance(k, CallTarget) and k.kind == "dataclass")
    assert dc.fn is m.Point


def test_serial_round_trip_and_link() -> None:
    m = compile_module(SRC, "_unit_serial_mod")
    p = m.main.program
    data = program_to_bytes(p)
    q = program_from_bytes(data)
    assert program_to_bytes(q) == data
    assert q.hash == p.hash
    assert all(isinstance(k, CallTarget) and k.fn is None for k in q.codes[0].consts if isinstance(k, CallTarget))
    link(q)
    pure_call = next(k for k in q.codes[0].consts if isinstance(k, CallTarget) and k.kind == "pure")
    assert pure_call.fn is m.helper
    assert q.types[0].cls is m.Point
    assert q.codes[0].insns == p.codes[0].insns and q.codes[0].positions == p.codes[0].positions
    assert [(v.name, v.type) for v in q.codes[0].locals] == [(v.name, v.type) for v in p.codes[0].locals]


def test_link_names_a_missing_ref() -> None:
    m = compile_module(SRC, "_unit_missing_mod")
    data = program_to_bytes(m.main.program).replace(b"_unit_missing_mod:helper", b"_unit_missing_mod:gone")
    q = program_from_bytes(data)
    with pytest.raises(LinkError, match="_unit_missing_mod:gone"):
        link(q)


def test_program_from_bad_bytes() -> None:
    with pytest.raises(ValueError, match="not a serialized program"):
        program_from_bytes(b"\x00garbage")
    with pytest.raises(ValueError, match="unsupported program format: got 99"):
        program_from_bytes(b'{"v": 99}')


def test_same_source_same_hash_changed_source_other_hash() -> None:
    a = compile_module(SRC, "_unit_hash_mod").main.program.hash
    b = compile_module(SRC, "_unit_hash_mod").main.program.hash
    c = compile_module(SRC.replace("n * 2", "n * 3"), "_unit_hash_mod").main.program.hash
    assert len(a) == 32 and a == b and a != c


def test_floats_and_big_ints_survive_serialization() -> None:
    m = compile_module(HEAD + """
@flow
async def f() -> float:
    x: float = 0.1 + -0.0
    y: int = 123456789012345678901234567890
    return x + 1e300 * 10.0
""", "_unit_float_mod")
    q = program_from_bytes(program_to_bytes(m.f.program))
    assert q.codes[0].consts == m.f.program.codes[0].consts


def test_str_literals_with_lone_surrogates_survive_serialization() -> None:
    # JSON text cannot carry a lone surrogate: such a literal once broke program_hash
    m = compile_module(HEAD + """
@flow
async def f() -> list[str]:
    return ["\\ud800", "a\\udcffb", "\\U0001f600", "plain"]
""", "_unit_surrogate_mod")
    data = program_to_bytes(m.f.program)
    q = program_from_bytes(data)
    assert q.codes[0].consts == m.f.program.codes[0].consts
    assert "\ud800" in q.codes[0].consts and q.hash == m.f.program.hash
    assert b'"plain"' in data and "\U0001f600".encode() in data    # other strs stay readable


# -- decorators and Flow --------------------------------------------------------------------


def test_flow_object() -> None:
    m = compile_module(SRC)
    assert isinstance(m.main, Flow) and m.main.name == "main" and m.main() is m.main
    with pytest.raises(TypeError, match="start it with spawn"):
        m.main(1)
    assert m.main.params == (("n", INT),)
    assert "flow main(n: int) -> int" in dis(m.main)


def test_pure_and_impure_stay_plain_functions() -> None:
    @pure
    def p(x: int) -> int:
        return x + 1

    @impure(retries=2, backoff=1.0, timeout=3.0)
    def q(x: int) -> int:
        return x

    assert p(1) == 2 and q(5) == 5
    assert q.__deepslate__ == {"kind": "impure", "retries": 2, "backoff": 1.0, "timeout": 3.0}
    with pytest.raises(ValueError, match="must not be negative"):
        impure(retries=-1)


def test_durable_builtins_refuse_plain_python() -> None:
    for call in (lambda: sleep(1.0), lambda: http_listen("GET", "/"), lambda: json_marshal(1),
                 lambda: json_unmarshal[list[int]](b"[]"), lambda: dpslio.create_task(None)):
        with pytest.raises(RuntimeError, match="only works inside an @flow"):
            call()


def test_flow_rejects_non_functions() -> None:
    with pytest.raises(TypeError, match="async def"):
        flow(42)  # type: ignore[arg-type]


def test_compile_error_collects_every_error() -> None:
    with pytest.raises(CompileError) as info:
        compile_module(HEAD + """
@flow
async def f(n: int) -> int:
    a: int = "x"
    b: str = 1
    return n
""")
    e = info.value
    assert [(x.lineno, x.offset) for x in e.errors] == [(5, 14), (6, 14)]
    text = str(e)
    assert ":5:14: cannot initialise a: expected int, got str" in text
    assert '    a: int = "x"\n' in text and "\n                 ^^^" in text
    assert "(1 more error in this module)" in text


def test_collect_errors_keeps_going() -> None:
    with collect_errors() as errors:
        m = compile_module(HEAD + """
@flow
async def bad() -> int:
    return "x"

@flow
async def worse():
    raise ValueError()
""")
    assert [e.lineno for e in errors] == [5, 9]
    with pytest.raises(CompileError):
        m.bad.program


def test_unicode_columns_are_characters() -> None:
    with pytest.raises(CompileError) as info:
        compile_module(HEAD + """
@flow
async def f() -> str:
    s: str = "ééé" + 1
    return s
""")
    assert info.value.offset == 14   # the str literal starts at character 14


def test_missing_flow_at_link_time() -> None:
    m = compile_module(HEAD + """
@flow
async def f() -> int:
    return g()

@flow
async def g() -> int:
    return 1

del g
""")
    with pytest.raises(RuntimeError, match="calls g, which is not defined"):
        m.f.program


# -- builtins ----------------------------------------------------------------------------------


def test_builtins() -> None:
    b = _builtins.BUILTINS
    assert b["str"](1.5) == "1.5" and b["int"]("7") == 7 and b["range"](1, 7, 2) == [1, 3, 5]
    with pytest.raises(ValueError):
        b["int"]("x")
    assert b["json_marshal"]({"a": [1, 2.5]}) == b'{"a":[1,2.5]}'
    assert b["json_unmarshal"](ListT(INT), b"[1,2]") == [1, 2]
    err = b["json_unmarshal"](ListT(INT), b'[1,"a"]')
    assert isinstance(err, DSError) and "$[1]: expected int, got str" in err.message
    assert isinstance(b["json_unmarshal"](ListT(FLOAT), b"[1,"), DSError)
    assert b["DSError"]("m", "k") == DSError("m", kind="k")

    @dataclasses.dataclass
    class P:
        x: int

    assert b["json_marshal"](P(3)) == b'{"x":3}'


def test_runs_on_the_vm() -> None:
    m = compile_module(HEAD + """
@flow
async def f(n: int) -> list[int]:
    out: list[int] = []
    for i in range(0, n, 3):
        out.append(i * i)
    for i, x in enumerate(out):
        out[i] = x + i
    return out
""")
    vm = vm_mod.VM(m.f.program, 0, (10,))
    spec, vals = vm.run()
    assert spec.kind == "return" and vals == ([0, 10, 38, 84],)


def test_calls_without_arguments_load_on_the_vm() -> None:
    # an empty argument window named the next free register, one past the frame's last when
    # nothing followed the call: the compiler's verifier let it through, the VM's loader not
    from deepslate.compiler.codegen import verify_program
    m = compile_module(HEAD + """
@impure
def rows() -> list[int]:
    return [1, 2]

@pure
def two() -> list[int]:
    return [1, 2]

@flow
async def g() -> list[int]:
    return [1, 2]

@flow
async def via_impure(n: int) -> int:
    total: int = 0
    for i in range(n):
        xs: list[int] = rows()
        total = total + len(xs)
    return total

@flow
async def via_pure(n: int) -> int:
    total: int = 0
    for i in range(n):
        xs: list[int] = two()
        total = total + len(xs)
    return total

@flow
async def via_flow(n: int) -> int:
    total: int = 0
    for i in range(n):
        xs: list[int] = await g()
        total = total + len(xs)
    return total
""")
    for f in (m.via_impure, m.via_pure, m.via_flow):
        assert verify_program(f.program) is None
        vm = vm_mod.VM(f.program, f.program.entry, (2,))
        spec, vals = vm.run()
        while spec.kind == "impure":
            assert vals == ()
            vm.resume([1, 2])
            spec, vals = vm.run()
        assert spec.kind == "return" and vals == (4,), f.name


def test_constant_defaults_of_pure_and_impure_functions() -> None:
    m = compile_module(HEAD + """
from dataclasses import dataclass

@dataclass
class Box:
    n: int
    tag: str = "t"

@pure
def scale(n: int, by: int = 10, note: str = "x") -> int:
    return n * by

@flow
async def f(n: int) -> int:
    b: Box = Box(n)
    return scale(b.n) + scale(n, 2) + scale(n, note="y") + later(n) + len(b.tag) - 1

@impure
def later(n: int, k: float = 0.5) -> int:
    return n
""")
    vm = vm_mod.VM(m.f.program, 0, (3,))
    spec, vals = vm.run()
    assert spec.kind == "impure" and vals == (3, 0.5)
    vm.resume(3)
    spec, vals = vm.run()
    assert spec.kind == "return" and vals == (30 + 6 + 30 + 3,)


def test_verify_catches_out_of_range_operands() -> None:
    from deepslate.compiler.codegen import verify
    m = compile_module(HEAD + """
@flow
async def f(n: int) -> int:
    while n > 0:
        n = n - 1
    return n
""")
    code = m.f.code
    assert verify(code) is None
    bad = dataclasses.replace(code, insns=code.insns[:])
    add = next(i for i in instructions(code) if i.opname == "IADDI")
    bad.insns[4 * add.offset + 1] = code.n_i
    assert verify(bad) == f"pc {add.offset} IADDI: I{code.n_i} outside I[0..{code.n_i})"
    jump = next(i for i in instructions(code) if i.opname == "JUMP")
    bad = dataclasses.replace(code, insns=code.insns[:])
    bad.insns[4 * jump.offset + 1] = 999
    assert "jump target 999 outside the code" in verify(bad)


def test_comprehensions_compile_to_loops() -> None:
    m = compile_module(HEAD + """
@flow
async def f(xs: list[int], d: dict[str, int]) -> list[int]:
    ys: list[int] = [x * 2 for x in xs if x > 1 if x < 5]
    zs: dict[str, float] = {k: d[k] / 2 for k in d}
    ws: list[str] = [f"{k}={v}" for k, v in enumerate(ys)]
    return ys + [len(zs), len(ws)] + [i for i in range(3)]
""")
    assert all("@" not in v.name for v in m.f.code.locals)
    vm = vm_mod.VM(m.f.program, 0, ([1, 2, 3, 4, 5], {"a": 1, "b": 2}))
    spec, vals = vm.run()
    assert spec.kind == "return" and vals == ([4, 6, 8, 2, 3, 0, 1, 2],)


def test_dataclass_met_in_the_ast_first_is_bound_to_its_class() -> None:
    m = compile_module(HEAD + """
from dataclasses import dataclass

@flow
async def first(p: Point) -> int:
    return p.x

@flow
async def second(p: Point) -> int:
    return p.x + first(p)

@dataclass
class Point:
    x: int
""")
    p = m.second.program
    assert p.codes[0].params[0][1].cls is m.Point
    assert all(c.params[0][1].cls is m.Point for c in p.codes)


def test_conditional_expression_keeps_the_temporaries_around_it() -> None:
    m = compile_module(HEAD + """
@flow
async def f(n: int, s: str) -> list[str]:
    return [s + "!", (f"{n}" + s) if n > 0 else s, "end"]
""")
    for n, want in ((1, ["a!", "1a", "end"]), (0, ["a!", "a", "end"])):
        vm = vm_mod.VM(m.f.program, 0, (n, "a"))
        assert vm.run()[1] == (want,)


def test_narrowed_loop_bound_and_match_subject_are_copied() -> None:
    m = compile_module(HEAD + """
@flow
async def f(r: int | DSError) -> int:
    if isinstance(r, DSError):
        return -1
    total: int = 0
    for i in range(r):
        k: int = i * 2
        total += k
    match r:
        case 1 | 2 | 4:
            total += 1000
    return total
""")
    for arg, want in ((4, 1012), (3, 6), (DSError("x"), -1)):
        vm = vm_mod.VM(m.f.program, 0, (arg,))
        assert vm.run()[1] == (want,)


def test_impure_policy_is_the_same_defined_before_or_after() -> None:
    m = compile_module(HEAD + """
@impure
def before(n: int) -> int:
    return n

@flow
async def f(n: int) -> int:
    return before(n) + after(n) + tuned(n)

@impure
def after(n: int) -> int:
    return n

@impure(retries=2, timeout=1.5)
def tuned(n: int) -> int:
    return n
""")
    specs = [k for k in m.f.code.consts if isinstance(k, EffectSpec)]
    assert [s.extra[1:] for s in specs] == [(0, 0.5, 0.0, False), (0, 0.5, 0.0, False), (2, 0.5, 1.5, False)]


def test_a_local_is_boxed_once_per_straight_line_statement() -> None:
    m = compile_module(HEAD + """
@flow
async def f(n: int) -> dict[int, int]:
    d: dict[int, int] = {}
    for i in range(n):
        k: int = i % 3
        if k in d:
            d[k] = d[k] + i
        else:
            d[k] = i
        d[k] = (d[k] + k) if k > 0 else d[k]
    return d
""")
    code = m.f.code
    lines = {}
    for ins in instructions(code):
        lines.setdefault(ins.line, []).append(ins.opname)
    assert lines[9].count("BOXI") == 2          # d[k] = d[k] + i: k once, the sum once
    vm = vm_mod.VM(m.f.program, 0, (10,))
    want: dict[int, int] = {}
    for i in range(10):
        k = i % 3
        want[k] = want[k] + i if k in want else i
        want[k] = (want[k] + k) if k > 0 else want[k]
    assert vm.run()[1] == (want,)


def test_dead_code_is_checked_but_stays_unreachable() -> None:
    m = compile_module(HEAD + """
@flow
async def f() -> int:
    while True:
        return 1
        break
""")
    # no "missing return" error; the dead break's jump still lands on an instruction
    assert oneline(m.f.code).count("RETURN ") == 1 and oneline(m.f.code).endswith("RETURNNONE")


def test_typing_annotations_and_aliases() -> None:
    m = compile_module(HEAD + """
import typing
from typing import Optional

Nums = list[int]

@flow
async def f(a: typing.Optional[int], b: Optional[str], c: typing.List[float], d: Nums) -> typing.Dict[str, int]:
    return {}
""")
    assert [str(t) for _, t in m.f.params] == ["int | None", "str | None", "list[float]", "list[int]"]
    assert str(m.f.returns) == "dict[str, int]"


def test_list_pop_and_dict_get_keys_values() -> None:
    m = compile_module(HEAD + """
@flow
async def f(xs: list[int], d: dict[str, int]) -> list[int]:
    last: int = xs.pop()
    first: int = xs.pop(0)
    a: int = d.get("a", -1) + d.get("zz", -1)
    b: int | None = d.get("zz")
    out: list[int] = [last, first, a, len(d.keys()), sum_of(d.values())]
    if b is None:
        out.append(99)
    return out + xs

@pure
def sum_of(xs: list[int]) -> int:
    return sum(xs)
""")
    vm = vm_mod.VM(m.f.program, 0, ([1, 2, 3, 4], {"a": 5, "b": 6}))
    assert vm.run()[1] == ([4, 1, 4, 2, 11, 99, 2, 3],)


def test_flow_with_parentheses() -> None:
    m = compile_module(HEAD + """
@flow()
async def f(n: int) -> int:
    return n
""")
    assert isinstance(m.f, Flow) and m.f.name == "f"


def test_module_constants_defined_below_the_flow() -> None:
    m = compile_module(HEAD + """
@flow
async def f(n: int) -> str:
    return f"{n * FACTOR}{SUFFIX}"

FACTOR = 3
SUFFIX: str = "!"
""")
    text = oneline(m.f.code)
    assert "IMUL" in text and any(k == "!" for k in m.f.code.consts)
    with pytest.raises(CompileError, match="TWICE is not defined"):
        compile_module(HEAD + """
@flow
async def g() -> int:
    return TWICE

TWICE = 1
TWICE = 2
""")


def test_an_unassigned_int_parameter_is_returned_as_its_argument_object() -> None:
    m = compile_module(HEAD + """
@flow
async def f(n: int, flag: bool) -> int | bool:
    if flag:
        return n
    return flag

@flow
async def g(n: int) -> int:
    n = n + 1
    return n
""")
    assert oneline(m.f.code) == "UNBOXI I0 O0; UNBOXI I1 O1; JUMPIFNOT I1 L1; RETURN O0; RETURN O1"
    assert oneline(m.g.code) == "UNBOXI I0 O0; IADDI I0 I0 1; BOXI O1 I0; RETURN O1"


def test_unannotated_flow_result_type_is_what_it_returns() -> None:
    m = compile_module(HEAD + """
@flow
async def handle():
    data: bytes | DSError
    data = http_listen("POST", "/numbers")
    if not isinstance(data, bytes):
        return data

@flow
async def always(n: int):
    if n > 0:
        return n
    return "neg"

@flow
async def user() -> int:
    x: int | str = always(1)
    if isinstance(x, int):
        return x
    return 0
""")
    assert str(m.handle.returns) == "DSError | None"
    assert str(m.always.returns) == "int | str"
    assert [c.name for c in m.user.program.codes] == ["user", "always"]


def test_int_float_comparisons_are_exact() -> None:
    m = compile_module(HEAD + """
@flow
async def f(x: float, n: int) -> list[bool]:
    big: int = 9223372036854775807 ** 6
    return [x < big, x == n, n < x, x < 3, x == 9007199254740993, 1.5 < 2 ** 53 + 1]
""")
    assert "FLT" in oneline(m.f.code)           # x < 3: an exact float constant
    vm = vm_mod.VM(m.f.program, 0, (9007199254740992.0, 2 ** 53 + 1))
    x, n = 9007199254740992.0, 2 ** 53 + 1
    want = [x < 9223372036854775807 ** 6, x == n, n < x, x < 3, x == 9007199254740993, 1.5 < 2 ** 53 + 1]
    assert vm.run()[1] == (want,)


def test_augmented_list_assignment_changes_the_list_in_place() -> None:
    m = compile_module(HEAD + """
@flow
async def f() -> list[list[int]]:
    a: list[int] = [1]
    b: list[int] = a
    b += [2]
    b *= 2
    d: dict[str, list[int]] = {"k": a}
    d["k"] += [3]
    s: str = "x"
    t: str = s
    t += "y"
    return [a, b, [len(s), len(t)]]
""")
    vm = vm_mod.VM(m.f.program, 0, ())
    assert vm.run()[1] == ([[1, 2, 1, 2, 3], [1, 2, 1, 2, 3], [1, 2]],)


def test_chained_comparison_evaluates_the_middle_once() -> None:
    m = compile_module(HEAD + """
@impure
def tick(n: int) -> int:
    return n

@flow
async def f(a: int) -> bool:
    return 0 < await tick(a) <= 10
""")
    vm = vm_mod.VM(m.f.program, 0, (5,))
    spec, args = vm.run()
    assert spec.kind == "impure" and args == (5,)
    vm.resume(5)
    spec, vals = vm.run()           # no second impure request: tick ran once
    assert spec.kind == "return" and vals == (True,)


def test_augmented_item_assignment_evaluates_container_and_index_once() -> None:
    m = compile_module(HEAD + """
@impure
def pick(n: int) -> int:
    return n

@flow
async def f(xs: list[int]) -> list[int]:
    xs[await pick(1)] += 10
    return xs
""")
    vm = vm_mod.VM(m.f.program, 0, ([1, 2, 3],))
    assert vm.run()[1] == (1,)
    vm.resume(1)
    spec, vals = vm.run()
    assert spec.kind == "return" and vals == ([1, 12, 3],)


def test_evaluation_order_follows_python() -> None:
    m = compile_module(HEAD + """
@impure
def tick(n: int) -> int:
    return n

@pure
def pair(a: int, b: int) -> int:
    return a * 10 + b

@flow
async def f(xs: list[int]) -> int:
    xs[await tick(0)] = await tick(1)
    return pair(b=await tick(2), a=await tick(3))
""")
    vm = vm_mod.VM(m.f.program, 0, ([5, 6],))
    seen = []
    spec, args = vm.run()
    while spec.kind == "impure":
        seen.append(args[0])
        vm.resume(args[0])
        spec, args = vm.run()
    assert seen == [1, 0, 2, 3]          # value before index; keywords in source order
    assert args == (32,)


def test_collecting_errors_across_flows_that_call_a_broken_one() -> None:
    with collect_errors() as errors:
        compile_module(HEAD + """
@flow
async def a(n: int) -> int:
    return "x"

@flow
async def b(n: int) -> int:
    return a(n) + 1

@flow
async def c() -> int:
    try:
        return 1
    except ValueError:
        return 2
""")
    assert [(e.lineno, e.msg.split(";")[0]) for e in errors] == [
        (5, "flow a returns int: expected int, got str"),
        (9, "flow a does not compile"),
        (13, "exceptions are not supported in flows"),
    ]


def test_tuple_literals_after_in_read_as_lists() -> None:
    m = compile_module(HEAD + """
@flow
async def f(s: str) -> int:
    n: int = 0
    for k in (1, 2, 3):
        if s in ("a", "b") and k not in (2,):
            n += k
    return n
""")
    assert vm_mod.VM(m.f.program, 0, ("a",)).run()[1] == (4,)
    assert vm_mod.VM(m.f.program, 0, ("z",)).run()[1] == (0,)


def test_isinstance_with_a_tuple_of_classes_narrows_to_their_union() -> None:
    m = compile_module(HEAD + """
@flow
async def f(x: int | str | DSError) -> str:
    if isinstance(x, (int, str)):
        y: int | str = x
        return f"ok {y}"
    return x.message
""")
    assert vm_mod.VM(m.f.program, 0, (3,)).run()[1] == ("ok 3",)
    assert vm_mod.VM(m.f.program, 0, ("s",)).run()[1] == ("ok s",)
    assert vm_mod.VM(m.f.program, 0, (DSError("bad"),)).run()[1] == ("bad",)
    q = program_from_bytes(program_to_bytes(m.f.program))
    link(q)
    test = next(k for k in q.codes[0].consts if isinstance(k, TypeTest))
    assert test.check(1) and test.check("a") and not test.check(DSError("e"))
    assert test.check(True)         # bool is a kind of int, as isinstance(True, int) says


def test_dead_code_after_the_last_return_still_ends_in_a_terminator():
    # the body's last statement is unreachable: its code must not be the end of the function
    import driver
    flows = driver.compile_source(
        "from deepslate import flow\n\n\n"
        "@flow\nasync def f(x: float) -> list[float]:\n    return [x, -x]\n    s: float = 0.0\n\n\n"
        "@flow\nasync def g(n: int) -> int:\n    while True:\n        return n\n        n = n + 1\n",
        "dead_tail.py")
    assert driver.run_flow(flows["f"], {"x": 1.5}) == [1.5, -1.5]
    assert driver.run_flow(flows["g"], {"n": 4}) == 4


def test_in_evaluates_its_left_operand_first():
    # as in Python: int(x) faults before the list on the right is built, even if that faults too
    import driver
    flows = driver.compile_source(
        "from deepslate import flow\n\n\n"
        "@flow\nasync def f(x: float, s: str) -> bool:\n    return int(x) in [1, int(s)]\n",
        "in_order.py")
    with pytest.raises(driver.FlowFault, match="OverflowError"):
        driver.run_flow(flows["f"], {"x": float("inf"), "s": "Z"})
    assert driver.run_flow(flows["f"], {"x": 2.5, "s": "2"}) is True
