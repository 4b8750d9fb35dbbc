# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Snapshot codec: the interpreter state as bytes, and the copy codec for values
that cross isolates (queue items, child arguments).

Format version 1. Integers are little-endian; ``uvarint`` is unsigned LEB128
(7 bits a byte, low group first, at most 10 bytes); ``svarint`` is a zigzag
signed 64-bit integer written as a uvarint; ``str`` is ``n:uvarint`` followed
by ``n`` bytes of UTF-8::

    snapshot := "DSNP" version:uvarint program_hash:byte[32] length:uvarint body:byte[length] crc:u32
    blob     := "DSVL" version:uvarint length:uvarint value:byte[length] crc:u32
    crc      := CRC-32 (the zlib polynomial) of every byte before it
    body     := head:uvarint frame{head >> 1} steps:uvarint          pending = head & 1
                [0x12 count:uvarint link{count}]                     see NaN identity
    link     := frame:uvarint register:uvarint nan:uvarint
    frame    := code_index:uvarint pc:uvarint oregs iregs fregs
    oregs    := count:uvarint value{count}
    iregs    := n:uvarint (svarint{n >> 1} if n & 1 == 0 else value{n >> 1})
    fregs    := n:uvarint (f32{n >> 1} if n & 1 == 0 else f64{n >> 1})
    f32, f64 := byte[4], byte[8]: IEEE 754 binary32, binary64 bits
    value    := tag:u8 payload

    tag  name       payload
    0x00 NONE
    0x01 FALSE
    0x02 TRUE
    0x03 INT        svarint
    0x04 BIGINT     n:uvarint byte[n], two's complement (ints outside 64 bits)
    0x05 FLOAT      byte[8], the IEEE 754 binary64 bits (NaN, inf, -0.0 exact)
    0x06 STR        str
    0x07 BYTES      n:uvarint byte[n]
    0x08 LIST       count:uvarint value{count}                      memoized
    0x09 DICT       count:uvarint (key:value item:value){count}     memoized
    0x0A TUPLE      count:uvarint value{count}
    0x0B ERROR      message:str kind:str                            DSError
    0x0C QUEUE      id:svarint
    0x0D LOCK       id:svarint
    0x0E WAITGROUP  id:svarint
    0x0F DATACLASS  class:uvarint [ref:str nfields:uvarint name:str{nfields}] value{nfields}  memoized
    0x10 REF        index:uvarint
    0x11 FLOAT32    byte[4], IEEE 754 binary32 bits, for a float that survives the round trip
                    through binary32 bit for bit (1.0, 0.5, -0.0, inf, the usual NaN)
    0x12 NANREF     nan:uvarint, the number of a NaN float read before (see NaN identity)
    0x13 CODEDERROR message:str kind:str code:svarint              DSError whose code is not 0
    0x80 SMALLINT   tags 0x80..0xFF are the ints 0..127 (tag - 0x80)

The frames of a snapshot are the VM's state tuple (see ``_vm.pyi``),
outermost first, at least one. The register files are typed, so their
values go untagged when they can: I registers as bare svarints unless one
holds a bool or an int outside 64 bits (then all are tagged values), F
registers as binary32 when every one survives that bit for bit (else all as
binary64). What the VM exported comes back with its exact type; this keeps
the README counter's snapshot within 64 bytes.

Aliasing: a memoized value (list, dict, dataclass instance) gets the next
index, counting from 0 in the order values start, before its items are
written; writing the same object again writes ``REF index``. So two
registers or containers naming one list name one list after decoding, and
cycles work. Tuples and the immutable values are written by value. One
memo covers a whole snapshot or blob: aliasing holds within one, and every
``decode_value`` makes fresh copies.

NaN identity: CPython compares containers identity first (``x in xs``,
``[x] == xs``), so which NaN object a value names is state too. Every NaN
read raw (a FLOAT or FLOAT32 value, or an F register) takes the next number,
from 0 in reading order; the same NaN object met again as a value is written
``NANREF number``. F registers are raw bits, so one that holds a NaN already
numbered is written as usual and named by a link after ``steps`` (frame
index, register, number); the links are there only when one is. A NaN held
in one place needs neither, so states without shared NaNs are written as
before these two were added, and a reader that predates them refuses only
a state that has them, as malformed.

DSError codes: a DSError whose ``code`` is 0 is written ``ERROR`` as before codes
existed, so those bytes did not change; only one with a code takes ``CODEDERROR``,
which an older reader refuses as an unknown tag.

Dataclasses are named by ref ("module:qualname") inside the blob, so the
bytes stay readable without the program: ``class`` 0 defines the next class
(numbered from 1 in the blob) by its ref and field names; ``class`` k >= 1
reuses the k-th definition. On decode the class is the one the program's
type table (``Program.types``, a ``DataclassT`` with that ref and a bound
``cls``) names; when there is no program, or the table lacks the ref, the
module of the ref is imported and the class looked up by qualname (only
a dotted "module:qualname", and the result must be a dataclass). The
stored field names must equal the class's fields, in order. Instances are
rebuilt without calling ``__init__`` (a snapshot restores state, it does
not construct it).

Limits: every length or count is checked against the bytes left before
anything is read or allocated; nesting is at most ``MAX_NESTING`` containers
deep. Decoding bytes raises only ``SnapshotError`` subclasses (input that
is not bytes-like is a TypeError). The checks run in order magic, version,
length, checksum, program hash: a flipped bit is reported as corruption,
not as a foreign program.

