"""The wire format pinned: the module docstring's grammar and tag table
against the code, headers decoded by hand, and hand-written bytes."""
from __future__ import annotations

import math
import re
import struct
import zlib
from dataclasses import dataclass

from deepslate._values import DSError

import pytest

from deepslate import _snapshot
from deepslate._snapshot import (
    FORMAT_VERSION, MAGIC, VALUE_MAGIC, decode_snapshot, decode_value, encode_snapshot,
    encode_value,
)
from hypothesis import strategies as st

from snapshot_support import assert_same, one_frame, program_for, read_uvarint, split, uvarint

DOC = _snapshot.__doc__


@dataclass
class Point:
    x: int
    y: int


def test_the_docstring_tag_table_is_the_code_tag_table():
    rows = re.findall(r"^    (0x[0-9A-F]{2}) ([A-Z][A-Z0-9]*)\b", DOC, re.M)
    assert {name: int(code, 16) for code, name in rows} == _snapshot.TAGS
    assert len(rows) == len(_snapshot.TAGS)


def test_the_docstring_grammar_names_the_real_magics_and_header():
    assert f'snapshot := "{MAGIC.decode()}" version:uvarint program_hash:byte[32] ' \
           'length:uvarint body:byte[length] crc:u32' in DOC
    assert f'blob     := "{VALUE_MAGIC.decode()}" version:uvarint length:uvarint value:byte[length] crc:u32' in DOC
    assert "body     := head:uvarint frame{head >> 1} steps:uvarint          pending = head & 1" in DOC
    assert "frame    := code_index:uvarint pc:uvarint oregs iregs fregs" in DOC
    assert "iregs    := n:uvarint (svarint{n >> 1} if n & 1 == 0 else value{n >> 1})" in DOC
    assert "fregs    := n:uvarint (f32{n >> 1} if n & 1 == 0 else f64{n >> 1})" in DOC
    assert "[0x12 count:uvarint link{count}]" in DOC and f"0x{_snapshot.TAGS['NANREF']:02X} NANREF" in DOC
    assert "link     := frame:uvarint register:uvarint nan:uvarint" in DOC
    assert f"Format version {FORMAT_VERSION}." in DOC


def test_a_snapshot_header_decoded_by_hand():
    state = one_frame([None, "x" * 300], I=[1], F=[2.0], pending=True, steps=5)
    program = program_for(state)
    data = encode_snapshot(program.hash, state)
    parts = split(data)
    assert parts["magic"] == MAGIC == b"DSNP"
    assert parts["version"] == FORMAT_VERSION == 1
    assert parts["program_hash"] == program.hash
    assert parts["length"] == len(parts["body"]) > 300     # a two-byte length varint
    assert parts["crc"] == zlib.crc32(data[:-4])
    assert parts["rest"] == b""
    # the body starts with one frame, pending, then the frame's code index and pc
    assert parts["body"][:3] == b"\x03\x00\x00"
    # and ends with F (one binary32) and steps
    assert parts["body"][-6:] == b"\x02" + struct.pack("<f", 2.0) + b"\x05"


def test_a_small_state_in_hand_written_bytes():
    state = ([(0, 3, [None, "hi"], [5, -1], [1.5])], True, 300)
    program = program_for(state)
    body = bytes([
        0x03,                           # one frame, pending
        0x00, 0x03,                     # code index 0, pc 3
        0x02, 0x00, 0x06, 0x02]) + b"hi" + bytes([   # O: None, STR "hi"
        0x04, 0x0A, 0x01,               # I: two bare svarints, 5 and -1
        0x02]) + struct.pack("<f", 1.5) + bytes([    # F: one, as binary32
        0xAC, 0x02,                     # steps 300
    ])
    head = b"DSNP\x01" + program.hash + uvarint(len(body)) + body
    want = head + struct.pack("<I", zlib.crc32(head))
    assert encode_snapshot(program.hash, state) == want
    assert decode_snapshot(want, program) == state


def test_register_files_fall_back_to_tagged_and_wide():
    state = ([(0, 0, [], [1, 2**64, True], [1.0, 0.1])], False, 0)
    program = program_for(state)
    body = split(encode_snapshot(program.hash, state))["body"]
    iregs = b"\x07\x81" + b"\x04\x09" + (2**64).to_bytes(9, "little", signed=True) + b"\x02"
    fregs = b"\x05" + struct.pack("<dd", 1.0, 0.1)
    assert body == b"\x02\x00\x00\x00" + iregs + fregs + b"\x00"
    assert decode_snapshot(encode_snapshot(program.hash, state), program) == state


