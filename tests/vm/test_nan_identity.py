"""A NaN keeps its object identity through the F registers, as in CPython.

CPython compares containers identity first (``x in xs``, ``[x] == xs``, a dataclass's
``==``, ``list.index``), so with a NaN, which float object a variable names is
visible. Each flow here runs on the VM and as plain Python (tests/driver.py's shim),
and both must give the same answers; CPython's own answer is pinned too, so a test
cannot pass with both sides wrong. Then: the same through flow calls, through a
snapshot round trip at a durable point, and the VM's table of NaN objects staying
small however many NaNs a loop makes.
"""
from __future__ import annotations

import itertools
import sys
import tracemalloc
import types

import pytest

import driver
from deepslate._vm import VM, decode_snapshot, encode_snapshot

SOURCE = '''
import struct
from dataclasses import dataclass

from deepslate import flow, pure, sleep

NAN = float("nan")


@dataclass
class D:
    x: float


@dataclass
class Pair:
    x: float
    label: str


@pure
def index_of(xs: list[float], x: float) -> int:
    return xs.index(x)


@pure
def count_of(xs: list[float], x: float) -> int:
    return xs.count(x)


@pure
def bits(x: float) -> str:
    return struct.pack("<d", x).hex()


@pure
def payload_nan() -> float:
    return struct.unpack("<d", bytes.fromhex("efbe000000f8ff7f"))[0]


@flow
async def nan_bits() -> list[str]:
    inf: float = float("inf")
    p: float = payload_nan()
    m: float = inf - inf
    n: float = -p
    return [bits(p), bits(n), bits(-n), bits(m), bits(-m), bits(p + 1.0), bits(1.0 + p), bits(p * m),
            bits(m * p), bits(m - p), bits(p / 2.0), bits(p // 2.0), bits(p % 2.0), bits(p ** 1.0),
            bits(inf * 0.0), bits(inf % 2.0), bits(inf // 2.0), bits(m ** 0.0)]


@flow
async def five() -> list[bool]:
    nan: float = float("nan")
    xs: list[float] = [nan]
    y: float = xs[0]
    return [xs[0] in xs, [xs[0]] == xs, y in xs, nan in xs, [y] == xs]


@flow
async def dataclasses_eq() -> list[bool]:
    n: float = float("nan")
    a: D = D(n)
    b: D = D(n)
    m: float = float("nan")
    c: D = D(m)
    p: Pair = Pair(n, "p")
    q: Pair = Pair(a.x, "p")
    return [a == b, a == c, p == q, a.x in [n], b == D(a.x)]


@flow
async def computed() -> list[bool]:
    inf: float = float("inf")
    a: float = inf - inf
    b: float = inf - inf
    c: float = inf * 0.0
    return [[a] == [b], a in [b], [a] == [a], a in [a], c in [c], c in [a, b]]


@flow
async def new_objects() -> list[bool]:
    x: float = float("nan")
    xs: list[float] = [x]
    neg: float = -x
    plus: float = x + 1.0
    y: float = x
    return [neg in xs, (-x) in xs, plus in xs, (x + 1.0) in xs, (x * 2.0) in xs, (x - 0.0) in xs,
            (x / 1.0) in xs, (x // 1.0) in xs, (x % 1.0) in xs, (x ** 1.0) in xs, (1.0 + x) in xs,
            neg in [neg], plus in [plus], y in xs, -(-x) in xs]


@flow
async def echo(x: float) -> float:
    return x


@flow
async def hold(x: float) -> float:
    y: float = x
    z: float = y
    return z


@flow
async def wrap(x: float) -> list[float]:
    return [x, x]


@flow
async def negate(x: float) -> float:
    return -x


@flow
async def calls() -> list[bool]:
    nan: float = float("nan")
    xs: list[float] = [nan]
    a: float = echo(nan)
    b: float = hold(xs[0])
    w: list[float] = wrap(b)
    return [a in xs, b in xs, [a] == xs, w[0] in xs, w == [nan, nan], negate(nan) in xs,
            echo(negate(a)) in xs]


@flow
async def dicts() -> list[bool]:
    nan: float = float("nan")
    d: dict[str, float] = {"a": nan, "b": 1.0}
    y: float = d["a"]
    e: dict[str, float] = {"a": y, "b": 1.0}
    z: float | None = d.get("a")
    return [y in d.values(), d == e, nan in d.values(), d == {"a": nan, "b": 1.0},
            z is not None and z in [nan], d == {"a": float("nan"), "b": 1.0}]


@flow
async def index_and_count() -> list[int]:
    nan: float = float("nan")
    xs: list[float] = [1.0, nan, 2.0, nan, float("nan")]
    y: float = xs[1]
    return [index_of(xs, y), count_of(xs, y), index_of(xs, xs[4]), count_of(xs, xs[4])]


@flow
async def constants() -> list[bool]:
    a: float = NAN
    b: float = NAN
    xs: list[float] = [NAN]
    return [[a] == [b], a in xs, b in xs]


@flow
async def across_sleep() -> list[bool]:
    nan: float = float("nan")
    xs: list[float] = [nan, 1.0]
    y: float = xs[0]
    inf: float = float("inf")
    other: float = inf - inf
    copy: float = other
    d: D = D(other)
    sleep(1.0)
    return [y in xs, [y] == [xs[0]], nan in xs, other in xs, other in [copy], d == D(copy),
            d.x in [other], [xs[0]] == [y]]


@flow
async def inner(xs: list[float]) -> bool:
    y: float = xs[0]
    sleep(1.0)
    return y in xs


@flow
async def across_frames() -> list[bool]:
    nan: float = float("nan")
    xs: list[float] = [nan]
    keep: float = nan
    r: bool = inner(xs)
    sleep(1.0)
    return [r, keep in xs, inner(xs), keep in [nan]]


@flow
async def many(n: int) -> list[bool]:
    inf: float = float("inf")
    keep: float = inf - inf
    ks: list[float] = [keep]
    x: float = 0.0
    for i in range(n):
        x = inf - inf
    sleep(1.0)
    return [keep in ks, x in ks, x in [x]]
'''