Rejected: pickle (the data would name code to run, and its format is not
ours to version); JSON or msgpack as they come (no exact NaN bits, big ints,
bytes and aliasing all at once, and a tag byte more per register); no
checksum (a flipped bit could resume a wrong state instead of failing).
"""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_FromDouble
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_FromLongLong
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.memoryview cimport PyMemoryView_FromMemory
from cpython.buffer cimport PyBUF_READ
from cpython.unicode cimport PyUnicode_AsUTF8AndSize, PyUnicode_DecodeUTF8
from cpython.object cimport PyObject, PyObject_GenericSetAttr, PyTypeObject
from libc.stdint cimport int64_t, uint32_t, uint64_t, uintptr_t
from libc.stdlib cimport calloc, free
from libc.math cimport isinf, isnan
from libc.string cimport memcmp, memcpy, memmove

cimport cython

import dataclasses
import importlib
import re
import zlib

from deepslate._values import DSError, Lock, Queue, WaitGroup

__all__ = [
    "FORMAT_VERSION", "MAGIC", "VALUE_MAGIC", "MAX_NESTING",
    "SnapshotError", "SnapshotFormatError", "SnapshotVersionError", "SnapshotProgramError",
    "TrailingDataError", "SnapshotCorrupt",
    "encode_snapshot", "decode_snapshot", "inspect_snapshot", "encode_value", "decode_value", "inspect_value",
]

FORMAT_VERSION = 1
MAGIC = b"DSNP"
VALUE_MAGIC = b"DSVL"
MAX_NESTING = 1000
HASH_SIZE = 32

cdef enum:
    DISPLAY_REPEAT_BUDGET = 100000   # inspect: nodes shown again in full for back-references
    ZLIB_CRC_MIN = 1024    # measured: our loop 87 ns vs zlib 255 at 64 B, 2.6 us vs 1.0 at 4 KB

# The tag table as Python data, for tests that keep the docstring honest.
TAGS = {
    "NONE": T_NONE, "FALSE": T_FALSE, "TRUE": T_TRUE, "INT": T_INT, "BIGINT": T_BIGINT,
    "FLOAT": T_FLOAT, "STR": T_STR, "BYTES": T_BYTES, "LIST": T_LIST, "DICT": T_DICT,
    "TUPLE": T_TUPLE, "ERROR": T_ERROR, "QUEUE": T_QUEUE, "LOCK": T_LOCK,
    "WAITGROUP": T_WAITGROUP, "DATACLASS": T_DATACLASS, "REF": T_REF, "FLOAT32": T_FLOAT32,
    "NANREF": T_NANREF, "CODEDERROR": T_CODEDERROR, "SMALLINT": T_SMALLINT,
}

cdef int C_MAX_NESTING = MAX_NESTING
cdef const char* C_MAGIC = b"DSNP"
cdef const char* C_VALUE_MAGIC = b"DSVL"

# C-level copies of the classes the ladder compares against (no dict lookups on the hot path)
cdef object _DSError = DSError
cdef object _Queue = Queue
cdef object _Lock = Lock
cdef object _WaitGroup = WaitGroup
cdef tuple _EMPTY = ()


class SnapshotError(ValueError):
    """A snapshot could not be decoded."""


class SnapshotFormatError(SnapshotError):
    """The bytes are not a well-formed snapshot (truncated, corrupted, bad tag)."""


class SnapshotVersionError(SnapshotError):
    """The snapshot was written by an unknown format version."""


class SnapshotProgramError(SnapshotError):
    """The snapshot belongs to another program, or names a class it cannot find."""


class TrailingDataError(SnapshotFormatError):
    """Bytes were left over after a complete snapshot."""


SnapshotCorrupt = SnapshotFormatError


# ---------------------------------------------------------------- CRC-32

cdef uint32_t _crc_tables[8][256]

cdef void _init_crc_tables() noexcept:
    # slicing-by-8: table k maps a byte to its contribution k bytes further on
    cdef uint32_t c
    cdef int i, k
    for i in range(256):
        c = <uint32_t>i
        for k in range(8):
            c = (c >> 1) ^ 0xEDB88320U if c & 1 else c >> 1
        _crc_tables[0][i] = c
    for i in range(256):
        for k in range(1, 8):
            _crc_tables[k][i] = (_crc_tables[k - 1][i] >> 8) ^ _crc_tables[0][_crc_tables[k - 1][i] & 0xFF]

_init_crc_tables()

_zlib_crc32 = zlib.crc32

cdef inline uint32_t _le32(const unsigned char* p) noexcept:
    return <uint32_t>p[0] | (<uint32_t>p[1] << 8) | (<uint32_t>p[2] << 16) | (<uint32_t>p[3] << 24)


cdef uint32_t _crc32(const unsigned char* p, Py_ssize_t n) except? 0:
    """CRC-32 as zlib computes it; zlib's own loop for large inputs."""
    cdef uint32_t c = 0xFFFFFFFFU
    cdef uint32_t one, two
    if n >= ZLIB_CRC_MIN:
        return <uint32_t>_zlib_crc32(PyMemoryView_FromMemory(<char*>p, n, PyBUF_READ))
    while n >= 8:
        one = _le32(p) ^ c
        two = _le32(p + 4)
        c = (_crc_tables[7][one & 0xFF] ^ _crc_tables[6][(one >> 8) & 0xFF] ^
             _crc_tables[5][(one >> 16) & 0xFF] ^ _crc_tables[4][one >> 24] ^
             _crc_tables[3][two & 0xFF] ^ _crc_tables[2][(two >> 8) & 0xFF] ^
             _crc_tables[1][(two >> 16) & 0xFF] ^ _crc_tables[0][two >> 24])
        p += 8
        n -= 8
    while n > 0:
        c = _crc_tables[0][(c ^ p[0]) & 0xFF] ^ (c >> 8)
        p += 1
        n -= 1
    return c ^ 0xFFFFFFFFU


def crc32(data) -> int:
    """The checksum the codec uses (equal to ``zlib.crc32``); for tests and tools."""
    cdef bytes b = data if type(data) is bytes else bytes(data)
    return _crc32(<const unsigned char*>PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b))


# ---------------------------------------------------------------- dataclasses

# type -> (ref, field names); classes are few and long-lived, so the cache is unbounded
cdef dict _dc_info = {}

cdef tuple _dataclass_info(object cls):
    """(ref, field names) of a dataclass type, or None for any other type."""
    info = _dc_info.get(cls)
    if info is None:
        if not isinstance(cls, type) or not isinstance(getattr(cls, "__dataclass_fields__", None), dict):
            return None
        info = (f"{cls.__module__}:{cls.__qualname__}",
                tuple(f.name for f in dataclasses.fields(cls)))
        _dc_info[cls] = info
    return <tuple>info


_REF_RE = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*\Z")


cdef object _import_class(str ref):
    """The class a ref names, imported by module; SnapshotProgramError if absent."""
    if not _REF_RE.match(ref):
        raise SnapshotProgramError(f"cannot resolve dataclass {ref!r}: not an importable module:qualname")
    module, _, qualname = ref.partition(":")
    try:
        obj = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except Exception as e:
        raise SnapshotProgramError(
            f"cannot resolve dataclass {ref!r}: {type(e).__name__}: {e}") from None
    return obj


# ---------------------------------------------------------------- writer

