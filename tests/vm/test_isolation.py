"""One isolate can never hurt another (DESIGN §2.8), at the VM's edge with user code.

- Any exception user code raises inside ``run()``, ``BaseException``s included (``SystemExit``,
  ``KeyboardInterrupt``, ``GeneratorExit``, ``asyncio.CancelledError``), faults that isolate
  with the flow's file and line: it never escapes ``run()``.
- A ``@pure`` function's result is copied as it enters the flow (by the same rules as a
  snapshot round trip), so flows do not share objects through a module's state, and a flow
  computes the same whether or not it was resumed from a snapshot. A result the snapshot
  codec could not hold faults at the call, naming the function.

Everything runs through real compiled flows on the VM directly.
"""
from __future__ import annotations

import asyncio
import dataclasses
import itertools
import re
import types

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import driver
from deepslate.program.model import FAULT, RETURN
from deepslate._values import DSError, Lock, Queue, WaitGroup
from deepslate._vm import VM, MAX_NESTING, VMError, decode_snapshot, decode_value, encode_snapshot, \
    encode_value
from snapshot.snapshot_support import assert_same

_N = itertools.count()


def compile_module(source: str) -> tuple[dict, str]:
    """The flows of ``source`` by name, and the file name faults will carry."""
    filename = f"isolation_{next(_N)}.py"
    return driver.compile_source(source, filename), filename


def line_of(source: str, marker: str) -> int:
    hits = [n for n, text in enumerate(source.splitlines(), 1) if text.rstrip().endswith(f"#@{marker}")]
    assert len(hits) == 1, marker
    return hits[0]


def start(flow, *args) -> VM:
    p = flow.program
    return VM(p, p.entry, args)


def _module_dict(flow) -> dict:
    """The module namespace the flow's source was executed in."""
    for code in flow.program.codes:
        for k in code.consts:
            fn = getattr(k, "fn", None)
            if isinstance(fn, types.FunctionType):
                return fn.__globals__
    raise AssertionError("no linked Python function in the program")


# -- BaseException from user code ----------------------------------------------------------

RAISING = '''
import asyncio
from dataclasses import dataclass
from deepslate import flow, pure


class Boom(BaseException):
    pass


RAISE: list = [None]


@pure
def explode(x: int) -> int:
    raise RAISE[0]


@dataclass
class Guard:
    n: int

    def __post_init__(self) -> None:
        if self.n < 0:
            raise RAISE[0]


@flow
async def inner(x: int) -> int:
    y: int = x + 1
    return explode(y)  #@call


@flow
async def outer(x: int) -> int:
    r: int = await inner(x)  #@outer
    return r + 1


@flow
async def build(n: int) -> int:
    g: Guard = Guard(n)  #@build
    return g.n
'''


def _base_exceptions(mod: dict) -> list[BaseException]:
    return [SystemExit(3), KeyboardInterrupt(), GeneratorExit(), asyncio.CancelledError(),
            mod["Boom"]("user-made")]


@pytest.mark.parametrize("which", ["SystemExit", "KeyboardInterrupt", "GeneratorExit", "CancelledError", "Boom"])
def test_a_base_exception_from_a_pure_faults_the_isolate(which: str) -> None:
    flows, filename = compile_module(RAISING)
    mod = _module_dict(flows["outer"])
    exc = next(e for e in _base_exceptions(mod) if type(e).__name__ == which)
    mod["RAISE"][0] = exc
    vm = start(flows["outer"], 1)
    spec, (fault,) = vm.run()          # before the fix: the exception escapes run()
    assert spec is FAULT
    assert vm.faulted and not vm.done
    assert fault.exc_type == which
    assert fault.message.startswith(which)
    assert [f[0] for f in fault.frames] == ["outer", "inner"]
    assert fault.frames[-1][1] == filename and fault.frames[-1][2] == line_of(RAISING, "call")
    assert fault.frames[0][2] == line_of(RAISING, "outer")
    with pytest.raises(VMError, match="the flow faulted"):
        vm.run()
    with pytest.raises(VMError, match="cannot export the state"):
        vm.export_state()


