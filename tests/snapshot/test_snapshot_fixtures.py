"""Snapshots written by format version 1, committed under tests/snapshots/v1/,
must keep decoding to the same state (and the encoder must keep writing the
same bytes for it, while the format version stays 1).

Each fixture's program is described here: its code objects' register counts
and instruction counts, its dataclass table, and its hash (sha256 of a fixed
label). To write the files again after a deliberate change, which must also
bump FORMAT_VERSION and add tests/snapshots/v2/, run with
DEEPSLATE_WRITE_SNAPSHOT_FIXTURES=1.
"""
from __future__ import annotations

import math
import os
import pathlib
from dataclasses import dataclass

import pytest

from deepslate._snapshot import (
    FORMAT_VERSION, decode_snapshot, decode_value, encode_snapshot, encode_value, inspect_snapshot,
)
from deepslate._values import DSError, Lock, Queue, WaitGroup
from snapshot_support import assert_same, make_code, make_program

DIR = pathlib.Path(__file__).resolve().parent.parent / "snapshots" / "v1"
WRITE = bool(os.environ.get("DEEPSLATE_WRITE_SNAPSHOT_FIXTURES"))


@dataclass
class Line:
    sku: str
    qty: int


@dataclass
class Order:
    id: int
    lines: list
    note: str | None = None


# The README counter, `count: int = 0; while True: sleep(1.0); count = count + 1`,
# at its 1000th sleep, as our compiler lays it out: one code "counter" with 2 O
# registers (the sleep argument and result), 1 I register (count), 1 F register
# (the 1.0), 6 instructions, the EFFECT at pc 3.
COUNTER_PROGRAM = make_program([make_code("counter", 2, 1, 1, n_insns=6)], tag="v1 fixture: readme counter")
COUNTER_STATE = ([(0, 3, [1.0, None], [999], [1.0])], True, 4000)

# A checkout flow "main" (code 0: 6 O, 2 I, 2 F, 40 instructions) suspended in
# its CALLFLOW at pc 17 into "reserve" (code 1: 3 O, 1 I, 0 F, 12 instructions),
# itself pending at pc 5; dataclasses Line and Order under the refs of the
# application module "shop.models".
SHOP_CLASSES = ((Line, "shop.models:Line"), (Order, "shop.models:Order"))
SHOP_PROGRAM = make_program([make_code("main", 6, 2, 2, n_insns=40), make_code("reserve", 3, 1, 0, n_insns=12)],
                            SHOP_CLASSES, tag="v1 fixture: shop")
Line.__module__ = Order.__module__ = "shop.models"     # the refs the snapshot stores


def shop_state() -> tuple:
    lines = [Line("apple", 3), Line("pear", 1)]
    order = Order(41, lines)
    seen: dict = {"orders": [order]}
    seen["self"] = seen
    O_main = [order, lines, {"apple": 1.25, "pear": math.inf, 7: -0.0, (1, "a"): b"\x00\xff"},
              DSError("card declined", "payment"), Queue(12), [Lock(3), WaitGroup(4), seen]]
    O_reserve = [lines[0], "ünïcødé ✓", [2**100, -2**65, -7, None, True]]
    return ([(0, 17, O_main, [2, -9_000_000_000], [0.5, math.nan]),
             (1, 5, O_reserve, [12], [])], True, 987654321)


def shop_value():
    shared = [Line("kiwi", 2)]
    return {"batch": shared, "again": shared, "order": Order(9, shared, "gift"), "t": (1.5, "x", None)}


FIXTURES = {
    "readme_counter.snap": (COUNTER_PROGRAM, lambda: COUNTER_STATE),
    "shop.snap": (SHOP_PROGRAM, shop_state),
}


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_v1_snapshots_still_decode(name):
    program, make_state = FIXTURES[name]
    state = make_state()
    path = DIR / name
    if WRITE:
        path.write_bytes(encode_snapshot(program.hash, state))
    data = path.read_bytes()
    got = decode_snapshot(data, program)
    assert_same(state, got)
    # same bytes from today's encoder: the format has not drifted under version 1
    assert FORMAT_VERSION == 1
    assert encode_snapshot(program.hash, got) == data
    assert inspect_snapshot(data)["program_hash"] == program.hash.hex()


def test_v1_shop_snapshot_keeps_its_aliasing():
    (main, reserve), _, _ = decode_snapshot((DIR / "shop.snap").read_bytes(), SHOP_PROGRAM)
    order, lines, seen = main[2][0], main[2][1], main[2][5][2]
    assert order.lines is lines and reserve[2][0] is lines[0]
    assert seen["self"] is seen and seen["orders"][0] is order


def test_v1_value_blob_still_decodes():
    path = DIR / "shop.value"
    if WRITE:
        path.write_bytes(encode_value(shop_value()))
    data = path.read_bytes()
    program = make_program([], SHOP_CLASSES, tag="v1 fixture: shop")
    got = decode_value(data, program)
    assert_same(shop_value(), got)
    assert got["batch"] is got["again"] is got["order"].lines
    assert encode_value(got) == data


def test_the_readme_counter_is_small():
    assert len((DIR / "readme_counter.snap").read_bytes()) <= 64


def http_errors_value():
    return [DSError("HTTP 503: busy", "http", 503), DSError("card declined", "payment"), DSError("z", code=-7)]


def test_v1_value_blob_with_dserror_codes():
    # DSError codes came within format 1: code 0 keeps the ERROR bytes (shop.snap above), a code
    # takes the CODEDERROR tag; this file pins those bytes
    path = DIR / "http_errors.value"
    if WRITE:
        path.write_bytes(encode_value(http_errors_value()))
    data = path.read_bytes()
    got = decode_value(data)
    assert got == http_errors_value() and [e.code for e in got] == [503, 0, -7]
    assert encode_value(got) == data