cdef inline bint _fits32(double d) noexcept:
    """True if binary32 holds ``d`` bit for bit (1.0, 0.5, -0.0, inf, the usual NaN)."""
    cdef float f = <float>d
    cdef double back = <double>f
    return memcmp(&back, &d, 8) == 0


cdef inline Py_ssize_t _slot(uintptr_t key, Py_ssize_t cap) noexcept:
    # Fibonacci hashing of the address (its low bits are alignment zeros), high bits folded down
    cdef uint64_t h = (<uint64_t>key >> 4) * 0x9E3779B97F4A7C15ULL
    return <Py_ssize_t>(h ^ (h >> 32)) & (cap - 1)


@cython.final
@cython.freelist(4)
cdef class _Writer:
    """One growable byte buffer and the value ladder that fills it."""

    def __cinit__(self):
        self.buf = self.small
        self.len = 0
        self.cap = SMALL_BUF

    def __dealloc__(self):
        if self.buf != self.small:
            PyMem_Free(self.buf)
        free(self.mkeys)
        free(self.mvals)

    cdef int _grow(self, Py_ssize_t need) except -1:
        cdef Py_ssize_t cap = self.cap * 2
        cdef unsigned char* nb
        if cap < self.len + need:
            cap = self.len + need
        if self.buf == self.small:
            nb = <unsigned char*>PyMem_Malloc(cap)
            if nb == NULL:
                raise MemoryError()
            memcpy(nb, self.small, self.len)
        else:
            nb = <unsigned char*>PyMem_Realloc(self.buf, cap)
            if nb == NULL:
                raise MemoryError()
        self.buf = nb
        self.cap = cap
        return 0

    cdef int ensure(self, Py_ssize_t n) except -1:
        if self.len + n > self.cap:
            self._grow(n)
        return 0

    cdef int u8(self, unsigned char b) except -1:
        if self.len + 1 > self.cap:
            self._grow(1)
        self.buf[self.len] = b
        self.len += 1
        return 0

    cdef int uvarint(self, uint64_t v) except -1:
        cdef unsigned char* p
        if self.len + 10 > self.cap:
            self._grow(10)
        p = self.buf + self.len
        while v >= 0x80:
            p[0] = <unsigned char>(v | 0x80)
            p += 1
            v >>= 7
        p[0] = <unsigned char>v
        self.len = (p + 1) - self.buf
        return 0

    cdef int svarint(self, int64_t v) except -1:
        return self.uvarint((<uint64_t>v << 1) ^ <uint64_t>(v >> 63))

    cdef int raw(self, const void* p, Py_ssize_t n) except -1:
        if self.len + n > self.cap:
            self._grow(n)
        memcpy(self.buf + self.len, p, n)
        self.len += n
        return 0

    cdef int u32(self, uint32_t v) except -1:
        cdef int i
        self.ensure(4)
        for i in range(4):
            self.buf[self.len + i] = <unsigned char>(v >> (8 * i))
        self.len += 4
        return 0

    cdef int f64(self, double d) except -1:
        cdef uint64_t bits
        cdef int k
        memcpy(&bits, &d, 8)
        self.ensure(8)
        for k in range(8):
            self.buf[self.len + k] = <unsigned char>(bits >> (8 * k))
        self.len += 8
        return 0

    cdef int f32(self, double d) except -1:
        cdef float f = <float>d
        cdef uint32_t bits
        memcpy(&bits, &f, 4)
        return self.u32(bits)

    cdef int string(self, str s) except -1:
        cdef Py_ssize_t n
        cdef const char* p
        cdef bytes b
        try:
            p = PyUnicode_AsUTF8AndSize(s, &n)
        except UnicodeEncodeError:
            # a lone surrogate (bytes decoded with surrogateescape) is a str all the same
            b = s.encode("utf-8", "surrogatepass")
            self.uvarint(<uint64_t>len(b))
            return self.raw(<const char*>b, len(b))
        self.uvarint(<uint64_t>n)
        return self.raw(p, n)

    cdef Py_ssize_t seen(self, object v) except -2:
        """The memo index of ``v`` if it was written before, else -1 (and remember it).

        A C table keyed by address rather than a dict of id() -> index: writing
        3000 empty lists took 258 ns a list with the dict, 56 ns with this."""
        cdef uintptr_t key = <uintptr_t><PyObject*>v
        cdef Py_ssize_t i, n
        if self.mcap == 0:
            self._memo_resize(64)
        i = _slot(key, self.mcap)
        while self.mkeys[i] != 0:
            if self.mkeys[i] == key:
                return self.mvals[i]
            i = (i + 1) & (self.mcap - 1)
        n = len(self.keep)
        self.mkeys[i] = key
        self.mvals[i] = n
        self.keep.append(v)
        if 2 * (n + 1) > self.mcap:
            self._memo_resize(2 * self.mcap)
        return -1

    cdef Py_ssize_t nan_seen(self, object v) except -2:
        """The number of the NaN float ``v`` if written before, else -1 (and number it)."""
        cdef Py_ssize_t key = <Py_ssize_t><PyObject*>v
        if self.nan_ids is None:
            self.nan_ids = {}
            self.nan_keep = []
        n = self.nan_ids.get(key)
        if n is not None:
            return n
        self.nan_ids[key] = self.nnan
        self.nan_keep.append(v)
        self.nnan += 1
        return -1

    cdef int _memo_resize(self, Py_ssize_t cap) except -1:
        cdef uintptr_t* keys = <uintptr_t*>calloc(cap, sizeof(uintptr_t))
        cdef Py_ssize_t* vals = <Py_ssize_t*>calloc(cap, sizeof(Py_ssize_t))
        cdef Py_ssize_t i, j
        if keys == NULL or vals == NULL:
            free(keys)
            free(vals)
            raise MemoryError()
        for i in range(self.mcap):
            if self.mkeys[i] != 0:
                j = _slot(self.mkeys[i], cap)
                while keys[j] != 0:
                    j = (j + 1) & (cap - 1)
                keys[j] = self.mkeys[i]
                vals[j] = self.mvals[i]
        free(self.mkeys)
        free(self.mvals)
        self.mkeys, self.mvals, self.mcap = keys, vals, cap
        if self.keep is None:
            self.keep = []
        return 0

    cdef int handle(self, unsigned char tag, object v) except -1:
        cdef int overflow = 0
        cdef long long x = PyLong_AsLongLongAndOverflow(v.id, &overflow)
        if overflow:
            raise ValueError(f"{type(v).__name__} id {v.id} does not fit in 64 bits")
        self.u8(tag)
        return self.svarint(x)

    cdef int open(self) except -1:
        self.depth += 1
        if self.depth > C_MAX_NESTING:
            raise ValueError(f"value nested deeper than {C_MAX_NESTING} containers")
        return 0

    cdef int pack(self, object v) except -1:
        """The value ladder: exact types only, None and the bools before int."""
        cdef type t = type(v)
        cdef int overflow = 0
        cdef long long x
        cdef double d
        cdef Py_ssize_t n, idx
        if v is None:
            return self.u8(T_NONE)
        if v is True:
            return self.u8(T_TRUE)
        if v is False:
            return self.u8(T_FALSE)
        if t is int:
            x = PyLong_AsLongLongAndOverflow(v, &overflow)
            if overflow:
                raw = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
                self.u8(T_BIGINT)
                self.uvarint(<uint64_t>len(raw))
                return self.raw(PyBytes_AS_STRING(raw), PyBytes_GET_SIZE(raw))
            if 0 <= x < 128:
                return self.u8(<unsigned char>(T_SMALLINT + x))
            self.u8(T_INT)
            return self.svarint(x)
        if t is float:
            d = PyFloat_AS_DOUBLE(v)
            if d != d:
                idx = self.nan_seen(v)
                if idx >= 0:
                    self.u8(T_NANREF)
                    return self.uvarint(<uint64_t>idx)
            if _fits32(d):
                self.u8(T_FLOAT32)
                return self.f32(d)
            self.u8(T_FLOAT)
            return self.f64(d)
        if t is str:
            self.u8(T_STR)
            return self.string(<str>v)
        if t is bytes:
            n = PyBytes_GET_SIZE(v)
            self.u8(T_BYTES)
            self.uvarint(<uint64_t>n)
            return self.raw(PyBytes_AS_STRING(v), n)
        if t is list:
            idx = self.seen(v)
            if idx >= 0:
                self.u8(T_REF)
                return self.uvarint(<uint64_t>idx)
            self.open()
            self.u8(T_LIST)
            self.uvarint(<uint64_t>len(<list>v))
            for item in <list>v:
                self.pack(item)
            self.depth -= 1
            return 0
        if t is dict:
            idx = self.seen(v)
            if idx >= 0:
                self.u8(T_REF)
                return self.uvarint(<uint64_t>idx)
            self.open()
            self.u8(T_DICT)
            self.uvarint(<uint64_t>len(<dict>v))
            for key, item in (<dict>v).items():
                self.pack(key)
                self.pack(item)
            self.depth -= 1
            return 0
        if t is tuple:
            self.open()
            self.u8(T_TUPLE)
            self.uvarint(<uint64_t>len(<tuple>v))
            for item in <tuple>v:
                self.pack(item)
            self.depth -= 1
            return 0
        if t is _DSError:
            code = v.code
            if type(code) is not int:
                raise TypeError(f"a DSError code is an int, not {type(code).__name__}")
            x = PyLong_AsLongLongAndOverflow(code, &overflow)
            if overflow:
                raise ValueError(f"DSError code {code} does not fit in 64 bits")
            self.u8(T_CODEDERROR if x != 0 else T_ERROR)
            self.string(v.message)
            self.string(v.kind)
            return self.svarint(x) if x != 0 else 0
        if t is _Queue:
            return self.handle(T_QUEUE, v)
        if t is _Lock:
            return self.handle(T_LOCK, v)
        if t is _WaitGroup:
            return self.handle(T_WAITGROUP, v)
        info = _dataclass_info(t)
        if info is None:
            raise TypeError(f"cannot snapshot a value of type {t.__module__}.{t.__qualname__}")
        idx = self.seen(v)
        if idx >= 0:
            self.u8(T_REF)
            return self.uvarint(<uint64_t>idx)
        self.open()
        self.u8(T_DATACLASS)
        if self.classes is None:
            self.classes = {}
        num = self.classes.get(t)
        names = <tuple>info[1]
        if num is None:
            self.classes[t] = len(self.classes) + 1
            self.uvarint(0)
            self.string(<str>info[0])
            self.uvarint(<uint64_t>len(names))
            for name in names:
                self.string(<str>name)
        else:
            self.uvarint(<uint64_t>num)
        for name in names:
            self.pack(getattr(v, name))
        self.depth -= 1
        return 0

    cdef int oregisters(self, object regs, int fi) except -1:
        cdef Py_ssize_t j = 0
        _check_file(regs, fi, "O")
        self.uvarint(<uint64_t>len(regs))
        try:
            for v in regs:
                self.pack(v)
                j += 1
        except TypeError as e:
            raise TypeError(f"frame {fi} O[{j}]: {e}") from None
        except ValueError as e:
            raise ValueError(f"frame {fi} O[{j}]: {e}") from None
        return 0

    cdef int iregisters(self, object regs, int fi) except -1:
        cdef Py_ssize_t j = 0
        cdef int overflow = 0
        cdef bint tagged = False
        _check_file(regs, fi, "I")
        for v in regs:
            if type(v) is int:
                PyLong_AsLongLongAndOverflow(v, &overflow)
                tagged |= overflow != 0
            elif type(v) is bool:
                tagged = True
            else:
                raise TypeError(f"frame {fi} I[{j}]: an I register holds int values, got {type(v).__name__}")
            j += 1
        self.uvarint((<uint64_t>len(regs) << 1) | tagged)
        for v in regs:
            if tagged:
                self.pack(v)
            else:
                self.svarint(PyLong_AsLongLongAndOverflow(v, &overflow))
        return 0

    cdef int fregisters(self, object regs, int fi) except -1:
        cdef Py_ssize_t j = 0
        cdef Py_ssize_t idx
        cdef bint wide = False
        cdef bint nan = False
        cdef double d
        _check_file(regs, fi, "F")
        for v in regs:
            if type(v) is not float:
                raise TypeError(f"frame {fi} F[{j}]: an F register holds float values, got {type(v).__name__}")
            d = PyFloat_AS_DOUBLE(v)
            wide |= not _fits32(d)
            nan |= d != d
            j += 1
        self.uvarint((<uint64_t>len(regs) << 1) | wide)
        for v in regs:
            if wide:
                self.f64(PyFloat_AS_DOUBLE(v))
            else:
                self.f32(PyFloat_AS_DOUBLE(v))
        if nan:
            j = 0
            for v in regs:
                d = PyFloat_AS_DOUBLE(v)
                if d != d:
                    idx = self.nan_seen(v)
                    if idx >= 0:
                        self.nnan += 1          # read raw all the same: it takes a number
                        if self.links is None:
                            self.links = []
                        self.links.append((fi, j, idx))
                j += 1
        return 0

    cdef bytes seal(self, Py_ssize_t body_at):
        """Fill in the body length reserved at ``body_at``, append the CRC, return the bytes."""
        cdef Py_ssize_t body = self.len - body_at - 1
        cdef Py_ssize_t k = 1
        cdef uint64_t v = <uint64_t>body
        cdef unsigned char* p
        while v >= 0x80:
            v >>= 7
            k += 1
        if k > 1:
            self.ensure(k - 1)
            memmove(self.buf + body_at + k, self.buf + body_at + 1, body)
            self.len += k - 1
        p = self.buf + body_at
        v = <uint64_t>body
        while v >= 0x80:
            p[0] = <unsigned char>(v | 0x80)
            p += 1
            v >>= 7
        p[0] = <unsigned char>v
        self.u32(_crc32(self.buf, self.len))
        return PyBytes_FromStringAndSize(<char*>self.buf, self.len)