def test_values_in_hand_written_bytes():
    def blob(body: bytes) -> bytes:
        head = b"DSVL\x01" + uvarint(len(body)) + body
        return head + struct.pack("<I", zlib.crc32(head))

    shared = [7]
    # LIST(2) [ LIST(1) [SMALLINT 7], REF 1 ]: the outer list is memo 0, the inner one memo 1
    assert encode_value([shared, shared]) == blob(b"\x08\x02\x08\x01\x87\x10\x01")
    ref = f"{__name__}:Point".encode()
    points = b"\x08\x02" + b"\x0f\x00" + uvarint(len(ref)) + ref + b"\x02\x01x\x01y" + b"\x81\x82" \
        + b"\x0f\x01\x83\x84"
    assert encode_value([Point(1, 2), Point(3, 4)]) == blob(points)
    assert decode_value(blob(points)) == [Point(1, 2), Point(3, 4)]
    assert encode_value(-2**63) == blob(b"\x03" + b"\xff" * 9 + b"\x01")
    assert encode_value(2**63) == blob(b"\x04\x09" + (2**63).to_bytes(9, "little", signed=True))
    assert encode_value(-0.0) == blob(b"\x11" + struct.pack("<f", -0.0))
    assert encode_value(0.1) == blob(b"\x05" + struct.pack("<d", 0.1))
    assert encode_value(1e300) == blob(b"\x05" + struct.pack("<d", 1e300))
    assert encode_value(math.inf) == blob(b"\x11" + struct.pack("<f", math.inf))
    assert encode_value((b"\x00", True, False, None)) == blob(b"\x0a\x04\x07\x01\x00\x02\x01\x00")
    assert encode_value({"é": 1}) == blob(b"\x09\x01\x06\x02\xc3\xa9\x81")


def test_dserror_codes_in_hand_written_bytes():
    def blob(body: bytes) -> bytes:
        head = b"DSVL\x01" + uvarint(len(body)) + body
        return head + struct.pack("<I", zlib.crc32(head))

    # code 0 keeps the ERROR bytes written before codes existed; a code takes CODEDERROR
    assert encode_value(DSError("no", "k")) == blob(b"\x0b\x02no\x01k")
    assert encode_value(DSError("no", "k", 0)) == blob(b"\x0b\x02no\x01k")
    assert encode_value(DSError("no", "http", 503)) == blob(b"\x13\x02no\x04http" + uvarint(503 * 2))
    assert encode_value(DSError("", "", -1)) == blob(b"\x13\x00\x00\x01")
    assert decode_value(blob(b"\x13\x02no\x04http" + uvarint(503 * 2))) == DSError("no", "http", 503)
    assert decode_value(blob(b"\x0b\x02no\x01k")).code == 0


def test_a_dserror_code_the_codec_cannot_hold_is_refused_by_name():
    with pytest.raises(ValueError, match="DSError code 18446744073709551616 does not fit in 64 bits"):
        encode_value(DSError("big", code=2**64))
    e = DSError("odd")
    e.code = "404"
    with pytest.raises(TypeError, match="a DSError code is an int, not str"):
        encode_value(e)


def test_shared_nans_in_hand_written_bytes():
    def blob(body: bytes) -> bytes:
        head = b"DSVL\x01" + uvarint(len(body)) + body
        return head + struct.pack("<I", zlib.crc32(head))

    nan, other = float("nan"), float("nan")
    f32_nan = struct.pack("<f", nan)
    # a NaN held once is written as ever; met again, NANREF names it by its number (0, 1 ...)
    assert encode_value([nan]) == blob(b"\x08\x01\x11" + f32_nan)
    want = blob(b"\x08\x04\x11" + f32_nan + b"\x11" + f32_nan + b"\x12\x00\x12\x01")
    assert encode_value([nan, other, nan, other]) == want
    got = decode_value(want)
    assert got[0] is got[2] and got[1] is got[3] and got[0] is not got[1]