@pytest.mark.parametrize("which", ["SystemExit", "KeyboardInterrupt", "GeneratorExit", "CancelledError", "Boom"])
def test_a_base_exception_from_a_dataclass_method_faults_the_isolate(which: str) -> None:
    flows, filename = compile_module(RAISING)
    mod = _module_dict(flows["outer"])
    mod["RAISE"][0] = next(e for e in _base_exceptions(mod) if type(e).__name__ == which)
    vm = start(flows["build"], -1)
    spec, (fault,) = vm.run()
    assert spec is FAULT and vm.faulted
    assert fault.exc_type == which
    assert fault.frames == [("build", filename, line_of(RAISING, "build"), fault.frames[0][3])]
    # the same program still runs in another isolate
    assert start(flows["build"], 4).run() == (RETURN, (4,))


def test_an_exception_whose_str_raises_still_faults() -> None:
    flows, _ = compile_module(RAISING)
    mod = _module_dict(flows["outer"])

    class Unprintable(ValueError):
        def __str__(self) -> str:         # before the fix: this escapes run() while the fault is built
            raise KeyboardInterrupt

    mod["RAISE"][0] = Unprintable()
    vm = start(flows["outer"], 1)
    spec, (fault,) = vm.run()
    assert spec is FAULT and vm.faulted
    assert fault.exc_type == "Unprintable"
    assert fault.message.startswith("Unprintable")


# -- @pure results are copies --------------------------------------------------------------

SHARING = '''
from dataclasses import dataclass
from deepslate import flow, pure, sleep


SHARED: list[int] = [1, 2, 3]


@pure
def shared() -> list[int]:
    return SHARED


@pure
def count(xs: list[int]) -> int:
    return len(xs)


@flow
async def grow(n: int) -> list[int]:
    xs: list[int] = shared()
    xs.append(n)
    return xs


@flow
async def twice(n: int) -> int:
    a: list[int] = shared()
    sleep(0.0)
    b: list[int] = shared()
    a.append(n)
    return len(b)
'''


def test_flows_calling_a_pure_do_not_share_its_result() -> None:
    flows, _ = compile_module(SHARING)
    mod = _module_dict(flows["grow"])
    original = mod["SHARED"]
    one, two = start(flows["grow"], 10), start(flows["grow"], 20)
    (_, (r1,)), (_, (r2,)) = one.run(), two.run()
    assert r1 == [1, 2, 3, 10]
    assert r2 == [1, 2, 3, 20]
    assert mod["SHARED"] is original and original == [1, 2, 3]
    assert r1 is not original and r2 is not original


def _run_with_sleep(flow, args, restore: bool):
    vm = start(flow, *args)
    spec, _ = vm.run()
    assert spec.kind == "sleep"
    if restore:
        p = flow.program
        vm = VM.from_state(p, decode_snapshot(encode_snapshot(p.hash, vm.export_state()), p))
    vm.resume(None)
    return vm.run()


def test_a_pure_result_behaves_the_same_with_or_without_a_restore() -> None:
    flows, _ = compile_module(SHARING)
    straight = _run_with_sleep(flows["twice"], (7,), restore=False)
    restored = _run_with_sleep(flows["twice"], (7,), restore=True)
    assert straight == restored == (RETURN, (3,))    # before the fix: 4 straight (a and b alias), 3 restored
    assert _module_dict(flows["twice"])["SHARED"] == [1, 2, 3]


NESTED = '''
from __future__ import annotations

from dataclasses import dataclass
from deepslate import flow, pure


@dataclass
class Box:
    items: list[int]
    other: list[int]
    tags: dict[str, list[int]]


@dataclass
class Node:
    name: str
    kids: list[Node]


INNER: list[int] = [1, 2]
BOX: Box = Box(INNER, INNER, {"a": INNER, "b": [9]})
BOXES: list[Box] = [BOX, BOX, Box([], [], {})]
ROOT: Node = Node("root", [])
ROOT.kids.append(ROOT)
ROOT.kids.append(Node("leaf", [ROOT]))


@pure
def boxes() -> list[Box]:
    return BOXES


@pure
def tree() -> Node:
    return ROOT


@flow
async def poke() -> list[Box]:
    bs: list[Box] = boxes()
    bs[0].items.append(3)
    bs[2].tags["new"] = [4]
    return bs


@flow
async def walk() -> Node:
    n: Node = tree()
    n.name = "mine"
    return n
'''


