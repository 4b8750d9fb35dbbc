"""Helpers for the snapshot codec tests: hand-built programs, a hand-written
reader of the documented header, and a deep comparison that sees NaN bits,
-0.0, exact types and aliasing."""
from __future__ import annotations

import hashlib
import struct
import zlib
from array import array
from typing import Any

from deepslate.program.model import Code, Program
from deepslate._types import INT, DataclassT


def make_code(name: str, n_o: int, n_i: int, n_f: int, n_insns: int = 8) -> Code:
    return Code(name=name, ref=f"tests:{name}", filename="<test>", firstlineno=1, source="",
                params=(), returns=INT, insns=array("i", [0] * (4 * n_insns)),
                positions=array("i", [1, 1] * n_insns), consts=(), n_o=n_o, n_i=n_i, n_f=n_f)


def make_program(codes: list[Code], classes: tuple = (), tag: str = "test") -> Program:
    """A program whose hash is sha256(tag); ``classes`` become its dataclass table."""
    types = []
    for cls, ref in classes:
        fields = [(f, INT) for f in cls.__dataclass_fields__]
        types.append(DataclassT(ref=ref, name=cls.__name__, fields=fields, cls=cls))
    return Program(codes=codes, entry=0, types=types, hash=hashlib.sha256(tag.encode()).digest())


def program_for(state: tuple, classes: tuple = (), tag: str = "test") -> Program:
    """A program whose codes fit the frames of ``state`` exactly."""
    frames = state[0]
    n_codes = max(f[0] for f in frames) + 1
    codes = [make_code(f"f{i}", 0, 0, 0) for i in range(n_codes)]
    for ci, pc, O, I, F in frames:
        codes[ci] = make_code(f"f{ci}", len(O), len(I), len(F), n_insns=max(pc + 1, 8))
    return make_program(codes, classes, tag)


def one_frame(O: list, I: list | None = None, F: list | None = None,
              pending: bool = False, steps: int = 0) -> tuple:
    return ([(0, 0, list(O), list(I or []), list(F or []))], pending, steps)


# ---- the documented header, read by hand (see the _snapshot module docstring)

def read_uvarint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def uvarint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def split(data: bytes, with_hash: bool = True) -> dict[str, Any]:
    """magic version [program_hash] length body crc, as the grammar says."""
    out: dict[str, Any] = {"magic": data[:4]}
    out["version"], pos = read_uvarint(data, 4)
    if with_hash:
        out["program_hash"], pos = data[pos:pos + 32], pos + 32
    out["length"], pos = read_uvarint(data, pos)
    out["body_offset"] = pos
    out["body"] = data[pos:pos + out["length"]]
    pos += out["length"]
    out["crc"] = struct.unpack("<I", data[pos:pos + 4])[0]
    out["rest"] = data[pos + 4:]
    return out


def seal(magic: bytes, version: int, body: bytes, program_hash: bytes | None = None) -> bytes:
    """A blob around ``body`` with a correct length and checksum (to reach the body parser)."""
    head = magic + uvarint(version) + (program_hash if program_hash is not None else b"")
    head += uvarint(len(body)) + body
    return head + struct.pack("<I", zlib.crc32(head))


def reseal(data: bytes, body: bytes, with_hash: bool = True, version: int | None = None) -> bytes:
    parts = split(data, with_hash)
    return seal(parts["magic"], parts["version"] if version is None else version, body,
                parts["program_hash"] if with_hash else None)


# ---- deep comparison

def assert_same(a: Any, b: Any, path: str = "$", _seen: dict | None = None) -> None:
    """Equal values of exactly equal types; floats compared by bits; shared
    structure on one side must be shared the same way on the other."""
    seen = {} if _seen is None else _seen
    assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
    if type(a) in (list, dict) or hasattr(type(a), "__dataclass_fields__"):
        if id(a) in seen:
            assert seen[id(a)] is b, f"{path}: aliasing differs"
            return
        seen[id(a)] = b
    if type(a) is float:
        assert struct.pack("<d", a) == struct.pack("<d", b), f"{path}: {a!r} != {b!r}"
    elif type(a) in (list, tuple):
        assert len(a) == len(b), f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]", seen)
    elif type(a) is dict:
        assert len(a) == len(b), f"{path}: {len(a)} keys != {len(b)}"
        for (k1, v1), (k2, v2) in zip(a.items(), b.items()):
            assert_same(k1, k2, f"{path}.<key>", seen)
            assert_same(v1, v2, f"{path}[{k1!r}]", seen)
    elif hasattr(type(a), "__dataclass_fields__"):
        for name in type(a).__dataclass_fields__:
            assert_same(getattr(a, name), getattr(b, name), f"{path}.{name}", seen)
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


