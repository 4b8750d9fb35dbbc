"""Bad input to the decoders: garbage, truncation at every offset, bit flips,
wrong magic, version or program, trailing bytes, hand-made malformed bodies,
and hypothesis fuzzing. Each is rejected with the right SnapshotError subclass,
and nothing else ever escapes. Reliability target 16's 10 000 mutants of real
snapshots are at the end (sizes and seed from DEEPSLATE_SNAPSHOT_MUTANTS and
DEEPSLATE_SNAPSHOT_SEED)."""
from __future__ import annotations

import math
import os
import random
import resource
import struct
import time
import tracemalloc
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deepslate._snapshot import (
    MAX_NESTING, SnapshotError, SnapshotFormatError, SnapshotProgramError, SnapshotVersionError,
    TrailingDataError, decode_snapshot, decode_value, encode_snapshot, encode_value,
    inspect_snapshot,
)
from deepslate._values import DSError, Lock, Queue
from snapshot_support import make_code, make_program, program_for, reseal, seal, split, uvarint


@dataclass
class Item:
    sku: str
    qty: int


@dataclass
class Other:
    sku: str
    price: float


CLASSES = ((Item, f"{__name__}:Item"),)


def medium_state() -> tuple:
    shared = [Item("a-1", 2), Item("b-2", 1)]
    O = [shared, {"items": shared, "total": 2**70, 3: (1.5, b"\x00\x01")}, DSError("x", "k"),
         Queue(7), Lock(8), "ünïcode", None, math.nan]
    return ([(0, 3, O, [1, -5, 2**40], [0.5, -0.0]), (1, 2, [shared, None], [0], [])], True, 1234)


PROGRAM = program_for(medium_state(), CLASSES)
SNAP = encode_snapshot(PROGRAM.hash, medium_state())
VALUE = encode_value(medium_state()[0][0][2])


def decoders():
    """(name, decode function, blob) for the three entry points."""
    return [("decode_snapshot", lambda b: decode_snapshot(b, PROGRAM), SNAP),
            ("inspect_snapshot", inspect_snapshot, SNAP),
            ("decode_value", lambda b: decode_value(b, PROGRAM), VALUE)]


DECODERS = pytest.mark.parametrize("name, decode, blob", decoders(), ids=lambda x: x if isinstance(x, str) else "")


def snap_body(O: bytes, n_o: int, pending: int = 0, steps: bytes = b"\x00") -> bytes:
    """A one-frame body with raw O register bytes (code 0, pc 0, no I or F)."""
    return uvarint(1 << 1 | pending) + uvarint(0) + uvarint(0) + uvarint(n_o) + O + uvarint(0) + uvarint(0) + steps


def snap_with(O: bytes, n_o: int = 1, **kw) -> bytes:
    return seal(b"DSNP", 1, snap_body(O, n_o, **kw), PROGRAM_1.hash)


PROGRAM_1 = make_program([make_code("one", 1, 0, 0)], CLASSES, tag="one")


def test_the_samples_decode():
    assert decode_snapshot(SNAP, PROGRAM)[2] == 1234
    assert decode_value(VALUE)[5] == "ünïcode"
    assert decode_snapshot(snap_with(b"\x00"), PROGRAM_1) == ([(0, 0, [None], [], [])], False, 0)


@DECODERS
@pytest.mark.parametrize("garbage", [b"", b"D", b"DSN", b"\x00" * 64, b"{\"json\": true}", b"\xff" * 100,
                                     b"PK\x03\x04" + b"\x00" * 40])
def test_garbage_is_a_format_error(name, decode, blob, garbage):
    with pytest.raises(SnapshotFormatError):
        decode(garbage)


@DECODERS
def test_truncation_at_every_offset(name, decode, blob):
    for n in range(len(blob)):
        with pytest.raises(SnapshotFormatError, match="truncated|bad magic") as e:
            decode(blob[:n])
        assert not isinstance(e.value, TrailingDataError), n


