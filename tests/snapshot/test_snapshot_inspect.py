"""inspect_snapshot: a snapshot as plain JSON-able data, without its program."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass

from deepslate._snapshot import encode_snapshot, inspect_snapshot
from deepslate._values import DSError, Lock, Queue, WaitGroup


@dataclass
class Order:
    id: int
    lines: list


H = bytes(range(32))


def test_header_frames_and_flags():
    state = ([(2, 9, [None, "a"], [4, True], [0.25]), (0, 1, [], [], [])], True, 77)
    got = inspect_snapshot(encode_snapshot(H, state))
    assert got == {
        "format_version": 1,
        "program_hash": H.hex(),
        "frames": [{"code_index": 2, "pc": 9, "O": [None, "a"], "I": [4, True], "F": [0.25]},
                   {"code_index": 0, "pc": 1, "O": [], "I": [], "F": []}],
        "pending": True,
        "steps": 77,
    }


def test_values_become_plain_json_data():
    lines = [1, 2]
    O = [Order(7, lines), lines, DSError("no stock", "stock"), Queue(1), Lock(2), WaitGroup(3),
         (1, "t"), {1: "one", (2, 3): "pair", None: "none", "s": b"\xffraw"},
         math.nan, math.inf, -math.inf, -0.0, 2**100, DSError("HTTP 404", "http", 404)]
    got = inspect_snapshot(encode_snapshot(H, ([(0, 0, O, [], [])], False, 0)))
    out = got["frames"][0]["O"]
    assert out[0] == {"__dataclass__": f"{__name__}:Order", "id": 7, "lines": [1, 2]}
    assert out[1] == [1, 2]
    assert out[2] == {"error": "no stock", "kind": "stock"}
    assert out[3:6] == [{"queue": 1}, {"lock": 2}, {"waitgroup": 3}]
    assert out[6] == [1, "t"]
    assert out[7] == {"1": "one", "[2, 3]": "pair", "None": "none", "s": "\\xffraw"}
    assert out[8:11] == ["nan", "inf", "-inf"]
    assert math.copysign(1, out[11]) == -1
    assert out[12] == 2**100
    assert out[13] == {"error": "HTTP 404", "kind": "http", "code": 404}
    json.dumps(got, allow_nan=False)          # nothing JSON cannot carry


def test_cycles_show_as_references():
    lst: list = [1]
    lst.append(lst)
    order = Order(1, [])
    order.lines.append(order)
    d: dict = {}
    d["me"] = d
    got = inspect_snapshot(encode_snapshot(H, ([(0, 0, [lst, order, d, lst], [], [])], False, 0)))
    out = got["frames"][0]["O"]
    assert out[0] == [1, {"__ref__": 0}]
    assert out[1] == {"__dataclass__": f"{__name__}:Order", "id": 1, "lines": [{"__ref__": 1}]}
    assert out[2] == {"me": {"__ref__": 3}}
    assert out[3] is out[0]                   # a finished value is shown again, not as a reference
    json.dumps(got)


def test_shared_values_are_repeated_only_within_a_budget():
    # 60 levels of [a, a]: 2**60 leaves if every repeat were shown in full
    a: list = ["leaf"]
    for _ in range(60):
        a = [a, a]
    data = encode_snapshot(H, ([(0, 0, [a], [], [])], False, 0))
    assert len(data) < 1000
    text = json.dumps(inspect_snapshot(data))
    assert '"__ref__"' in text and len(text) < 5_000_000