cdef int _check_file(object regs, int fi, str file) except -1:
    if type(regs) is not list and type(regs) is not tuple:
        raise TypeError(f"frame {fi}: register file {file} must be a list, got {type(regs).__name__}")
    return 0


cdef inline Py_ssize_t _reserve_length(_Writer w) except -1:
    cdef Py_ssize_t at = w.len
    w.u8(0)
    return at


cdef int _nonneg(object v, str what) except -1:
    if type(v) is not int or v < 0:
        raise ValueError(f"{what} must be a non-negative int, got {v!r}")
    return 0


def encode_snapshot(program_hash, state) -> bytes:
    """The snapshot of a VM state tuple ``(frames, pending, steps)`` (see ``_vm.pyi``)."""
    cdef _Writer w
    cdef Py_ssize_t body_at
    cdef int fi = 0
    if type(program_hash) is not bytes or PyBytes_GET_SIZE(program_hash) != HASH_SIZE:
        raise ValueError(f"program_hash must be {HASH_SIZE} bytes, got {program_hash!r:.80}")
    if type(state) is not tuple or len(<tuple>state) != 3:
        raise TypeError(f"state must be a (frames, pending, steps) tuple, got {type(state).__name__}")
    frames, pending, steps = <tuple>state
    if type(frames) is not list and type(frames) is not tuple:
        raise TypeError(f"state frames must be a list, got {type(frames).__name__}")
    if len(frames) == 0:
        raise ValueError("state has no frames")
    _nonneg(steps, "state steps")
    w = _Writer()
    w.raw(C_MAGIC, 4)
    w.uvarint(FORMAT_VERSION)
    w.raw(PyBytes_AS_STRING(program_hash), HASH_SIZE)
    body_at = _reserve_length(w)
    w.uvarint((<uint64_t>len(frames) << 1) | (1 if pending else 0))
    for frame in frames:
        if type(frame) is not tuple or len(<tuple>frame) != 5:
            raise TypeError(f"frame {fi} must be a (code_index, pc, O, I, F) tuple, got {frame!r:.80}")
        code_index, pc, O, I, F = <tuple>frame
        _nonneg(code_index, f"frame {fi} code_index")
        _nonneg(pc, f"frame {fi} pc")
        w.uvarint(<uint64_t>code_index)
        w.uvarint(<uint64_t>pc)
        w.oregisters(O, fi)
        w.iregisters(I, fi)
        w.fregisters(F, fi)
        fi += 1
    w.uvarint(<uint64_t>steps)
    if w.links is not None:
        w.u8(T_NANREF)
        w.uvarint(<uint64_t>len(w.links))
        for fi, j, idx in w.links:
            w.uvarint(<uint64_t>fi)
            w.uvarint(<uint64_t>j)
            w.uvarint(<uint64_t>idx)
    return w.seal(body_at)