@DECODERS
def test_truncated_body_with_a_valid_checksum_at_every_offset(name, decode, blob):
    # re-sealed, so the body parser itself meets the end of its input
    parts = split(blob, with_hash=name != "decode_value")
    for n in range(len(parts["body"])):
        cut = reseal(blob, parts["body"][:n], with_hash=name != "decode_value")
        with pytest.raises(SnapshotFormatError) as e:
            decode(cut)
        assert not isinstance(e.value, TrailingDataError), n
        assert "truncated" in str(e.value) or "exceeds" in str(e.value), (n, str(e.value))


@DECODERS
def test_every_single_bit_flip_is_detected(name, decode, blob):
    for i in range(len(blob)):
        for bit in range(8):
            bad = bytearray(blob)
            bad[i] ^= 1 << bit
            with pytest.raises(SnapshotError) as e:
                decode(bytes(bad))
            if i < 4:
                assert type(e.value) is SnapshotFormatError and "bad magic" in str(e.value)
            elif i == 4:
                assert isinstance(e.value, (SnapshotVersionError, SnapshotFormatError))
            else:               # corruption, never taken for another program or version
                assert isinstance(e.value, SnapshotFormatError), (i, bit, e.value)


def test_wrong_magic_names_both():
    with pytest.raises(SnapshotFormatError, match=r"bad magic, got b'DSVL', want b'DSNP'"):
        decode_snapshot(VALUE, PROGRAM)
    with pytest.raises(SnapshotFormatError, match=r"bad magic, got b'DSNP', want b'DSVL'"):
        decode_value(SNAP)
    with pytest.raises(SnapshotFormatError, match="bad magic"):
        inspect_snapshot(VALUE)


@pytest.mark.parametrize("version", [0, 2, 200, 2**63])
def test_unknown_version(version):
    parts = split(SNAP)
    bad = reseal(SNAP, parts["body"], version=version)
    for decode in (lambda b: decode_snapshot(b, PROGRAM), inspect_snapshot):
        with pytest.raises(SnapshotVersionError, match=f"version: got {version}, want 1"):
            decode(bad)
    bad_value = reseal(VALUE, split(VALUE, False)["body"], with_hash=False, version=version)
    with pytest.raises(SnapshotVersionError, match=f"got {version}, want 1"):
        decode_value(bad_value)


def test_version_varint_overflow_is_a_format_error():
    with pytest.raises(SnapshotFormatError, match="varint overflows 64 bits"):
        decode_snapshot(b"DSNP" + b"\xff" * 10 + b"\x01" + b"\x00" * 40, PROGRAM)


def test_another_programs_snapshot():
    other = program_for(medium_state(), CLASSES, tag="other version")
    want = f"snapshot belongs to program {PROGRAM.hash.hex()[:16]}, not {other.hash.hex()[:16]}"
    with pytest.raises(SnapshotProgramError, match=want):
        decode_snapshot(SNAP, other)
    other.hash = b""
    with pytest.raises(SnapshotProgramError, match=r"not \(no hash\)"):
        decode_snapshot(SNAP, other)
    # the inspector needs no program
    assert inspect_snapshot(SNAP)["program_hash"] == PROGRAM.hash.hex()


@DECODERS
def test_trailing_bytes(name, decode, blob):
    with pytest.raises(TrailingDataError, match="3 bytes of trailing data"):
        decode(blob + b"abc")
    with_hash = name != "decode_value"
    longer = reseal(blob, split(blob, with_hash)["body"] + b"\x00", with_hash=with_hash)
    with pytest.raises(TrailingDataError, match="1 bytes left over at the end of the"):
        decode(longer)


def test_checksum_mismatch_message():
    bad = bytearray(SNAP)
    bad[-1] ^= 0xFF
    with pytest.raises(SnapshotFormatError, match="checksum mismatch, stored [0-9a-f]{8}, computed [0-9a-f]{8}"):
        decode_snapshot(bytes(bad), PROGRAM)