def _no_shared_mutables(a, b, seen=None) -> None:
    """No list, dict or dataclass instance reachable from a is reachable from b."""
    def mutables(v, acc):
        if type(v) in (list, dict) or dataclasses.is_dataclass(v) and not isinstance(v, type):
            if id(v) in acc:
                return
            acc[id(v)] = v
        if type(v) in (list, tuple):
            for x in v:
                mutables(x, acc)
        elif type(v) is dict:
            for k, x in v.items():
                mutables(k, acc)
                mutables(x, acc)
        elif dataclasses.is_dataclass(v) and not isinstance(v, type):
            for f in dataclasses.fields(v):
                mutables(getattr(v, f.name), acc)
    ma, mb = {}, {}
    mutables(a, ma)
    mutables(b, mb)
    assert not set(ma) & set(mb)


def test_a_nested_result_is_a_deep_copy_with_its_aliasing() -> None:
    flows, _ = compile_module(NESTED)
    mod = _module_dict(flows["poke"])
    p = flows["poke"].program
    before = decode_value(encode_value(mod["BOXES"]), p)
    spec, (bs,) = start(flows["poke"]).run()
    assert spec is RETURN
    _no_shared_mutables(bs, mod["BOXES"])
    # the module's value is untouched, the copy has the flow's writes and the same sharing
    assert_same(mod["BOXES"], before)
    assert bs[0] is bs[1]
    assert bs[0].items is bs[0].other is bs[0].tags["a"]
    assert bs[0].items == [1, 2, 3]
    assert bs[2].tags == {"new": [4]}
    expected = decode_value(encode_value(mod["BOXES"]), p)
    expected[0].items.append(3)
    expected[2].tags["new"] = [4]
    assert_same(bs, expected)


def test_a_cyclic_result_is_copied_with_its_cycles() -> None:
    flows, _ = compile_module(NESTED)
    mod = _module_dict(flows["walk"])
    spec, (n,) = start(flows["walk"]).run()
    assert spec is RETURN
    assert n is not mod["ROOT"] and mod["ROOT"].name == "root"
    assert n.name == "mine" and n.kids[0] is n and n.kids[1].kids[0] is n
    _no_shared_mutables(n, mod["ROOT"])
    assert_same(n, decode_value(encode_value(n), flows["walk"].program))


FRESH = '''
from deepslate import flow, pure


SHARED: list[int] = [1]
MADE: list = []


@pure
def fresh(n: int) -> list[list[int]]:
    r = [[n], [n, n], []]
    MADE.append(id(r))            # the id only: no reference stays behind
    return r


@pure
def wraps_shared() -> list[list[int]]:
    return [SHARED, [2]]


@pure
def fresh_deep(n: int) -> list[int]:
    r: list = []
    for _ in range(n):
        r = [r]
    return r


@flow
async def use_fresh(n: int) -> list[list[int]]:
    return fresh(n)


@flow
async def use_wrapped() -> list[list[int]]:
    xs: list[list[int]] = wraps_shared()
    xs[0].append(5)
    return xs


@flow
async def use_deep(n: int) -> int:
    return len(fresh_deep(n))  #@deep
'''


def test_a_fresh_part_does_not_hide_a_shared_one() -> None:
    # the result is new, but it holds the module's list: copied all the same
    flows, _ = compile_module(FRESH)
    spec, (xs,) = start(flows["use_wrapped"]).run()
    assert spec is RETURN and xs == [[1, 5], [2]]
    assert _module_dict(flows["use_wrapped"])["SHARED"] == [1]


def test_a_result_nobody_else_holds_is_not_copied() -> None:
    # a guard of the fast path (also true before the copy existed): a list, dict or tuple
    # that only the call's reference reaches, made of plain values, is its own copy
    flows, _ = compile_module(FRESH)
    made = _module_dict(flows["use_fresh"])["MADE"]
    spec, (xs,) = start(flows["use_fresh"], 4).run()
    assert spec is RETURN and xs == [[4], [4, 4], []]
    assert id(xs) == made[-1]