_N = itertools.count()


@pytest.fixture(scope="module")
def flows() -> dict:
    return driver.compile_source(SOURCE, "nan_identity.py")


def run_vm(flows: dict, name: str, *args, restore: str | None = None):
    """The flow's result on the VM; at every sleep the VM is replaced by one restored
    from its state tuple (``restore="state"``) or from snapshot bytes (``"bytes"``)."""
    program = flows[name].program
    vm = VM(program, program.entry, args)
    while True:
        spec, res = vm.run()
        if spec.kind == "return":
            return res[0]
        assert spec.kind in ("sleep", "yield"), (spec.kind, res)
        if spec.kind == "yield":
            continue
        if restore == "state":
            vm = VM.from_state(program, vm.export_state())
        elif restore == "bytes":
            vm = VM.from_state(program, decode_snapshot(encode_snapshot(program.hash, vm.export_state()), program))
        vm.resume(None)


def run_cpython(name: str, *args):
    src = SOURCE.replace("from deepslate import ", "from _deepslate_cpython import ")
    sys.modules["_deepslate_cpython"] = driver.CPYTHON_SHIM
    modname = f"_nan_identity_cpython_{next(_N)}"
    mod = types.ModuleType(modname)
    sys.modules[modname] = mod              # dataclasses look their module up
    try:
        exec(compile(src, "nan_identity.py", "exec", dont_inherit=True), mod.__dict__)  # noqa: S102
        return getattr(mod, name)(*args)
    finally:
        sys.modules.pop(modname, None)


@pytest.mark.parametrize("name, expected", [
    ("five", [True] * 5),
    ("dataclasses_eq", [True, False, True, True, True]),
    ("computed", [False, False, True, True, True, False]),
    ("new_objects", [False] * 11 + [True, True, True, False]),
    ("calls", [True, True, True, True, True, False, False]),
    ("dicts", [True, True, True, True, True, False]),
    ("index_and_count", [1, 2, 4, 1]),
    ("constants", [True, True, True]),
])
def test_the_vm_agrees_with_cpython(flows, name, expected):
    assert run_cpython(name) == expected
    assert run_vm(flows, name) == expected