@pytest.mark.parametrize("O, message", [
    (b"\x14", "unknown value tag 0x14"),
    (b"\x13\x00\x00", "truncated"),                             # a coded DSError without its code
    (b"\x13\x00\x00" + b"\xff" * 10 + b"\x02", "varint overflows 64 bits"),
    (b"\x12\x00", "back-reference to NaN 0, only 0 seen"),
    (b"\x08\x02\x11\x00\x00\xc0\x7f\x12\x01", "back-reference to NaN 1, only 1 seen"),
    (b"\x7f", "unknown value tag 0x7f"),
    (b"\x10\x00", "back-reference to value 0, only 0 seen"),
    (b"\x08\x01\x10\x05", "back-reference to value 5, only 1 seen"),
    (b"\x0f\x03", "dataclass number 3 was never defined"),
    (b"\x06\x02\xc3\x28", "invalid UTF-8"),
    (b"\x06\x02\xed\xa0", "invalid UTF-8"),                       # an encoded surrogate
    (b"\x07\x88\x27\x00\x00", "length 5000 exceeds the"),
    (b"\x08\x80\x80\x80\x80\x80\x80\x80\x80\x01", "length 72057594037927936 exceeds"),
    (b"\x09\x05\x00\x00", "length 5 exceeds"),                     # a dict item is 2 bytes at least
    (b"\x03" + b"\xff" * 9 + b"\x02", "varint overflows 64 bits"),
    (b"\x09\x01\x08\x00\x00", "unusable dict key"),
    (b"\x08\x01" * (MAX_NESTING + 1) + b"\x00", f"nested deeper than {MAX_NESTING}"),
    (b"\x0f\x00\x0aunit.tests\x00", "cannot resolve dataclass 'unit.tests'"),
])
def test_malformed_values(O, message):
    exc = SnapshotProgramError if "resolve" in message else SnapshotFormatError
    with pytest.raises(exc, match=message):
        decode_snapshot(snap_with(O), PROGRAM_1)
    with pytest.raises(exc, match=message):
        decode_value(seal(b"DSVL", 1, O))


def test_malformed_frame_lists():
    for head in (b"\x00", b"\x01"):          # no frames, pending or not
        with pytest.raises(SnapshotFormatError, match="at least one frame"):
            decode_snapshot(seal(b"DSNP", 1, head + b"\x00", PROGRAM_1.hash), PROGRAM_1)
    with pytest.raises(SnapshotFormatError, match="length 1000 exceeds the 1 bytes left"):
        decode_snapshot(seal(b"DSNP", 1, uvarint(2000) + b"\x00", PROGRAM_1.hash), PROGRAM_1)
    # a frame is 5 bytes at least: 2 frames cannot fit in 9
    with pytest.raises(SnapshotFormatError, match="length 2 exceeds the 9 bytes left"):
        decode_snapshot(seal(b"DSNP", 1, uvarint(4) + b"\x00" * 9, PROGRAM_1.hash), PROGRAM_1)


@pytest.mark.parametrize("frame, message", [
    ((5, 0, [None], [], []), "frame 0: code index 5 out of range, the program has 1 codes"),
    ((0, 8, [None], [], []), "frame 0: pc 8 out of range, 'one' has 8 instructions"),
    ((0, 0, [None, None], [], []), "frame 0: 2 O registers, 'one' has 1"),
    ((0, 0, [None], [1], []), "frame 0: 1 I registers, 'one' has 0"),
    ((0, 0, [None], [], [1.0]), "frame 0: 1 F registers, 'one' has 0"),
])
def test_frames_must_fit_their_code(frame, message):
    # written for a different shape under the same program hash
    data = encode_snapshot(PROGRAM_1.hash, ([frame], False, 0))
    with pytest.raises(SnapshotFormatError, match=message):
        decode_snapshot(data, PROGRAM_1)


def test_register_files():
    program = make_program([make_code("typed", 0, 1, 1)], tag="typed")
    f32_one = b"\x02" + struct.pack("<f", 1.0)
    # tagged I registers (flag 1) holding a str
    i_str = seal(b"DSNP", 1, b"\x02\x00\x00" + b"\x00" + b"\x03\x06\x01x" + f32_one + b"\x00", program.hash)
    with pytest.raises(SnapshotFormatError, match=r"frame 0: I\[0\] holds str, not int"):
        decode_snapshot(i_str, program)
    assert inspect_snapshot(i_str)["frames"][0]["I"] == ["x"]      # the inspector shows what is there
    ok = seal(b"DSNP", 1, b"\x02\x00\x00" + b"\x00" + b"\x02\x0a" + f32_one + b"\x00", program.hash)
    assert decode_snapshot(ok, program) == ([(0, 0, [], [5], [1.0])], False, 0)
    # one wide F register (flag 1) needs 8 bytes, 5 are left
    f_short = seal(b"DSNP", 1, b"\x02\x00\x00" + b"\x00" + b"\x02\x0a" + b"\x03" + b"\x00" * 5, program.hash)
    with pytest.raises(SnapshotFormatError, match="length 1 exceeds the 5 bytes left"):
        decode_snapshot(f_short, program)