@pytest.mark.parametrize("depth, ok", [(MAX_NESTING, True), (MAX_NESTING + 1, False)])
def test_a_fresh_result_nested_too_deep_faults(depth: int, ok: bool) -> None:
    flows, filename = compile_module(FRESH)
    spec, (value,) = start(flows["use_deep"], depth - 1).run()    # depth - 1 wrappers + the innermost list
    if ok:
        assert spec is RETURN and value == 1
        return
    assert spec is FAULT and value.exc_type == "TypeError"
    assert re.fullmatch(rf"TypeError: @pure _compiled_source_\d+\.fresh_deep returned a value a flow cannot hold: "
                        rf"a value nested deeper than {MAX_NESTING} containers \(declared list\[int\]\)",
                        value.message), value.message
    assert value.frames[-1][1:3] == (filename, line_of(FRESH, "deep"))


# -- results a flow cannot hold -------------------------------------------------------------

UNHOLDABLE = '''
import enum
from dataclasses import dataclass
from deepslate import flow, pure


class Thing:
    pass


class Colour(enum.IntEnum):
    RED = 1


@dataclass
class Pair:
    left: list[int]
    right: list[int]


RESULT: list = [None]


@pure
def numbers() -> list[int]:
    return RESULT[0]


@pure
def pair() -> Pair:
    return RESULT[0]


@flow
async def use() -> int:
    xs: list[int] = numbers()  #@numbers
    return len(xs)


@flow
async def use_pair() -> int:
    p: Pair = pair()  #@pair
    return len(p.left)
'''


def _cycle_around(bad) -> list:
    x: list = []
    x.append(x)
    x.append(bad)
    return x


@pytest.mark.parametrize("value, shown", [
    (lambda m: {1, 2}, r"set"),
    (lambda m: m["Thing"](), r"_compiled_source_\d+\.Thing"),
    (lambda m: [1, frozenset()], r"frozenset at \[1\]"),
    (lambda m: [1, {"k": [m["Colour"].RED]}], r"_compiled_source_\d+\.Colour at \[1\]\['k'\]\[0\]"),
    (lambda m: [object], r"type at \[0\]"),
    (lambda m: _cycle_around({3}), r"set at \[1\]"),
])
def test_an_unholdable_result_faults_naming_the_function(value, shown: str) -> None:
    flows, filename = compile_module(UNHOLDABLE)
    mod = _module_dict(flows["use"])
    mod["RESULT"][0] = value(mod)
    vm = start(flows["use"])
    spec, (fault,) = vm.run()          # before the fix: the flow returns (the codec fails at the next snapshot)
    assert spec is FAULT
    assert fault.exc_type == "TypeError"
    assert re.fullmatch(rf"TypeError: @pure _compiled_source_\d+\.numbers returned a value a flow cannot hold: "
                        rf"{shown} \(declared list\[int\]\)", fault.message), fault.message
    assert fault.frames[-1][1:3] == (filename, line_of(UNHOLDABLE, "numbers"))


def test_an_unholdable_field_of_a_dataclass_result_is_named() -> None:
    flows, filename = compile_module(UNHOLDABLE)
    mod = _module_dict(flows["use_pair"])
    mod["RESULT"][0] = mod["Pair"]([1], {2})
    spec, (fault,) = start(flows["use_pair"]).run()
    assert spec is FAULT
    assert re.fullmatch(r"TypeError: @pure _compiled_source_\d+\.pair returned a value a flow cannot hold: "
                        r"set at \.right \(declared Pair\)", fault.message), fault.message
    assert fault.frames[-1][1:3] == (filename, line_of(UNHOLDABLE, "pair"))


def test_a_result_nested_too_deep_faults_naming_the_function() -> None:
    flows, _ = compile_module(UNHOLDABLE)
    mod = _module_dict(flows["use"])
    deep: list = []
    for _ in range(MAX_NESTING + 5):
        deep = [deep]
    mod["RESULT"][0] = deep
    spec, (fault,) = start(flows["use"]).run()
    assert spec is FAULT and fault.exc_type == "TypeError"
    assert "numbers returned a value a flow cannot hold" in fault.message
    assert f"nested deeper than {MAX_NESTING}" in fault.message


# -- the copy agrees with a snapshot round trip ---------------------------------------------

ANY = '''
from deepslate import flow, pure

HOLD: list = [None]


@pure
def give() -> list[int]:
    return HOLD[0]


@flow
async def take() -> list[int]:
    return give()
'''


@dataclasses.dataclass
class Cell:
    a: object
    b: object


@dataclasses.dataclass(frozen=True)
class Frozen:
    x: object


