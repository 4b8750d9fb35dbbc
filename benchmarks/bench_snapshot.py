"""Snapshot codec: encode and decode time and size for a small, a medium and a
large VM state, and the value codec on a queue item.

    .venv/bin/python -m pytest benchmarks/bench_snapshot.py     # pytest-benchmark
    .venv/bin/python benchmarks/bench_snapshot.py                # a plain table

Targets (issue 3): the small state (the README counter: one frame, a couple of
int registers) is at most 64 bytes and encodes plus decodes in under 2 us.
pickle of the same state tuple is shown for scale only; the codec never pickles.
"""
from __future__ import annotations

import hashlib
import pickle
import statistics
import sys
import time
from array import array
from dataclasses import dataclass

import pytest

from deepslate.program.model import Code, Program
from deepslate._snapshot import decode_snapshot, decode_value, encode_snapshot, encode_value
from deepslate._types import INT, DataclassT
from deepslate._values import DSError, Queue


@dataclass
class Line:
    sku: str
    qty: int
    price: float


@dataclass
class Order:
    id: int
    customer: str
    lines: list
    tags: dict


def _code(name: str, n_o: int, n_i: int, n_f: int) -> Code:
    return Code(name=name, ref=f"bench:{name}", filename="<bench>", firstlineno=1, source="", params=(),
                returns=INT, insns=array("i", [0] * 4 * 64), positions=array("i", [1, 1] * 64), consts=(),
                n_o=n_o, n_i=n_i, n_f=n_f)


def _program(state: tuple) -> Program:
    codes = {}
    for ci, _pc, O, I, F in state[0]:
        codes[ci] = _code(f"f{ci}", len(O), len(I), len(F))
    types = [DataclassT(ref=f"{c.__module__}:{c.__qualname__}", name=c.__name__,
                        fields=[(f, INT) for f in c.__dataclass_fields__], cls=c) for c in (Line, Order)]
    return Program(codes=[codes[i] for i in range(len(codes))], entry=0, types=types,
                   hash=hashlib.sha256(repr(len(codes)).encode()).digest())


try:
    from deepslate import flow, sleep

    @flow
    async def counter():
        count: int = 0
        while True:
            sleep(1.0)
            count = count + 1
except ImportError:        # the compiler is not importable: use the same state, described by hand
    counter = None


def small_state() -> tuple:
    """The README counter at its 1000th sleep, as the VM exports it."""
    if counter is None:
        return ([(0, 3, [1.0, None], [999], [1.0])], True, 4000)
    from deepslate._vm import VM

    vm = VM(counter.program, counter.program.entry, ())
    for _ in range(1000):
        spec, _args = vm.run()
        assert spec.kind == "sleep", spec.kind
        vm.resume(None)
    vm.run()
    return vm.export_state()


def _order(i: int) -> Order:
    lines = [Line(f"sku-{i}-{j}", j + 1, 9.99 + j) for j in range(3)]
    return Order(i, f"customer {i}", lines, {"priority": i % 3, "gift": i % 2 == 0})


def medium_state() -> tuple:
    # a checkout flow two calls deep: a few orders, lists and dicts, some text
    orders = [_order(i) for i in range(5)]
    seen = {f"k{i}": i * 7 for i in range(20)}
    main = (0, 12, [orders, seen, "ready", None, DSError("retry later", "timeout"), Queue(3),
                    list(range(50)), orders[0]] + [None] * 8, list(range(8)), [0.0, 1.5, 2.25, 1e-3])
    helper = (1, 4, [orders[1], orders[1].lines, b"payload" * 10, None], [3, 4], [0.1])
    leaf = (2, 7, ["x" * 40, None, None], [2**40, -5], [])
    return ([main, helper, leaf], True, 123456)


def large_state() -> tuple:
    # a batch job holding 2000 orders, an index over them and a 100 KB document
    orders = [_order(i) for i in range(2000)]
    index = {o.customer: o for o in orders}
    frames = [(0, 30, [orders, index, "é" * 50000, list(range(5000))] + [None] * 12, list(range(16)),
               [float(i) for i in range(8)])]
    frames += [(1, 5, [orders[i], None, None, None], [i, 0], [0.5]) for i in range(8)]
    return (frames, True, 10**9)


def queue_item():
    return {"order": _order(1), "attempt": 2, "note": "expedite"}


STATES = {"small": small_state(), "medium": medium_state(), "large": large_state()}
PROGRAMS = {name: _program(state) for name, state in STATES.items()}
if counter is not None:
    PROGRAMS["small"] = counter.program
BLOBS = {name: encode_snapshot(PROGRAMS[name].hash, state) for name, state in STATES.items()}


def _roundtrip(name: str):
    program = PROGRAMS[name]
    return decode_snapshot(encode_snapshot(program.hash, STATES[name]), program)


@pytest.mark.parametrize("name", list(STATES))
def test_encode(benchmark, name):
    program = PROGRAMS[name]
    benchmark(encode_snapshot, program.hash, STATES[name])


@pytest.mark.parametrize("name", list(STATES))
def test_decode(benchmark, name):
    benchmark(decode_snapshot, BLOBS[name], PROGRAMS[name])


@pytest.mark.parametrize("name", list(STATES))
def test_encode_decode(benchmark, name):
    benchmark(_roundtrip, name)


def test_small_state_size():
    assert len(BLOBS["small"]) <= 64


def test_value_codec(benchmark):
    item = queue_item()
    benchmark(lambda: decode_value(encode_value(item)))


def _best_per_call(fn, budget: float = 0.3) -> float:
    """Median of per-call times over batches sized to ~10 ms, within ``budget`` seconds."""
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt > 0.01:
            break
        n *= 2
    samples = []
    end = time.perf_counter() + budget
    while time.perf_counter() < end or len(samples) < 5:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - t0) / n)
    return statistics.median(samples)


def main() -> int:
    print(f"{'state':<8} {'bytes':>8} {'encode us':>10} {'decode us':>10} {'enc+dec us':>11} "
          f"{'pickle bytes':>13} {'pickle rt us':>13}")
    rows = {}
    for name, state in STATES.items():
        program, blob = PROGRAMS[name], BLOBS[name]
        enc = _best_per_call(lambda: encode_snapshot(program.hash, state))
        dec = _best_per_call(lambda: decode_snapshot(blob, program))
        both = _best_per_call(lambda: _roundtrip(name))
        pk = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
        pk_rt = _best_per_call(lambda: pickle.loads(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)))
        rows[name] = (len(blob), both)
        print(f"{name:<8} {len(blob):>8} {enc * 1e6:>10.2f} {dec * 1e6:>10.2f} {both * 1e6:>11.2f} "
              f"{len(pk):>13} {pk_rt * 1e6:>13.2f}")
    item = queue_item()
    blob = encode_value(item)
    rt = _best_per_call(lambda: decode_value(encode_value(item)))
    print(f"{'value':<8} {len(blob):>8} {'':>10} {'':>10} {rt * 1e6:>11.2f}   (a queue item, encode_value+decode_value)")
    size, both = rows["small"]
    print(f"\nsmall state {STATES['small']} ({'compiled' if counter else 'described'} README counter)")
    print(f"small state: {size} bytes (target <= 64), encode+decode {both * 1e6:.2f} us (target < 2 us): "
          f"{'met' if size <= 64 and both < 2e-6 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