def test_nan_links():
    program = make_program([make_code("f", 1, 0, 2)], tag="links")
    nan = struct.pack("<f", float("nan"))
    frame = b"\x02\x00\x00" + b"\x01\x11" + nan + b"\x00" + b"\x04" + nan + struct.pack("<f", 1.0)

    def snap(links: bytes) -> bytes:
        return seal(b"DSNP", 1, frame + b"\x00" + links, program.hash)

    (got,), _, _ = decode_snapshot(snap(b"\x12\x01\x00\x00\x00"), program)
    assert got[4][0] is got[2][0]
    for links, message in [
        (b"\x12\x01\x01\x00\x00", "NaN link to frame 1, the snapshot has 1"),
        (b"\x12\x01\x00\x02\x00", r"NaN link to F\[2\] of frame 0, which has 2 F registers"),
        (b"\x12\x01\x00\x01\x00", r"NaN link to F\[1\] of frame 0, which holds 1.0, not a NaN"),
        (b"\x12\x01\x00\x00\x02", "NaN link to NaN 2, only 2 seen"),
        (b"\x12\x02\x00\x00\x00", "length 2 exceeds the 3 bytes left"),
        (b"\x12\x01\x00\x00", "length 1 exceeds the 2 bytes left"),
        (b"\x12\x01\x80\x80\x00", "truncated"),            # a long varint
    ]:
        for decode in (lambda b: decode_snapshot(b, program), inspect_snapshot):
            with pytest.raises(SnapshotFormatError, match=message):
                decode(snap(links))
    with pytest.raises(TrailingDataError, match="1 bytes left over"):
        decode_snapshot(snap(b"\x12\x01\x00\x00\x00\x00"), program)


def test_dataclass_fields_must_match_the_class():
    # an Other written where the program's table binds that ref to Item
    data = encode_snapshot(PROGRAM_1.hash, ([(0, 0, [Other("s", 1.0)], [], [])], False, 0))
    program = make_program([make_code("one", 1, 0, 0)], ((Item, f"{__name__}:Other"),), tag="one")
    with pytest.raises(SnapshotProgramError,
                       match=rf"dataclass '{__name__}:Other' has fields \(sku, qty\), the snapshot stores \(sku, price\)"):
        decode_snapshot(data, program)


def test_dataclass_refs_that_are_not_dataclasses():
    body = b"\x0f\x00\x07math:pi\x00"
    with pytest.raises(SnapshotProgramError, match="resolves to 3.14.*not a dataclass"):
        decode_value(seal(b"DSVL", 1, body))
    body = b"\x0f\x00\x12no_such_module_x:Y\x00"
    with pytest.raises(SnapshotProgramError, match="ModuleNotFoundError"):
        decode_value(seal(b"DSVL", 1, body))
    # the inspector does not resolve classes
    got = inspect_snapshot(seal(b"DSNP", 1, snap_body(body, 1), PROGRAM_1.hash))
    assert got["frames"][0]["O"] == [{"__dataclass__": "no_such_module_x:Y"}]


def test_input_types():
    assert decode_snapshot(bytearray(SNAP), PROGRAM)[2] == 1234
    assert decode_snapshot(memoryview(SNAP), PROGRAM)[2] == 1234
    assert inspect_snapshot(bytearray(SNAP))["steps"] == 1234
    assert decode_value(memoryview(VALUE))[4] == Lock(8)
    with pytest.raises(TypeError, match="a snapshot is bytes, got str"):
        decode_snapshot("DSNP", PROGRAM)
    with pytest.raises(TypeError, match="a value is bytes, got NoneType"):
        decode_value(None)