def encode_value(value) -> bytes:
    """A self-contained copy of one flow value, for values crossing isolates."""
    cdef _Writer w = _Writer()
    cdef Py_ssize_t body_at
    w.raw(C_VALUE_MAGIC, 4)
    w.uvarint(FORMAT_VERSION)
    body_at = _reserve_length(w)
    w.pack(value)
    return w.seal(body_at)


# ---------------------------------------------------------------- reader

cdef object _plain_float(double d):
    """JSON has no NaN or infinities: those display as "nan", "inf", "-inf"."""
    if isnan(d) or isinf(d):
        return str(d)
    return d


@cython.final
cdef class _Reader:
    """A bounds-checked cursor over one blob, and the ladder that reads values back."""

    def __cinit__(self, bytes data, str what, object program, bint plain):
        self.data = data
        self.buf = <const unsigned char*>PyBytes_AS_STRING(data)
        self.pos = 0
        self.end = PyBytes_GET_SIZE(data)
        self.program = program
        self.plain = plain
        self.what = what

    cdef int fail(self, str reason) except -1:
        raise SnapshotFormatError(f"malformed {self.what} at offset {self.pos}: {reason}")

    cdef const unsigned char* take(self, Py_ssize_t n) except NULL:
        cdef const unsigned char* p
        if n > self.end - self.pos:
            raise SnapshotFormatError(
                f"truncated {self.what} at offset {self.pos}: "
                f"requested {n} bytes, remaining {self.end - self.pos}")
        p = self.buf + self.pos
        self.pos += n
        return p

    cdef int u8(self) except -1:
        if self.pos >= self.end:
            self.take(1)
        self.pos += 1
        return self.buf[self.pos - 1]

    cdef int uvarint(self, uint64_t* out) except -1:
        cdef uint64_t result = 0
        cdef int shift = 0
        cdef unsigned char b
        cdef Py_ssize_t start = self.pos
        while True:
            if self.pos >= self.end:
                self.take(1)
            b = self.buf[self.pos]
            self.pos += 1
            if shift == 63 and b > 1:
                self.pos = start
                self.fail("varint overflows 64 bits")
            result |= <uint64_t>(b & 0x7F) << shift
            if b < 0x80:
                out[0] = result
                return 0
            shift += 7

    cdef Py_ssize_t length(self, Py_ssize_t unit) except -1:
        """A length or count, proven to fit in the bytes left (``unit`` bytes per item at least)."""
        cdef uint64_t n
        cdef Py_ssize_t at = self.pos
        cdef Py_ssize_t left
        self.uvarint(&n)
        left = self.end - self.pos
        if n > <uint64_t>(left // unit):
            self.pos = at
            self.fail(f"length {n} exceeds the {left} bytes left")
        return <Py_ssize_t>n

    cdef int64_t svarint(self) except? -1:
        cdef uint64_t u
        self.uvarint(&u)
        return <int64_t>(u >> 1) ^ -<int64_t>(u & 1)

    cdef str string(self):
        cdef Py_ssize_t n = self.length(1)
        cdef const unsigned char* p = self.take(n)
        try:
            return PyUnicode_DecodeUTF8(<const char*>p, n, "surrogatepass")
        except UnicodeDecodeError as e:
            self.pos -= n
            self.fail(f"invalid UTF-8 in a string: {e.reason}")

    cdef int open(self) except -1:
        self.depth += 1
        if self.depth > C_MAX_NESTING:
            self.fail(f"values nested deeper than {C_MAX_NESTING} containers")
        return 0

    cdef Py_ssize_t begin(self, object v) except -1:
        """Give a memoized value its index as it starts (before its items, for cycles)."""
        cdef Py_ssize_t idx
        if self.memo is None:
            self.memo = []
            if self.plain:
                self.sizes = []
        idx = len(self.memo)
        if self.plain:
            v = {"__ref__": idx}           # what a cycle back into it shows
            self.sizes.append(-1)          # open
        self.memo.append(v)
        return idx

    cdef int finish(self, Py_ssize_t idx, Py_ssize_t start, object v) except -1:
        if self.plain:
            self.memo[idx] = v
            self.sizes[idx] = self.nodes - start
        return 0

    cdef object backref(self):
        cdef uint64_t u
        cdef Py_ssize_t size
        self.uvarint(&u)
        if u >= <uint64_t>self.memo_size():
            self.pos -= 1
            self.fail(f"back-reference to value {u}, only {self.memo_size()} seen")
        if self.plain:
            # shown again in full while the repeats stay under budget: a JSON
            # dump of a shared DAG would otherwise grow exponentially
            size = self.sizes[u]
            if size < 0 or self.repeated + size > DISPLAY_REPEAT_BUDGET:
                return {"__ref__": u}
            self.repeated += size
            self.nodes += size
        return self.memo[u]

    cdef object handle(self, object cls, str key):
        cdef int64_t id_ = self.svarint()
        if self.plain:
            return {key: id_}
        return cls(id_)

    cdef object resolve(self, str ref, tuple names):
        """The class a dataclass definition names, checked against its stored fields."""
        cls = None
        if self.program is not None:
            if self.types is None:
                self.types = {getattr(t, "ref", None): t for t in self.program.types}
            t = self.types.get(ref)
            if t is not None:
                cls = t.cls
        if cls is None:
            cls = _import_class(ref)
        info = _dataclass_info(cls)
        if info is None or (<PyTypeObject*>cls).tp_new == NULL:
            raise SnapshotProgramError(f"dataclass {ref!r} resolves to {cls!r}, which is not a dataclass")
        if info[1] != names:
            raise SnapshotProgramError(
                f"dataclass {ref!r} has fields ({', '.join(info[1])}), "
                f"the {self.what} stores ({', '.join(names)})")
        return cls

    cdef object dataclass_value(self):
        cdef uint64_t num
        cdef Py_ssize_t nf, i, idx, start
        self.uvarint(&num)
        if num == 0:
            ref = self.string()
            nf = self.length(1)
            names = tuple([self.string() for i in range(nf)])
            cls = None if self.plain else self.resolve(ref, names)
            if self.classes is None:
                self.classes = []
            self.classes.append((ref, names, cls))
        else:
            if self.classes is None or num > <uint64_t>len(self.classes):
                self.fail(f"dataclass number {num} was never defined")
            ref, names, cls = self.classes[num - 1]
        self.open()
        if self.plain:
            obj = {"__dataclass__": ref}
            start = self.nodes
            idx = self.begin(obj)
            for name in names:
                obj[name] = self.unpack()
            self.finish(idx, start, obj)
        else:
            obj = (<PyTypeObject*>cls).tp_new(cls, <PyObject*>_EMPTY, NULL)   # cls.__new__(cls), without the lookup
            self.begin(obj)
            for name in names:
                PyObject_GenericSetAttr(obj, name, self.unpack())
        self.depth -= 1
        return obj

    cdef Py_ssize_t memo_size(self):
        return 0 if self.memo is None else len(self.memo)

    cdef object unpack(self):
        """The value ladder backwards: one tagged value."""
        cdef int tag = self.u8()
        self.nodes += 1
        cdef Py_ssize_t n, i, start
        cdef Py_ssize_t idx = -1
        cdef uint64_t u
        cdef const unsigned char* p
        if tag >= T_SMALLINT:
            return tag - T_SMALLINT
        if tag == T_NONE:
            return None
        if tag == T_FALSE:
            return False
        if tag == T_TRUE:
            return True
        if tag == T_INT:
            return PyLong_FromLongLong(self.svarint())
        if tag == T_STR:
            return self.string()
        if tag == T_FLOAT:
            return self.raw_float(self.f64())
        if tag == T_FLOAT32:
            return self.raw_float(self.f32())
        if tag == T_LIST:
            n = self.length(1)
            self.open()
            lst = []
            start = self.nodes
            idx = self.begin(lst)
            for i in range(n):
                lst.append(self.unpack())
            self.finish(idx, start, lst)
            self.depth -= 1
            return lst
        if tag == T_DICT:
            n = self.length(2)
            self.open()
            dct = {}
            start = self.nodes
            idx = self.begin(dct)
            for i in range(n):
                key = self.unpack()
                item = self.unpack()
                if self.plain and type(key) is not str:
                    key = str(key)
                try:
                    dct[key] = item
                except TypeError as e:
                    self.fail(f"unusable dict key: {e}")
            self.finish(idx, start, dct)
            self.depth -= 1
            return dct
        if tag == T_TUPLE:
            n = self.length(1)
            self.open()
            items = [self.unpack() for i in range(n)]
            self.depth -= 1
            return items if self.plain else tuple(items)
        if tag == T_BYTES:
            n = self.length(1)
            p = self.take(n)
            raw = PyBytes_FromStringAndSize(<const char*>p, n)
            return raw.decode("utf-8", "backslashreplace") if self.plain else raw
        if tag == T_BIGINT:
            n = self.length(1)
            p = self.take(n)
            return int.from_bytes(PyBytes_FromStringAndSize(<const char*>p, n), "little", signed=True)
        if tag == T_ERROR or tag == T_CODEDERROR:
            message = self.string()
            kind = self.string()
            code = PyLong_FromLongLong(self.svarint()) if tag == T_CODEDERROR else 0
            if self.plain:
                return {"error": message, "kind": kind, "code": code} if code else {"error": message, "kind": kind}
            return _DSError(message, kind, code)
        if tag == T_QUEUE:
            return self.handle(_Queue, "queue")
        if tag == T_LOCK:
            return self.handle(_Lock, "lock")
        if tag == T_WAITGROUP:
            return self.handle(_WaitGroup, "waitgroup")
        if tag == T_DATACLASS:
            return self.dataclass_value()
        if tag == T_REF:
            return self.backref()
        if tag == T_NANREF:
            self.uvarint(&u)
            n = 0 if self.nans is None else len(self.nans)
            if u >= <uint64_t>n:
                self.pos -= 1
                self.fail(f"back-reference to NaN {u}, only {n} seen")
            return self.nans[u]
        self.pos -= 1
        self.fail(f"unknown value tag 0x{tag:02x}")

    cdef double f64(self) except? -1:
        cdef const unsigned char* p = self.take(8)
        cdef uint64_t bits = <uint64_t>_le32(p) | (<uint64_t>_le32(p + 4) << 32)
        cdef double d
        memcpy(&d, &bits, 8)
        return d

    cdef double f32(self) except? -1:
        cdef uint32_t bits = _le32(self.take(4))
        cdef float f
        memcpy(&f, &bits, 4)
        return <double>f

    cdef object float_value(self, double d):
        return _plain_float(d) if self.plain else PyFloat_FromDouble(d)

    cdef object raw_float(self, double d):
        """A float read as bits; a NaN takes the next number (see NaN identity)."""
        v = self.float_value(d)
        if d != d:
            if self.nans is None:
                self.nans = []
            self.nans.append(v)
        return v

    cdef Py_ssize_t flagged_count(self, Py_ssize_t unit0, Py_ssize_t unit1, bint* flag) except -1:
        """A ``count << 1 | flag`` uvarint; the count fits the bytes left at unit0
        (flag 0) or unit1 (flag 1) bytes an item."""
        cdef uint64_t u
        cdef Py_ssize_t at = self.pos
        cdef Py_ssize_t left
        self.uvarint(&u)
        flag[0] = u & 1
        left = self.end - self.pos
        if (u >> 1) > <uint64_t>(left // (unit1 if flag[0] else unit0)):
            self.pos = at
            self.fail(f"length {u >> 1} exceeds the {left} bytes left")
        return <Py_ssize_t>(u >> 1)

    cdef list oregisters(self):
        cdef Py_ssize_t n = self.length(1)
        cdef Py_ssize_t i
        return [self.unpack() for i in range(n)]

    cdef list iregisters(self):
        cdef bint tagged
        cdef Py_ssize_t n = self.flagged_count(1, 1, &tagged)
        cdef Py_ssize_t i
        if tagged:
            return [self.unpack() for i in range(n)]
        return [PyLong_FromLongLong(self.svarint()) for i in range(n)]

    cdef list fregisters(self):
        cdef bint wide
        cdef Py_ssize_t n = self.flagged_count(4, 8, &wide)
        cdef Py_ssize_t i
        if wide:
            return [self.raw_float(self.f64()) for i in range(n)]
        return [self.raw_float(self.f32()) for i in range(n)]

    cdef int open_blob(self, const char* magic, bint with_hash) except -1:
        """Check magic, version, length and checksum; leave the cursor on the body."""
        cdef const unsigned char* p = self.take(4)
        cdef uint64_t version, u
        cdef Py_ssize_t length, left
        cdef uint32_t stored, computed
        cdef int i
        if memcmp(p, magic, 4) != 0:
            raise SnapshotFormatError(
                f"not a deepslate {self.what}: bad magic, got {PyBytes_FromStringAndSize(<const char*>p, 4)!r}, "
                f"want {PyBytes_FromStringAndSize(magic, 4)!r}")
        self.uvarint(&version)
        if version != FORMAT_VERSION:
            raise SnapshotVersionError(
                f"unsupported {self.what} format version: got {version}, want {FORMAT_VERSION}")
        if with_hash:
            self.hash_at = self.pos
            self.take(HASH_SIZE)
        self.uvarint(&u)
        left = self.end - self.pos
        if left < 4 or u > <uint64_t>(left - 4):
            raise SnapshotFormatError(
                f"truncated {self.what} at offset {self.pos}: "
                f"requested {u + 4} bytes (body and checksum), remaining {left}")
        length = <Py_ssize_t>u
        if left - length > 4:
            raise TrailingDataError(
                f"{left - length - 4} bytes of trailing data after the {self.what} "
                f"(it ends at offset {self.pos + length + 4})")
        p = self.buf + self.pos + length
        stored = 0
        for i in range(4):
            stored |= <uint32_t>p[i] << (8 * i)
        computed = _crc32(self.buf, self.pos + length)
        if stored != computed:
            raise SnapshotFormatError(
                f"corrupted {self.what}: checksum mismatch, stored {stored:08x}, computed {computed:08x}")
        self.end = self.pos + length
        return 0

    cdef int close_blob(self) except -1:
        if self.pos != self.end:
            raise TrailingDataError(
                f"{self.end - self.pos} bytes left over at the end of the {self.what} body "
                f"(offset {self.pos})")
        return 0


cdef bytes _as_bytes(object data, str what):
    if type(data) is bytes:
        return <bytes>data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"a {what} is bytes, got {type(data).__name__}")


cdef object _wrap(_Reader r, Exception e):
    """An unexpected error from rebuilding a value, as the SnapshotError it means."""
    return SnapshotFormatError(f"malformed {r.what} near offset {r.pos}: {type(e).__name__}: {e}")


cdef int _check_frame(list codes, Py_ssize_t fi, object ci, object pc, list O, list I, list F) except -1:
    """A decoded frame must fit its code object, so the VM can trust it without checks."""
    if ci >= len(codes):
        raise SnapshotFormatError(
            f"frame {fi}: code index {ci} out of range, the program has {len(codes)} codes")
    code = codes[ci]
    ninsns = len(code.insns) // 4
    if pc >= ninsns:
        raise SnapshotFormatError(
            f"frame {fi}: pc {pc} out of range, {code.name!r} has {ninsns} instructions")
    if len(O) != code.n_o or len(I) != code.n_i or len(F) != code.n_f:
        for regs, file, count in ((O, "O", code.n_o), (I, "I", code.n_i), (F, "F", code.n_f)):
            if len(regs) != count:
                raise SnapshotFormatError(
                    f"frame {fi}: {len(regs)} {file} registers, {code.name!r} has {count}")
    for v in I:                        # tagged I registers could hold anything
        if type(v) is not int and type(v) is not bool:
            raise SnapshotFormatError(f"frame {fi}: I[{I.index(v)}] holds {type(v).__name__}, not int")
    return 0


cdef tuple _read_state(_Reader r, list codes):
    """The body of a snapshot; frames checked against ``codes`` unless it is None."""
    cdef Py_ssize_t nframes, fi
    cdef uint64_t u, steps
    cdef bint pending
    nframes = r.flagged_count(5, 5, &pending)     # a frame is 5 bytes at least
    if nframes == 0:
        r.fail("a snapshot has at least one frame")
    frames = []
    for fi in range(nframes):
        r.uvarint(&u)
        ci = u
        r.uvarint(&u)
        pc = u
        O = r.oregisters()
        I = r.iregisters()
        F = r.fregisters()
        if codes is not None:
            _check_frame(codes, fi, ci, pc, O, I, F)
        frames.append((ci, pc, O, I, F))
    r.uvarint(&steps)
    if r.pos < r.end and r.buf[r.pos] == T_NANREF:
        r.pos += 1
        _read_links(r, frames)
    r.close_blob()
    return frames, pending, steps


cdef int _read_links(_Reader r, list frames) except -1:
    """Give the F registers the links name the NaN objects they held when written."""
    cdef Py_ssize_t n = r.length(3)      # a link is 3 bytes at least
    cdef Py_ssize_t k
    cdef Py_ssize_t nnan = 0 if r.nans is None else len(r.nans)
    cdef uint64_t fi, j, num
    for k in range(n):
        r.uvarint(&fi)
        r.uvarint(&j)
        r.uvarint(&num)
        if fi >= <uint64_t>len(frames):
            r.fail(f"NaN link to frame {fi}, the snapshot has {len(frames)}")
        F = frames[fi][4]
        if j >= <uint64_t>len(F):
            r.fail(f"NaN link to F[{j}] of frame {fi}, which has {len(F)} F registers")
        x = F[j]
        if not (x != x if type(x) is float else x == "nan"):       # "nan": inspect's display
            r.fail(f"NaN link to F[{j}] of frame {fi}, which holds {x!r}, not a NaN")
        if num >= <uint64_t>nnan:
            r.fail(f"NaN link to NaN {num}, only {nnan} seen")
        F[j] = r.nans[num]
    return 0


def decode_snapshot(data, program) -> tuple:
    """The state tuple of a snapshot, checked against ``program`` (hash, frames, classes)."""
    cdef bytes b = _as_bytes(data, "snapshot")
    cdef _Reader r = _Reader(b, "snapshot", program, False)
    want = program.hash
    r.open_blob(C_MAGIC, True)
    if type(want) is not bytes or PyBytes_GET_SIZE(want) != HASH_SIZE or \
            memcmp(r.buf + r.hash_at, PyBytes_AS_STRING(want), HASH_SIZE) != 0:
        got = b[r.hash_at:r.hash_at + HASH_SIZE]
        raise SnapshotProgramError(
            f"snapshot belongs to program {got.hex()[:16]}, "
            f"not {want.hex()[:16] if type(want) is bytes and want else '(no hash)'}")
    codes = program.codes
    try:
        return _read_state(r, codes if type(codes) is list else list(codes))
    except SnapshotError:
        raise
    except (TypeError, ValueError, AttributeError, OverflowError, LookupError) as e:
        raise _wrap(r, e) from e


def inspect_snapshot(data) -> dict:
    """A snapshot as plain JSON-able data for display, without its program.

    Values: tuples as lists, non-str dict keys as str(), bytes as text with
    backslash escapes, NaN and the infinities as "nan"/"inf"/"-inf", DSError
    as {"error", "kind"} (and "code" when it is not 0), handles as {"queue"|"lock"|"waitgroup": id},
    dataclasses as {"__dataclass__": ref, field: value...}. A value met again
    is shown again in full until 100 000 repeated nodes in all, then as
    {"__ref__": n} (n counts memoized values in order); a cycle always is."""
    cdef bytes b = _as_bytes(data, "snapshot")
    cdef _Reader r = _Reader(b, "snapshot", None, True)
    r.open_blob(C_MAGIC, True)
    digest = b[r.hash_at:r.hash_at + HASH_SIZE]
    try:
        frames, pending, steps = _read_state(r, None)
    except SnapshotError:
        raise
    except (TypeError, ValueError, AttributeError, OverflowError, LookupError) as e:
        raise _wrap(r, e) from e
    return {
        "format_version": FORMAT_VERSION,
        "program_hash": digest.hex(),
        "frames": [{"code_index": ci, "pc": pc, "O": O, "I": I, "F": F}
                   for ci, pc, O, I, F in frames],
        "pending": pending,
        "steps": steps,
    }


cdef object _read_value(object data, object program, bint display):
    cdef bytes b = _as_bytes(data, "value")
    cdef _Reader r = _Reader(b, "value", program, display)
    r.open_blob(C_VALUE_MAGIC, False)
    try:
        v = r.unpack()
    except SnapshotError:
        raise
    except (TypeError, ValueError, AttributeError, OverflowError, LookupError) as e:
        raise _wrap(r, e) from e
    r.close_blob()
    return v


def inspect_value(data):
    """A value ``encode_value`` wrote, as plain JSON-able data for display, without a
    program (the rules of ``inspect_snapshot``)."""
    return _read_value(data, None, True)


def decode_value(data, program=None):
    """A fresh copy of the value ``encode_value`` wrote; dataclasses resolve through
    ``program``'s type table, else by importing their ref (see the module docstring)."""
    return _read_value(data, program, False)
