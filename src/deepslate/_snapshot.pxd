# cython: language_level=3
# The snapshot codec's header: value tags, the writer and the reader. The
# format itself is the grammar in _snapshot.pyx's docstring.
from libc.stdint cimport int64_t, uint32_t, uint64_t, uintptr_t


cdef enum:
    T_NONE = 0x00         # None
    T_FALSE = 0x01        # False
    T_TRUE = 0x02         # True
    T_INT = 0x03          # an int within 64 bits: svarint
    T_BIGINT = 0x04       # any other int: length, two's complement bytes
    T_FLOAT = 0x05        # binary64 bits
    T_STR = 0x06          # length, UTF-8
    T_BYTES = 0x07        # length, bytes
    T_LIST = 0x08         # count, items (memoized)
    T_DICT = 0x09         # count, key/item pairs (memoized)
    T_TUPLE = 0x0A        # count, items
    T_ERROR = 0x0B        # DSError: message, kind
    T_QUEUE = 0x0C        # handle id: svarint
    T_LOCK = 0x0D         # handle id: svarint
    T_WAITGROUP = 0x0E    # handle id: svarint
    T_DATACLASS = 0x0F    # class number (0: a definition follows), fields (memoized)
    T_REF = 0x10          # memo index of a value written before
    T_FLOAT32 = 0x11      # binary32 bits of a float exact in binary32
    T_NANREF = 0x12       # number of a NaN float written before; also opens the F links
    T_CODEDERROR = 0x13   # DSError with a code other than 0: message, kind, code svarint
    T_SMALLINT = 0x80     # 0x80 + n for the ints 0 <= n < 128

    SMALL_BUF = 256       # inline first chunk of a writer: small states never touch the heap


cdef class _Writer:
    # the buffer
    cdef unsigned char* buf       # small, or a PyMem block once grown
    cdef Py_ssize_t len           # bytes written
    cdef Py_ssize_t cap           # bytes allocated
    cdef unsigned char small[SMALL_BUF]
    # aliasing
    cdef uintptr_t* mkeys         # memo: open-addressing table of object addresses (0 = free) ...
    cdef Py_ssize_t* mvals        # ... and their memo indexes
    cdef Py_ssize_t mcap          # table slots, a power of two (0 until the first mutable value)
    cdef list keep                # the memoized objects, so their addresses stay theirs while we write
    cdef dict classes             # dataclass type -> its class number in this blob (from 1)
    # NaN identity
    cdef dict nan_ids             # id() of a NaN float written -> its NaN number
    cdef list nan_keep            # those floats, so their addresses stay theirs while we write
    cdef Py_ssize_t nnan          # NaN floats written raw so far (the reader numbers them alike)
    cdef list links               # (frame, register, number): F registers naming an earlier NaN
    cdef int depth                # containers currently open

    cdef int _grow(self, Py_ssize_t need) except -1
    cdef int ensure(self, Py_ssize_t n) except -1
    cdef int u8(self, unsigned char b) except -1
    cdef int uvarint(self, uint64_t v) except -1
    cdef int svarint(self, int64_t v) except -1
    cdef int raw(self, const void* p, Py_ssize_t n) except -1
    cdef int u32(self, uint32_t v) except -1
    cdef int f64(self, double d) except -1
    cdef int f32(self, double d) except -1
    cdef int string(self, str s) except -1
    cdef Py_ssize_t seen(self, object v) except -2
    cdef Py_ssize_t nan_seen(self, object v) except -2
    cdef int _memo_resize(self, Py_ssize_t cap) except -1
    cdef int handle(self, unsigned char tag, object v) except -1
    cdef int open(self) except -1
    cdef int pack(self, object v) except -1
    cdef int oregisters(self, object regs, int fi) except -1
    cdef int iregisters(self, object regs, int fi) except -1
    cdef int fregisters(self, object regs, int fi) except -1
    cdef bytes seal(self, Py_ssize_t body_at)


cdef class _Reader:
    # the cursor
    cdef bytes data               # keeps buf alive
    cdef const unsigned char* buf
    cdef Py_ssize_t pos           # next byte to read
    cdef Py_ssize_t end           # one past the last readable byte
    cdef Py_ssize_t hash_at       # offset of the program hash (snapshots)
    cdef str what                 # "snapshot" or "value", for messages
    # values
    cdef object program           # the Program resolving dataclasses, or None
    cdef dict types               # ref -> DataclassT from program.types, built on first use
    cdef list classes             # [(ref, names, cls)] by class number - 1
    cdef list memo                # memoized values by index (plain mode: a marker while open)
    cdef list nans                # NaN floats read raw, by number (NANREF's targets)
    cdef int depth                # containers currently open
    # display (inspect_snapshot)
    cdef bint plain               # JSON-able data instead of flow values
    cdef list sizes               # by memo index: nodes in the value once done, -1 while open
    cdef Py_ssize_t nodes         # values read so far, repeats shown in full included
    cdef Py_ssize_t repeated      # nodes shown again for back-references

    cdef int fail(self, str reason) except -1
    cdef const unsigned char* take(self, Py_ssize_t n) except NULL
    cdef int u8(self) except -1
    cdef int uvarint(self, uint64_t* out) except -1
    cdef Py_ssize_t length(self, Py_ssize_t unit) except -1
    cdef Py_ssize_t flagged_count(self, Py_ssize_t unit0, Py_ssize_t unit1, bint* flag) except -1
    cdef int64_t svarint(self) except? -1
    cdef double f64(self) except? -1
    cdef double f32(self) except? -1
    cdef str string(self)
    cdef int open(self) except -1
    cdef Py_ssize_t begin(self, object v) except -1
    cdef int finish(self, Py_ssize_t idx, Py_ssize_t start, object v) except -1
    cdef object backref(self)
    cdef Py_ssize_t memo_size(self)
    cdef object float_value(self, double d)
    cdef object raw_float(self, double d)
    cdef object handle(self, object cls, str key)
    cdef object resolve(self, str ref, tuple names)
    cdef object dataclass_value(self)
    cdef object unpack(self)
    cdef list oregisters(self)
    cdef list iregisters(self)
    cdef list fregisters(self)
    cdef int open_blob(self, const char* magic, bint with_hash) except -1
    cdef int close_blob(self) except -1