# ---- fuzzing: only SnapshotError, and quickly

FUZZ = settings(max_examples=300, deadline=200, suppress_health_check=[HealthCheck.too_slow])


def _only_snapshot_errors(decode, data):
    try:
        decode(data)
    except SnapshotError:
        pass


@FUZZ
@given(st.binary(max_size=200))
def test_fuzz_random_bytes(data):
    for _, decode, _blob in decoders():
        _only_snapshot_errors(decode, data)
        _only_snapshot_errors(decode, b"DSNP\x01" + data)
        _only_snapshot_errors(decode, b"DSVL\x01" + data)


edits = st.lists(st.tuples(st.sampled_from(["set", "insert", "delete"]), st.integers(0, 10**6),
                           st.integers(0, 255)), min_size=1, max_size=6)


def _mutate(data: bytes, ops) -> bytes:
    out = bytearray(data)
    for op, at, byte in ops:
        at %= max(len(out), 1)
        if op == "set" and out:
            out[at] = byte
        elif op == "insert":
            out.insert(at, byte)
        elif out:
            del out[at]
    return bytes(out)


@FUZZ
@given(edits)
def test_fuzz_mutated_blobs(ops):
    for name, decode, blob in decoders():
        _only_snapshot_errors(decode, _mutate(blob, ops))


@FUZZ
@given(edits)
def test_fuzz_mutated_bodies_with_valid_checksums(ops):
    # past the checksum: the body parser and the frame checks meet the damage
    for name, decode, blob in decoders():
        with_hash = name != "decode_value"
        body = _mutate(split(blob, with_hash)["body"], ops)
        _only_snapshot_errors(decode, reseal(blob, body, with_hash=with_hash))


@settings(max_examples=200, deadline=200)
@given(st.binary(min_size=1, max_size=60))
def test_fuzz_random_bodies_with_valid_checksums(body):
    _only_snapshot_errors(lambda b: decode_snapshot(b, PROGRAM_1), seal(b"DSNP", 1, body, PROGRAM_1.hash))
    _only_snapshot_errors(inspect_snapshot, seal(b"DSNP", 1, body, PROGRAM_1.hash))
    _only_snapshot_errors(decode_value, seal(b"DSVL", 1, body))


@pytest.mark.parametrize("body", [
    b"\x08" + uvarint(2**62) + b"\x00" * 10,           # a list of 2**62 items
    b"\x09" + uvarint(2**40) + b"\x00" * 10,           # a dict of 2**40 items
    b"\x07" + uvarint(2**63 - 1) + b"\x00" * 10,       # bytes of 2**63 - 1
    b"\x04" + uvarint(2**50) + b"\x00" * 10,           # a big int of 2**50 bytes
    b"\x06" + uvarint(10**12) + b"abc",                # a str of 10**12 bytes
    b"\x0f\x00\x01x" + uvarint(2**40),                  # a dataclass of 2**40 fields
], ids=["list", "dict", "bytes", "bigint", "str", "dataclass"])
def test_huge_claimed_sizes_fail_before_allocating(body):
    tracemalloc.start()
    try:
        with pytest.raises(SnapshotFormatError, match="exceeds"):
            decode_value(seal(b"DSVL", 1, body))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100_000


# ---- target 16: mutants of real snapshots -------------------------------------------------
#
# Real snapshots of compiled flows at a durable point (small: the README counter; medium: a shop
# with dataclasses, a DSError, a big int and four flow frames; large: some 100k values), and
# DEEPSLATE_SNAPSHOT_MUTANTS (default 10 000) mutants of them from DEEPSLATE_SNAPSHOT_SEED
# (default 20261130). Every mutant the checksum covers must fail to decode with a SnapshotError,
# on the runtime's path (decode_snapshot, then VM.from_state) and on the inspector's, quickly and
# without a large allocation. Mutants re-sealed with a valid checksum reach the body parser and
# the frame checks: they fail the same way, or decode to a state the VM accepts or refuses with
# ProgramError, and never raise anything else.