def test_a_nan_result_has_cpythons_bits_not_an_operands_tag(flows):
    # x86 carries an operand's NaN payload into the result: a tag must never be carried
    want = run_cpython("nan_bits")
    assert want[0] == want[5] == want[6] == "efbe000000f8ff7f"
    assert run_vm(flows, "nan_bits") == want


@pytest.mark.parametrize("restore", [None, "state", "bytes"])
@pytest.mark.parametrize("name, expected", [
    ("across_sleep", [True, True, True, False, True, True, True, True]),
    ("across_frames", [True, True, True, True]),
])
def test_identity_survives_a_restore_at_a_durable_point(flows, name, expected, restore):
    assert run_cpython(name) == expected
    assert run_vm(flows, name, restore=restore) == expected


def _pending_at_sleep(flows: dict, name: str, *args) -> VM:
    program = flows[name].program
    vm = VM(program, program.entry, args)
    spec, _ = vm.run()
    assert spec.kind == "sleep"
    return vm


def test_state_and_frames_view_hand_out_the_registers_objects(flows):
    vm = _pending_at_sleep(flows, "across_sleep")
    frames, _pending, _steps = vm.export_state()
    _ci, _pc, O, _I, F = frames[0]
    xs = next(v for v in O if type(v) is list and len(v) == 2)
    assert any(f is xs[0] for f in F)
    local = vm.frames_view()[0]["locals"]
    assert local["y"] is local["xs"][0] is local["nan"] is xs[0]
    assert local["other"] is local["copy"] is local["d"].x
    assert local["other"] is not local["y"]


def test_snapshot_bytes_keep_one_object_for_registers_and_containers(flows):
    # pending in inner(xs): its y and the caller's nan and keep name the NaN in xs
    program = flows["across_frames"].program
    data = encode_snapshot(program.hash, _pending_at_sleep(flows, "across_frames").export_state())
    frames, _, _ = decode_snapshot(data, program)
    (_, _, O0, _, F0), (_, _, O1, _, F1) = frames
    xs = next(v for v in O0 if type(v) is list)
    assert O1[0] is xs                          # the callee's argument, as ever
    nans = [f for f in F0 + F1 if f != f]
    assert len(nans) >= 3 and all(f is xs[0] for f in nans)


def test_a_restored_vm_keeps_the_objects_it_was_given(flows):
    vm = _pending_at_sleep(flows, "across_sleep")
    state = vm.export_state()
    again = VM.from_state(flows["across_sleep"].program, state).export_state()
    for (_, _, _, _, F), (_, _, _, _, F2) in zip(state[0], again[0]):
        assert all(a is b for a, b in zip(F, F2) if a != a)


def test_the_nan_table_stays_small(flows):
    n = 200_000
    program = flows["many"].program
    vm = VM(program, program.entry, (n,))
    tracemalloc.start()
    try:
        spec, _ = vm.run(1 << 62)               # the whole loop in one run
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert spec.kind == "sleep"
    # keep and x are live; 200 000 NaN objects and their table entries would be megabytes
    assert vm.nan_table_size <= 2
    assert peak < 2_000_000, peak
    vm.resume(None)
    spec, res = vm.run()
    assert spec.kind == "return" and res[0] == [True, False, True] == run_cpython("many", 1000)
    assert vm.nan_table_size == 0               # no frames left


def test_the_table_is_compacted_when_run_returns_on_the_budget(flows):
    program = flows["many"].program
    vm = VM(program, program.entry, (100_000,))
    while True:
        spec, _ = vm.run(5_000)                 # yields along the loop
        assert vm.nan_table_size <= 2
        if spec.kind != "yield":
            break
    assert spec.kind == "sleep"