# ---- a second reader, written from the module docstring's grammar alone

class GrammarReader:
    """Decodes bodies by the documented grammar, independently of the codec;
    ``classes`` maps a dataclass ref to its class."""

    def __init__(self, body: bytes, classes: dict[str, type]):
        self.data, self.pos, self.classes = body, 0, classes
        self.memo: list = []
        self.nans: list = []           # NaNs read raw, by number
        self.defs: list[tuple[str, list[str]]] = []

    def byte(self) -> int:
        self.pos += 1
        return self.data[self.pos - 1]

    def raw(self, n: int) -> bytes:
        assert self.pos + n <= len(self.data), "truncated"
        self.pos += n
        return self.data[self.pos - n:self.pos]

    def uvarint(self) -> int:
        n, self.pos = read_uvarint(self.data, self.pos)
        return n

    def svarint(self) -> int:
        u = self.uvarint()
        return (u >> 1) ^ -(u & 1)

    def str(self) -> str:
        return self.raw(self.uvarint()).decode("utf-8")

    def raw_float(self, fmt: str) -> float:
        v = struct.unpack(fmt, self.raw(struct.calcsize(fmt)))[0]
        if v != v:
            self.nans.append(v)
        return v

    def value(self) -> Any:
        from deepslate._values import DSError, Lock, Queue, WaitGroup

        tag = self.byte()
        if tag >= 0x80:
            return tag - 0x80
        if tag in (0x00, 0x01, 0x02):
            return (None, False, True)[tag]
        if tag == 0x03:
            return self.svarint()
        if tag == 0x04:
            return int.from_bytes(self.raw(self.uvarint()), "little", signed=True)
        if tag == 0x05:
            return self.raw_float("<d")
        if tag == 0x11:
            return self.raw_float("<f")
        if tag == 0x12:
            return self.nans[self.uvarint()]
        if tag == 0x06:
            return self.str()
        if tag == 0x07:
            return self.raw(self.uvarint())
        if tag in (0x08, 0x09):
            n = self.uvarint()
            out: Any = [] if tag == 0x08 else {}
            self.memo.append(out)
            for _ in range(n):
                if tag == 0x08:
                    out.append(self.value())
                else:
                    k = self.value()
                    out[k] = self.value()
            return out
        if tag == 0x0A:
            return tuple(self.value() for _ in range(self.uvarint()))
        if tag == 0x0B:
            return DSError(self.str(), self.str())
        if tag == 0x13:
            return DSError(self.str(), self.str(), self.svarint())
        if tag in (0x0C, 0x0D, 0x0E):
            return {0x0C: Queue, 0x0D: Lock, 0x0E: WaitGroup}[tag](self.svarint())
        if tag == 0x0F:
            k = self.uvarint()
            if k == 0:
                ref = self.str()
                self.defs.append((ref, [self.str() for _ in range(self.uvarint())]))
                k = len(self.defs)
            ref, names = self.defs[k - 1]
            cls = self.classes[ref]
            obj = object.__new__(cls)
            self.memo.append(obj)
            for name in names:
                object.__setattr__(obj, name, self.value())
            return obj
        if tag == 0x10:
            return self.memo[self.uvarint()]
        raise AssertionError(f"tag {tag:#x} is not in the documented table")

    def state(self) -> tuple:
        head = self.uvarint()
        frames = []
        for _ in range(head >> 1):
            ci, pc = self.uvarint(), self.uvarint()
            O = [self.value() for _ in range(self.uvarint())]
            n = self.uvarint()
            I = [self.value() if n & 1 else self.svarint() for _ in range(n >> 1)]
            n = self.uvarint()
            F = [self.raw_float("<d" if n & 1 else "<f") for _ in range(n >> 1)]
            frames.append((ci, pc, O, I, F))
        steps = self.uvarint()
        if self.pos < len(self.data) and self.data[self.pos] == 0x12:    # NaN links
            self.pos += 1
            for _ in range(self.uvarint()):
                fi, reg, number = self.uvarint(), self.uvarint(), self.uvarint()
                frames[fi][4][reg] = self.nans[number]
        return frames, bool(head & 1), steps

    def done(self) -> None:
        assert self.pos == len(self.data), f"{len(self.data) - self.pos} bytes unread"