MUTANTS = int(os.environ.get("DEEPSLATE_SNAPSHOT_MUTANTS", "10000"))
MUTANT_SEED = int(os.environ.get("DEEPSLATE_SNAPSHOT_SEED", "20261130"))
SLOW = 0.100     # seconds: RELIABILITY target 16's bound on one decode

REAL_FLOWS = '''
from dataclasses import dataclass

from deepslate import DSError, flow, sleep


@dataclass
class Item:
    sku: str
    qty: int
    price: float


@flow
async def counter() -> None:
    count: int = 0
    while True:
        sleep(1.0)
        count = count + 1


@flow
async def inner(items: list[Item], depth: int) -> int:
    if depth > 0:
        return inner(items, depth - 1)
    sleep(0.5)
    return len(items)


@flow
async def shop(n: int) -> int:
    items: list[Item] = []
    for i in range(n):
        items.append(Item(f"sku-{i}", i, i * 1.25))
    totals: dict[str, float] = {}
    for it in items:
        totals[it.sku] = it.price * it.qty
    note: str = "ünïcode ✓"
    err: int | DSError = DSError("out of stock")
    big: int = 2 ** 100
    first: Item = items[0]
    return inner(items, 3) + len(totals) + len(note)


@flow
async def bulk(n: int) -> int:
    xs: list[int] = []
    names: list[str] = []
    table: dict[str, list[int]] = {}
    for i in range(n):
        xs.append(i * 7919 % 100003)
        names.append(f"name-{i}")
    for j in range(n // 10):
        table[names[j]] = [xs[j], j, -j]
    f: float = 0.1
    sleep(1.0)
    return len(xs) + len(table)
'''


def _real_snapshots() -> dict:
    """name -> (program, snapshot bytes), each VM stopped at a sleep."""
    import driver
    from deepslate._vm import VM

    flows = driver.compile_source(REAL_FLOWS, "real_flows.py")
    out = {}
    for name, flow_name, args, resumes in [("small", "counter", (), 3), ("medium", "shop", (40,), 0),
                                           ("large", "bulk", (12000,), 0)]:
        program = flows[flow_name].program
        vm = VM(program, program.code_index(flow_name), args)
        for k in range(resumes + 1):
            spec, _ = vm.run(10**9)
            assert spec.kind == "sleep", spec.kind
            if k < resumes:
                vm.resume(None)
        out[name] = (program, encode_snapshot(program.hash, vm.export_state()))
    return out