_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=2**63), st.floats(allow_nan=True),
    st.text(max_size=5), st.binary(max_size=5),
    st.builds(DSError, st.text(max_size=3), st.sampled_from(["error", "timeout"])),
    st.builds(DSError, st.text(max_size=3), st.sampled_from(["http", "timeout"]), st.integers(-2**63, 2**63 - 1)),
    st.builds(Queue, st.integers(0, 99)), st.builds(Lock, st.integers(0, 99)),
    st.builds(WaitGroup, st.integers(0, 99)),
)


@st.composite
def _graphs(draw):
    """A value tree whose mutable nodes may appear more than once (and in cycles)."""
    pool: list = []

    def node(depth: int):
        choice = draw(st.integers(0, 7 if depth < 4 else 0))
        if choice == 0 or choice == 1:
            return draw(_SCALARS)
        if choice == 2 and pool:
            return draw(st.sampled_from(pool))        # an alias, possibly an ancestor (a cycle)
        if choice == 3:
            v: list = []
            pool.append(v)
            v.extend(node(depth + 1) for _ in range(draw(st.integers(0, 3))))
            return v
        if choice == 4:
            d: dict = {}
            pool.append(d)
            for _ in range(draw(st.integers(0, 3))):
                d[draw(st.one_of(st.text(max_size=3), st.integers(), st.tuples(st.integers())))] = node(depth + 1)
            return d
        if choice == 5:
            return tuple(node(depth + 1) for _ in range(draw(st.integers(0, 3))))
        if choice == 6:
            c = Cell(None, None)
            pool.append(c)
            c.a, c.b = node(depth + 1), node(depth + 1)
            return c
        fz = Frozen(node(depth + 1))
        pool.append(fz)
        return fz
    return node(0)


_ANY_FLOWS: dict = {}


def _any_flow():
    if not _ANY_FLOWS:
        _ANY_FLOWS.update(compile_module(ANY)[0])
    return _ANY_FLOWS["take"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_graphs())
def test_the_copy_is_a_snapshot_round_trip(value) -> None:
    flow = _any_flow()
    _module_dict(flow)["HOLD"][0] = value
    spec, (got,) = start(flow).run()
    assert spec is RETURN
    assert_same(got, decode_value(encode_value(value), flow.program))
    _no_shared_mutables(got, value)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_graphs(), st.sampled_from([set(), bytearray(b"x"), 1j, Cell]))
def test_the_copy_refuses_what_the_codec_refuses(value, bad) -> None:
    flow = _any_flow()
    holder = [value, bad]
    _module_dict(flow)["HOLD"][0] = holder
    with pytest.raises(TypeError):
        encode_value(holder)
    spec, (fault,) = start(flow).run()
    assert spec is FAULT and fault.exc_type == "TypeError"
    assert "cannot hold" in fault.message and "at [1]" in fault.message


def test_scalar_results_are_not_copied() -> None:
    # immutable results pass through as they are (no cost on the common path)
    flow = _any_flow()
    for v in (None, True, 7, 2**80, 1.5, "s", b"b"):
        _module_dict(flow)["HOLD"][0] = v
        spec, (got,) = start(flow).run()
        assert spec is RETURN and got is v


def test_the_log_kept_between_durable_points_is_bounded() -> None:
    # a flow printing without bound between two durable points held every line in memory
    # (a MemoryError in take_log at the nightly size); past MAX_LOG_LINES lines are counted
    from deepslate._vm import MAX_LOG_LINES
    flows, _ = compile_module("""
from deepslate import flow, sleep

@flow
async def chatty(n: int) -> int:
    for i in range(n):
        print(i)
    sleep(0.0)
    for i in range(3):
        print("after", i)
    return n
""")
    vm = start(flows["chatty"], MAX_LOG_LINES + 5)
    spec, _ = vm.run(50_000)
    while spec.kind == "yield":                     # preempted: the lines stay in the VM
        spec, _ = vm.run(50_000)
    assert spec.kind == "sleep"
    log = vm.take_log()
    assert len(log) == MAX_LOG_LINES + 1 and log[:2] == ["0", "1"]
    assert log[-1] == (f"... 5 more lines printed here were not kept "
                       f"(at most {MAX_LOG_LINES} between two durable points)")
    vm.resume(None)
    spec, _ = vm.run()
    assert spec is RETURN and vm.take_log() == ["after 0", "after 1", "after 2"]   # the count starts again