def test_nan_links_in_hand_written_bytes():
    nan = float("nan")
    state = ([(0, 3, [[nan]], [], [nan, 1.0, nan])], True, 7)
    program = program_for(state)
    f32 = struct.pack("<f", nan)
    body = bytes([
        0x03, 0x00, 0x03,                       # one frame, pending; code 0, pc 3
        0x01, 0x08, 0x01, 0x11]) + f32 + bytes([     # O: LIST [FLOAT32 nan]: NaN number 0
        0x00,                                   # I: none
        0x06]) + f32 + struct.pack("<f", 1.0) + f32 + bytes([  # F: three binary32 (NaNs 1 and 2)
        0x07,                                   # steps 7
        0x12, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00,   # links: F[0] and F[2] of frame 0 are NaN 0
    ])
    head = b"DSNP\x01" + program.hash + uvarint(len(body)) + body
    want = head + struct.pack("<I", zlib.crc32(head))
    assert encode_snapshot(program.hash, state) == want
    (frame,), _, _ = decode_snapshot(want, program)
    O, F = frame[2], frame[4]
    assert F[0] is O[0][0] is F[2] and F[1] == 1.0
    # a NaN held in one F register alone needs no link: the bytes are those of format 1 as it was
    lone = ([(0, 3, [], [], [nan, 1.0])], True, 7)
    assert split(encode_snapshot(program_for(lone).hash, lone))["body"] == \
        b"\x03\x00\x03\x00\x00\x04" + f32 + struct.pack("<f", 1.0) + b"\x07"


@pytest.mark.parametrize("n", [0, 1, 3, 7, 8, 9, 100, 1023, 1024, 1025, 4096, 70000])
def test_the_checksum_is_zlib_crc32_on_both_paths(n):
    data = bytes((i * 131 + 7) & 0xFF for i in range(n))
    assert _snapshot.crc32(data) == zlib.crc32(data)


def test_long_bodies_use_longer_length_varints():
    for size in (100, 20000, 3_000_000):
        data = encode_value(b"z" * size)
        parts = split(data, with_hash=False)
        assert parts["length"] == len(parts["body"]) and parts["rest"] == b""
        _, after = read_uvarint(data, 5)
        assert after - 5 == len(uvarint(parts["length"]))
        assert decode_value(data) == b"z" * size


def test_the_vm_module_re_exports_the_codec():
    from deepslate import _vm

    for name in _snapshot.__all__:
        assert getattr(_vm, name) is getattr(_snapshot, name), name


# ---- a reader written from the docstring agrees with the codec on any value

from hypothesis import HealthCheck, given, settings  # noqa: E402

from snapshot_support import GrammarReader  # noqa: E402
import test_snapshot_roundtrip as rt  # noqa: E402

CLASSES = {f"{c.__module__}:{c.__qualname__}": c for c in (rt.Point, rt.Slotted)}
values = rt.values


@settings(max_examples=150, deadline=500, suppress_health_check=[HealthCheck.too_slow])
@given(values)
def test_the_grammar_reader_agrees_on_values(v):
    data = encode_value(v)
    r = GrammarReader(split(data, with_hash=False)["body"], CLASSES)
    got = r.value()
    r.done()
    assert_same(v, got)
    assert_same(decode_value(data), got)


@settings(max_examples=100, deadline=500, suppress_health_check=[HealthCheck.too_slow])
@given(values, values, st.lists(st.integers(), max_size=4), st.lists(st.floats(), max_size=4),
       st.booleans(), st.integers(0, 2**64 - 1))
def test_the_grammar_reader_agrees_on_states(a, b, I, F, pending, steps):
    state = ([(0, 1, [a, b, a], I, F), (1, 0, [b], [], [])], pending, steps)
    program = program_for(state)
    data = encode_snapshot(program.hash, state)
    r = GrammarReader(split(data)["body"], CLASSES)
    got = r.state()
    r.done()
    assert_same(state, got)
    assert_same(decode_snapshot(data, program), got)


def test_the_grammar_reader_agrees_on_shared_nans():
    n, m = float("nan"), struct.unpack("<d", struct.pack("<Q", 0x7FF800000000BEEF))[0]
    state = ([(0, 1, [[n, m], n], [], [m, n, 2.0]), (1, 0, [m], [], [n, m, m])], False, 3)
    program = program_for(state)
    data = encode_snapshot(program.hash, state)
    r = GrammarReader(split(data)["body"], CLASSES)
    got = r.state()
    r.done()
    for decoded in (got, decode_snapshot(data, program)):
        assert_same(state, decoded)
        (_, _, O0, _, F0), (_, _, O1, _, F1) = decoded[0]
        assert O0[0][0] is O0[1] is F0[1] is F1[0]
        assert O0[0][1] is F0[0] is O1[0] is F1[1] is F1[2]