def _mutants(rng: random.Random, blob: bytes, count: int):
    """(kind, bytes, checksum_covers) mutants of one snapshot."""
    parts = split(blob)
    n = len(blob)
    for k in range(64):                                     # truncation at each 1/64
        yield "truncate", blob[:k * n // 64], True
    for _ in range(8):                                      # another program's hash
        other = rng.randbytes(32)
        yield "wrong-hash", seal(b"DSNP", 1, parts["body"], other), False
        yield "wrong-hash", blob[:5] + other + blob[37:], True
    head = blob[:5 + 32]
    for bits in (20, 31, 32, 40, 56, 62, 63, 64):          # oversized length prefix in the header
        for delta in (0, 1):
            big = uvarint((1 << bits) - delta)
            yield "oversized-length", head + big + blob[parts["body_offset"]:], True
    for extra in (1, 7, 1000):
        yield "oversized-length", head + uvarint(len(parts["body"]) + extra) + blob[parts["body_offset"]:], True
    body = parts["body"]
    for _ in range(20):                                     # an oversized count inside the body
        at = rng.randrange(len(body))
        tag = rng.choice([b"\x04", b"\x06", b"\x07", b"\x08", b"\x09", b"\x0a", b"\x10", b""])
        big = tag + uvarint(rng.choice([2**31, 2**40, 2**62, 2**64 - 1, len(body) + 1]))
        yield "oversized-count", seal(b"DSNP", 1, body[:at] + big + body[at + len(big):], parts["program_hash"]), False
    made = 64 + 16 + 16 + 3 + 20
    for i in range(max(0, count - made)):
        r = rng.random()
        if r < 0.70:                                        # 1 to 3 flipped bits
            bad = bytearray(blob)
            for bit in rng.sample(range(8 * n), rng.randint(1, 3)):     # distinct bits: none flips back
                bad[bit // 8] ^= 1 << (bit % 8)
            yield "bit-flip", bytes(bad), True
        elif r < 0.80:                                      # random bytes, bare or behind the right magic
            junk = rng.randbytes(rng.randrange(2 * n + 1))
            yield "random-bytes", (b"DSNP\x01" + junk) if rng.random() < 0.5 else junk, True
        elif r < 0.90:                                      # a damaged run of bytes
            bad = bytearray(blob)
            at = rng.randrange(n)
            bad[at:at + rng.randint(1, 16)] = rng.randbytes(rng.randint(0, 16))
            yield "overwrite", bytes(bad), True
        else:                                               # damage behind a valid checksum
            bad = bytearray(body)
            for _ in range(rng.randint(1, 3)):
                bad[rng.randrange(len(bad))] = rng.randrange(256)
            yield "resealed-body", seal(b"DSNP", 1, bytes(bad), parts["program_hash"]), False


def _decode_like_the_runtime(program, data):
    from deepslate._vm import VM

    return VM.from_state(program, decode_snapshot(data, program))


def _outcome(program, data) -> str:
    from deepslate._vm import ProgramError

    try:
        _decode_like_the_runtime(program, data)
    except SnapshotError as e:
        return type(e).__name__
    except ProgramError:
        return "ProgramError"
    return "decoded"


def test_ten_thousand_mutants_of_real_snapshots():
    snaps = _real_snapshots()
    for name, (program, blob) in snaps.items():
        assert _outcome(program, blob) == "decoded", name
    rng = random.Random(MUTANT_SEED)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    worst = (0.0, "", "")
    tally: dict[tuple, int] = {}
    total = 0
    t_all = time.perf_counter()
    for i, (name, (program, blob)) in enumerate(snaps.items()):
        share = MUTANTS // len(snaps) + (MUTANTS % len(snaps) if i == len(snaps) - 1 else 0)
        for kind, data, covered in _mutants(rng, blob, share):
            total += 1
            where = f"seed {MUTANT_SEED}, {name} snapshot ({len(blob)} B), mutant {total} ({kind})"
            t0 = time.perf_counter()
            try:
                got = _outcome(program, data)
            except Exception as e:  # noqa: BLE001 - the point: nothing but SnapshotError escapes
                raise AssertionError(f"{where}: {type(e).__name__}: {e}") from e
            took = time.perf_counter() - t0
            if took > SLOW:   # a busy machine can stall any call: a slow decoder stays slow when retried
                took = min(_timed(program, data) for _ in range(3))
                assert took < SLOW, f"{where}: decoding took {took * 1000:.1f} ms"
            if took > worst[0]:
                worst = (took, where, got)
            if covered:
                assert got not in ("decoded", "ProgramError"), f"{where}: the checksum let it through ({got})"
                try:
                    inspect_snapshot(data)
                    assert kind == "wrong-hash", f"{where}: the inspector decoded it"
                except SnapshotError:
                    pass
            tally[(kind, got)] = tally.get((kind, got), 0) + 1
    grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0
    print(f"\n{total} snapshot mutants (seed {MUTANT_SEED}) in {time.perf_counter() - t_all:.1f} s; "
          f"sizes {', '.join(f'{k} {len(b)} B' for k, (_, b) in snaps.items())}; slowest decode "
          f"{worst[0] * 1000:.2f} ms ({worst[1]}: {worst[2]}); peak RSS grew {grew // 1024} MiB")
    for (kind, got), k in sorted(tally.items()):
        print(f"  {kind:16} {got:22} {k}")
    assert total >= MUTANTS
    assert grew < 256 * 1024, f"peak RSS grew by {grew // 1024} MiB"
    # re-sealed damage is mostly caught by the structure checks, not let through
    resealed = [(got, k) for (kind, got), k in tally.items() if kind == "resealed-body"]
    assert sum(k for got, k in resealed if got != "decoded") >= sum(k for _, k in resealed) // 2, tally


def _timed(program, data) -> float:
    t0 = time.perf_counter()
    _outcome(program, data)
    return time.perf_counter() - t0
