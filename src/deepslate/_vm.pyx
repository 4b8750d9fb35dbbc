# cython: language_level=3
"""deepslate's interpreter core: frames, one dispatch loop, run/resume, faults.

The machine
-----------
A register machine. Each activation (``Frame``) owns three register files,
sized once from its ``Code`` (``n_o``, ``n_i``, ``n_f``) when it is pushed:

  O  ``PyObject*`` slots holding owned references (None when unused)
  I  unboxed C ``int64_t``. Python ints never overflow, so an I register whose
     value does not fit holds the marker ``INT_BIG`` (INT64_MIN, which is
     therefore never stored unboxed) and the Python int sits in the frame's
     ``ibig`` list at the same index. Every typed int instruction takes a C
     fast path when neither operand is the marker and the result neither
     overflows nor equals it; anything else (big operands, overflow, a zero
     divisor, a negative exponent) goes to one slow path that computes with
     Python's own operators, so results and error messages are Python's.
  F  unboxed C ``double``; the typed float instructions follow Python's rules
     (ZeroDivisionError for ``/ // %``, the divisor's sign for ``%``,
     OverflowError and friends for ``**`` by asking Python on the odd cases).
     A NaN in F is a tag naming a float object (see "NaN identity").

Encoding (see ``_opcodes.py``): four int32 words ``op a b c`` per instruction,
jump targets are instruction indices. ``CodeInfo`` copies each code's words
into a C array once per program and verifies every operand there (register
indexes against the file sizes, constants against their expected kinds, jump
targets, register ranges, call arities); the loop then reads operands without
checks. A ``DEEPSLATE_DEBUG`` build also checks pc and every register operand
on each instruction.

Frames sit in a list, outermost first. A frame below the top waits at its
``CALLFLOW`` (its pc points at it); the callee's ``RETURN`` writes the result
into the caller's ``O[a]`` of that instruction and continues after it.

Snapshots (``export_state``) may be taken whenever ``run`` is not executing:
while *pending* (the top pc names the EFFECT; after a restore ``pending()``
rebuilds the request from the registers) and while *ready* (after ``resume``
or a budget yield). Between two durable points the code is deterministic.

Stack or registers
------------------
Registers, for two measured reasons (``benchmarks/vm_table.py``, this
machine: 2 shared cores, Python 3.11, Cython 3.3, gcc -O2):

- Unboxing. A counting loop on typed I registers runs in 0.20-0.24x
  CPython's time over several runs; the same loop on boxed ints through the
  generic O instructions (what every slot of an object stack would hold)
  takes 1.3-1.5x. A register's file is fixed by the compiler, so unboxed
  slots need no type tag; a stack slot would need one per push.
- Fewer dispatches. Traced per opcode, CPython's stack bytecode executes
  13.7 instructions per iteration of the int loop and 17 of the float loop;
  the compiled register code executes 7.7 and 8. Each dispatch here costs
  about 1.5 ns (a NOP loop), so the count matters.

Rejected: a per-instruction step counter (it lived in memory in a loop this
size and cost ~35%); steps are counted per straight run when control leaves
it, and the budget is checked on taken jumps and calls, which every loop and
every recursion passes through, so ``run(budget)`` yields after at least
``budget`` instructions, at the next jump.

Values
------
The closed set of values a register (and a snapshot) may hold: None, bool,
int, float, str, bytes (immutable); list, dict (mutable, aliasing preserved by
snapshots); instances of the program's dataclasses; ``DSError``; the handles
``Queue``, ``Lock``, ``WaitGroup`` (immutable). Unboxed, I holds ints and
bools (as 0/1) and F holds floats. The VM does not police O values (the
compiler's types do); the snapshot codec rejects anything else by type name.
Bounds: ``MAX_DEPTH`` flow frames, ``MAX_LEN`` items in a list/str/bytes made
by ``+``/``*``, ``MAX_INT_BITS`` for ``**``; past them the isolate faults.

NaN identity
------------
CPython compares containers identity first (``x in xs``, ``[x] == xs``, a
dataclass's ``==``), so which NaN object a float variable names is visible.
An F register keeps it: every NaN in F is a tag, a quiet NaN whose high 32
bits are ``DS_NAN_TAG`` and whose low 32 bits index ``VM.nans``, the object
it stands for. ``UNBOXF`` of a NaN (and ``LOADKF`` of a NaN constant) tags
the object it reads; ``BOXF`` gives that object back; ``MOVEF`` copies the
bits, so the identity goes with the value as in Python. Every instruction
that can make a NaN checks its result (one compare, not taken for other
values) and then computes it again on the operands' real bits
(``_float_op``): the result is a new object with CPython's bits, never an
operand's tag (x86 would carry an operand's payload over). State export and
``frames_view`` hand out the objects. ``nans`` is compacted to the tags
still in the frames when ``run`` returns and whenever it reaches
``nan_limit`` (twice the live tags plus the F slots, at least 1024), so a
loop making NaNs keeps only the live ones. A restore tags the NaNs its state
holds; the snapshot codec keeps which of them are one object.

Isolation
---------
What user code does inside ``run`` fails this isolate alone (DESIGN 2.8). Any
exception raised while it runs, ``BaseException``s included (``SystemExit``,
``KeyboardInterrupt``, ``GeneratorExit``, ``CancelledError`` from a @pure
function or a dataclass's method), ends the isolate with a ``Fault`` that names
the flow's line; none leaves ``run``. (A ``KeyboardInterrupt`` that Python's
SIGINT handler raises while user code runs looks the same, and faults the
isolate too.) A @pure function's result enters the isolate as a copy (see
"@pure results enter the isolate as copies"), so flows never share an object
through a module, and a flow computes the same whether or not it was resumed
from a snapshot.
"""
cimport cython
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_FromLongLong
from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_FromDouble
from cpython.mem cimport PyMem_Malloc, PyMem_Free
from cpython.object cimport PyObject_Str, PyObject_RichCompareBool, Py_EQ, Py_NE, Py_LT, Py_LE, Py_GT, Py_GE, \
    PyObject_GenericSetAttr, PyTypeObject
from cpython.ref cimport PyObject, Py_INCREF, Py_XDECREF
from cpython.list cimport PyList_GET_SIZE, PyList_GET_ITEM, PyList_SET_ITEM, PyList_New, PyList_Append, \
    PyList_GetSlice, PyList_SetItem
from cpython.dict cimport PyDict_Contains, PyDict_GetItemWithError, PyDict_SetItem
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from libc.math cimport fmod, floor, pow, copysign, isfinite
from libc.stdint cimport int64_t, uint32_t, INT64_MIN
from libc.string cimport memset

from deepslate._opcodes cimport *

import dataclasses
import inspect
import math
import re
import weakref

from deepslate._opcodes import (
    CONST_OPERAND, JUMP_OPERAND, Op, OpcodeMax, RANGE_OPERAND, REGISTER_FILES, TERMINATORS,
)
from deepslate.program.model import FAULT, RETURN, YIELD, CallTarget, EffectSpec, Fault, TypeTest
from deepslate._values import DSError, Lock, Queue, WaitGroup

# The snapshot codec's public names are part of this module's API (a plain
# star import would also try to rebind this module's C-level names).
_OWN = {"VM", "VMError", "ProgramError", "MAX_DEPTH", "DEFAULT_BUDGET"}
try:
    import deepslate._snapshot as _snapshot
except ImportError:                     # the codec may be mid-build or not written yet
    _snapshot = None
else:                                   # never shadowing a name of ours
    globals().update({_n: getattr(_snapshot, _n) for _n in getattr(
        _snapshot, "__all__", [_n for _n in dir(_snapshot) if not _n.startswith("_")])
        if _n not in globals() and _n not in _OWN})

cdef extern from "Python.h":
    object PyObject_Vectorcall(object callable, PyObject** args, size_t nargsf, PyObject* kwnames)

cdef extern from *:
    """
    #if defined(CYTHON_TRACE) && CYTHON_TRACE
    #define DS_DEBUG 1
    #else
    #define DS_DEBUG 0
    #endif
    #define DS_BIG INT64_MIN
    /* the high 32 bits of a NaN in an F register (a quiet NaN): the low 32 index VM.nans */
    #define DS_NAN_TAG 0x7FF95A1EULL
    static inline int ds_isnan(double d) {
        return __builtin_expect(d != d, 0);
    }
    static inline double ds_nan_tag(uint32_t i) {
        uint64_t u = (DS_NAN_TAG << 32) | i;
        double d;
        memcpy(&d, &u, 8);
        return d;
    }
    /* the index a tag names, or -1 for any other value */
    static inline int64_t ds_nan_index(double d) {
        uint64_t u;
        memcpy(&u, &d, 8);
        return (u >> 32) == DS_NAN_TAG ? (int64_t)(uint32_t)u : -1;
    }
    /* nonzero when the fast path cannot be used: an operand or the result is
       (or would be) a Python int */
    static inline int ds_big2(int64_t x, int64_t y) {
        return (x == DS_BIG) | (y == DS_BIG);
    }
    static inline int ds_add(int64_t x, int64_t y, int64_t *r) {
        return (x == DS_BIG) | (y == DS_BIG) | __builtin_add_overflow(x, y, r) | (*r == DS_BIG);
    }
    static inline int ds_sub(int64_t x, int64_t y, int64_t *r) {
        return (x == DS_BIG) | (y == DS_BIG) | __builtin_sub_overflow(x, y, r) | (*r == DS_BIG);
    }
    static inline int ds_mul(int64_t x, int64_t y, int64_t *r) {
        return (x == DS_BIG) | (y == DS_BIG) | __builtin_mul_overflow(x, y, r) | (*r == DS_BIG);
    }
    /* Python's floor division and modulo for y != 0, x and y not DS_BIG (so no
       overflow); a 32-bit divide when both fit: 3.0 ns against 5.8 ns for the
       64-bit one, measured in a C loop on this machine */
    static inline void ds_floordivmod(int64_t x, int64_t y, int64_t *q, int64_t *m) {
        int64_t qq, mm;
        if ((uint64_t)x + 0x80000000ULL <= 0xFFFFFFFFULL &&
            (uint64_t)y + 0x80000000ULL <= 0xFFFFFFFFULL && y != -1) {
            qq = (int32_t)x / (int32_t)y;
            mm = (int32_t)x % (int32_t)y;
        } else {
            qq = x / y;
            mm = x % y;
        }
        if (mm != 0 && ((mm ^ y) < 0)) {
            mm += y;
            qq -= 1;
        }
        *q = qq;
        *m = mm;
    }
    /* s = s + t on a str that only this register holds: grow it in place, as
       CPython does for its own locals, instead of copying s each time */
    static inline int ds_can_append(PyObject *left, PyObject *right, Py_ssize_t max_len) {
        return left != right && PyUnicode_CheckExact(left) && PyUnicode_CheckExact(right)
               && Py_REFCNT(left) == 1
               && PyUnicode_GET_LENGTH(left) + PyUnicode_GET_LENGTH(right) <= max_len;
    }
    static int ds_append(PyObject **slot, PyObject *right) {
        PyUnicode_Append(slot, right);
        if (*slot == NULL) {
            Py_INCREF(Py_None);
            *slot = Py_None;
            return -1;
        }
        return 0;
    }
    /* a value copied as itself: None, bool, int, float, str, bytes (exact types) */
    static inline int ds_plain(PyObject *x) {
        PyTypeObject *t = Py_TYPE(x);
        return t == &PyLong_Type || t == &PyUnicode_Type || t == &PyFloat_Type || x == Py_None
               || t == &PyBool_Type || t == &PyBytes_Type;
    }
    /* 1 when v is a list, dict or tuple that only the caller's one reference reaches,
       made of plain values and (at most max_depth deep) more such containers, each
       held by its parent alone: then no one else can ever see or change any part of
       it, and it is its own copy. Any doubt (a shared part, a dataclass, a non-plain
       key, a cycle, which needs a second reference) answers 0: copy it. */
    static int ds_sole(PyObject *v, int max_depth) {
        PyTypeObject *t = Py_TYPE(v);
        Py_ssize_t i, n, pos = 0;
        PyObject *k, *x, **items;
        if (Py_REFCNT(v) != 1 || max_depth <= 0)
            return 0;
        if (t == &PyList_Type || t == &PyTuple_Type) {
            n = PySequence_Fast_GET_SIZE(v);
            items = PySequence_Fast_ITEMS(v);
            for (i = 0; i < n; i++) {
                x = items[i];
                if (!ds_plain(x) && !ds_sole(x, max_depth - 1))
                    return 0;
            }
            return 1;
        }
        if (t == &PyDict_Type) {
            while (PyDict_Next(v, &pos, &k, &x)) {
                if (!ds_plain(k) || (!ds_plain(x) && !ds_sole(x, max_depth - 1)))
                    return 0;
            }
            return 1;
        }
        return 0;
    }
    """
    const bint DS_DEBUG
    const int64_t INT_BIG "DS_BIG"
    bint ds_isnan(double d) nogil
    double ds_nan_tag(uint32_t i) nogil
    int64_t ds_nan_index(double d) nogil
    bint ds_big2(int64_t x, int64_t y) nogil
    bint ds_add(int64_t x, int64_t y, int64_t* r) nogil
    bint ds_sub(int64_t x, int64_t y, int64_t* r) nogil
    bint ds_mul(int64_t x, int64_t y, int64_t* r) nogil
    bint __builtin_mul_overflow(int64_t x, int64_t y, int64_t* r) nogil
    void ds_floordivmod(int64_t x, int64_t y, int64_t* q, int64_t* m) nogil
    bint ds_can_append(PyObject* left, PyObject* right, Py_ssize_t max_len)
    int ds_append(PyObject** slot, PyObject* right) except -1
    bint ds_plain(PyObject* x) noexcept
    bint ds_sole(PyObject* v, int max_depth) noexcept

MAX_DEPTH = 1000              # flow frames per isolate; deeper CALLFLOW faults with RecursionError
DEFAULT_BUDGET = 1_000_000    # instructions per run() before it yields
cdef int _MAX_DEPTH = MAX_DEPTH
cdef int _MAX_SPARE = 32
# Limits that keep one isolate from taking the process's memory: a sequence
# built by + or * (list, str, bytes), and an int made by ** (in bits).
MAX_LEN = 1 << 26
MAX_INT_BITS = 1 << 26
cdef Py_ssize_t _MAX_LEN = MAX_LEN
# print() lines kept until the next take_log (a durable point); past it they are counted
MAX_LOG_LINES = 10_000
cdef Py_ssize_t _MAX_LOG_LINES = MAX_LOG_LINES
cdef int64_t _EXACT = 9007199254740992   # ints up to this magnitude convert to double exactly
cdef Py_ssize_t _NAN_MIN_LIMIT = 1024    # NaN objects a VM keeps before its first compaction

# operand file letters per opcode, for the debug build's per-instruction check
cdef char _files[OP_MAX + 1][3]
for _op, _f in REGISTER_FILES.items():
    for _j, _ch in enumerate(_f):
        _files[int(_op)][_j] = ord(_ch)

cdef dict _OPNAMES = {int(o): o.name for o in Op}


class VMError(RuntimeError):
    """The VM was used out of order (run after a fault, resume while not pending ...)."""


class ProgramError(ValueError):
    """A program or a state does not fit the machine (bad operand, bad register count ...)."""


# ---------------------------------------------------------------------------
# per-code data, decoded and verified once per program

cdef class CodeInfo:
    def __dealloc__(self):
        PyMem_Free(self.insns)
        PyMem_Free(self.kn)
        PyMem_Free(self.kcopy)


cdef str _where(code, int pc):
    return f"code {code.name!r} pc {pc}"


cdef CodeInfo _decode(code, int index):
    cdef CodeInfo ci = CodeInfo.__new__(CodeInfo)
    cdef int j
    ci.code = code
    ci.index = index
    words = code.insns
    if len(words) % 4 or len(words) == 0:
        raise ProgramError(f"code {code.name!r}: insns has {len(words)} words, want a positive multiple of 4")
    ci.n_insns = len(words) // 4
    ci.insns = <int*>PyMem_Malloc(len(words) * sizeof(int))
    if ci.insns == NULL:
        raise MemoryError()
    for j in range(len(words)):
        ci.insns[j] = words[j]
    ci.consts = tuple(code.consts)
    ci.kn = <int*>PyMem_Malloc((len(ci.consts) + 1) * sizeof(int))
    ci.kcopy = <char*>PyMem_Malloc(len(ci.consts) + 1)
    if ci.kn == NULL or ci.kcopy == NULL:
        raise MemoryError()
    for j, k in enumerate(ci.consts):
        ci.kn[j] = k.nargs if isinstance(k, (CallTarget, EffectSpec)) else 0
        if ci.kn[j] < 0:
            raise ProgramError(f"code {code.name!r}: constant {j} has nargs {ci.kn[j]}")
        # a @pure function's result enters the isolate as a copy (see _pure_result); the
        # builtins and dataclass constructors the compiler lowers to CALL make fresh values
        ci.kcopy[j] = isinstance(k, CallTarget) and k.kind == "pure"
    # CallTarget.fn and TypeTest.check are bound by program.link.link, possibly after
    # decoding: cached here at first use
    ci.kfn = [None] * len(ci.consts)
    ci.n_o, ci.n_i, ci.n_f = code.n_o, code.n_i, code.n_f
    if ci.n_o < 0 or ci.n_i < 0 or ci.n_f < 0:
        raise ProgramError(f"code {code.name!r}: negative register count")
    ci.n_params = len(code.params)
    if ci.n_params > ci.n_o:
        raise ProgramError(f"code {code.name!r}: {ci.n_params} parameters but only {ci.n_o} O registers")
    if len(code.positions) < 2 * ci.n_insns:
        raise ProgramError(f"code {code.name!r}: positions has {len(code.positions)} words, "
                           f"want {2 * ci.n_insns}")
    return ci


_CONST_KINDS = {
    Op.LOADKI: (int,), Op.LOADKF: (float, int), Op.ISINSTANCE: (TypeTest,), Op.GETATTR: (str,),
    Op.SETATTR: (str,), Op.FORMAT: (str,), Op.CALL: (CallTarget,), Op.CALLFLOW: (int,),
    Op.EFFECT: (EffectSpec,),
}


cdef _verify(CodeInfo ci, list infos):
    """Check every operand once so that the loop may trust them."""
    cdef int pc, j
    sizes = {"O": ci.n_o, "I": ci.n_i, "F": ci.n_f}
    K = ci.consts
    for pc in range(ci.n_insns):
        words = [ci.insns[4 * pc + j] for j in range(4)]
        try:
            op = Op(words[0])
        except ValueError:
            continue                # an illegal opcode faults when (if) it is reached
        files = REGISTER_FILES[op]
        rng = RANGE_OPERAND.get(op)
        count = 0 if rng is None else words[rng[1] + 1] * (2 if op == Op.BUILDDICT else 1)
        for j, f in enumerate(files):
            v = words[j + 1]
            if f in "OIF":
                if rng is not None and j == rng[0]:
                    if count < 0 or (count and (v < 0 or v + count > ci.n_o)):
                        raise ProgramError(f"{_where(ci.code, pc)}: {op.name} register range "
                                           f"O[{v}..{v + count - 1}] outside 0..{ci.n_o - 1}")
                    continue
                if not 0 <= v < sizes[f]:
                    raise ProgramError(f"{_where(ci.code, pc)}: {op.name} operand {'abc'[j]} names "
                                       f"{f}[{v}] but the code has {sizes[f]} {f} registers")
            elif CONST_OPERAND.get(op) == j:
                if not 0 <= v < len(K):
                    raise ProgramError(f"{_where(ci.code, pc)}: {op.name} constant index {v} "
                                       f"outside 0..{len(K) - 1}")
                kinds = _CONST_KINDS.get(op)
                if kinds is not None and not isinstance(K[v], kinds):
                    raise ProgramError(f"{_where(ci.code, pc)}: {op.name} wants a constant of kind "
                                       f"{'/'.join(k.__name__ for k in kinds)}, got "
                                       f"{type(K[v]).__name__}")
            elif JUMP_OPERAND.get(op) == j:
                if not 0 <= v < ci.n_insns:
                    raise ProgramError(f"{_where(ci.code, pc)}: {op.name} jumps to {v}, "
                                       f"outside 0..{ci.n_insns - 1}")
        nargs = -1
        if op == Op.CALL or op == Op.EFFECT:
            nargs = K[words[2]].nargs
        elif op == Op.CALLFLOW:
            target = K[words[2]]
            if not 0 <= target < len(infos):
                raise ProgramError(f"{_where(ci.code, pc)}: CALLFLOW names code {target}, "
                                   f"outside 0..{len(infos) - 1}")
            nargs = (<CodeInfo>infos[target]).n_params
        if nargs > 0 and not (0 <= words[3] and words[3] + nargs <= ci.n_o):
            raise ProgramError(f"{_where(ci.code, pc)}: {op.name} arguments "
                               f"O[{words[3]}..{words[3] + nargs - 1}] outside 0..{ci.n_o - 1}")
    last = ci.insns[4 * (ci.n_insns - 1)]
    if last not in [int(t) for t in TERMINATORS]:
        raise ProgramError(f"code {ci.code.name!r}: the last instruction must be one of "
                           f"{sorted(t.name for t in TERMINATORS)}, got {_OPNAMES.get(last, last)}")


cdef list _program_infos(program):
    """CodeInfo per code, built and verified once per Program object."""
    # kept on the program, not in a WeakKeyDictionary: the infos reach the program again
    # (constants -> bound functions -> their module -> the Flow), so such an entry never died
    infos = getattr(program, "_vm_infos", None)
    if infos is None:
        codes = program.codes
        infos = [_decode(code, i) for i, code in enumerate(codes)]
        for ci in infos:
            _verify(ci, infos)
        program._vm_infos = infos
    return infos


# ---------------------------------------------------------------------------
# frames and register access

@cython.no_gc_clear             # __dealloc__ needs ci (for n_o)
cdef class Frame:
    def __dealloc__(self):
        cdef int j
        if self.O != NULL:
            for j in range(self.ci.n_o):
                Py_XDECREF(self.O[j])
        PyMem_Free(self.O)


cdef Frame _new_frame(CodeInfo ci):
    cdef Frame fr = Frame.__new__(Frame)
    cdef int j
    cdef size_t words = ci.n_o + ci.n_i + ci.n_f
    fr.ci = ci
    fr.pc = 0
    # one block for the three files: all slots are 8 bytes wide
    fr.O = <PyObject**>PyMem_Malloc((words if words else 1) * 8)
    if fr.O == NULL:
        raise MemoryError()
    fr.I = <int64_t*>(fr.O + ci.n_o)
    fr.F = <double*>(fr.I + ci.n_i)
    for j in range(ci.n_o):
        Py_INCREF(None)
        fr.O[j] = <PyObject*>None
    for j in range(ci.n_i):
        fr.I[j] = 0
    for j in range(ci.n_f):
        fr.F[j] = 0.0
    return fr


cdef inline Frame _top(list frames):
    return <Frame>PyList_GET_ITEM(frames, PyList_GET_SIZE(frames) - 1)


cdef inline void oset(PyObject** O, int a, object v) noexcept:
    cdef PyObject* old = O[a]
    Py_INCREF(v)
    O[a] = <PyObject*>v
    Py_XDECREF(old)


cdef inline object ibox(Frame fr, int r):
    cdef int64_t v = fr.I[r]
    if v == INT_BIG:
        return fr.ibig[r]
    return PyLong_FromLongLong(v)


cdef int iset(Frame fr, int r, object v) except -1:
    """Store the Python int v in I[r], unboxed when it fits."""
    cdef int overflow = 0
    cdef long long x = PyLong_AsLongLongAndOverflow(v, &overflow)
    if overflow == 0 and x != INT_BIG:
        fr.I[r] = x
        return 0
    if fr.ibig is None:
        fr.ibig = [None] * fr.ci.n_i
    fr.ibig[r] = int(v)
    fr.I[r] = INT_BIG
    return 0


def checked_pow(x, y):
    """x ** y (y >= 0), or OverflowError if it has more than MAX_INT_BITS bits; exact,
    without building a result that is too big."""
    ax = abs(x)
    if ax > 1 and y > 1:
        if ax & (ax - 1) == 0:
            too_big = y * (ax.bit_length() - 1) >= MAX_INT_BITS
        else:
            # bits = floor(y * log2 ax) + 1, and this estimate is off by under 1e-6 bit
            est = y * math.log2(ax)
            if abs(est - MAX_INT_BITS) < 1e-3:
                r = x ** y
                too_big = r.bit_length() > MAX_INT_BITS
                if not too_big:
                    return r
            else:
                too_big = est >= MAX_INT_BITS
        if too_big:
            raise OverflowError(f"int ** int would need more than {MAX_INT_BITS} bits")
    return x ** y


cdef int int_slow(Frame fr, int op, int a, int b, int c) except -1:
    """Typed int instructions on big operands, overflow, and Python's error cases."""
    x = ibox(fr, b)
    y = ibox(fr, c) if op != OP_INEG else None
    if op == OP_IADD:
        r = x + y
    elif op == OP_ISUB:
        r = x - y
    elif op == OP_IMUL:
        r = x * y
    elif op == OP_IFLOORDIV:
        r = x // y
    elif op == OP_IMOD:
        r = x % y
    elif op == OP_IPOW:
        if y < 0:
            raise ValueError("negative exponent in int ** int (the result would be a float)")
        r = checked_pow(x, y)
    elif op == OP_INEG:
        r = -x
    elif op == OP_IDIV:
        fr.F[a] = x / y
        return 0
    else:
        if op == OP_ILT:
            t = x < y
        elif op == OP_ILE:
            t = x <= y
        elif op == OP_IEQ:
            t = x == y
        elif op == OP_INE:
            t = x != y
        elif op == OP_IGT:
            t = x > y
        else:
            t = x >= y
        fr.I[a] = 1 if t else 0
        return 0
    iset(fr, a, r)
    return 0


cdef object too_long(object t, object n):
    return MemoryError(f"a {t.__name__} of {n} items is over the limit of {MAX_LEN}")


cdef object seq_add(object x, object y):
    t = type(x)
    if (t is list or t is str or t is bytes) and type(y) is t and len(x) + len(y) > _MAX_LEN:
        raise too_long(t, len(x) + len(y))
    return x + y


cdef object seq_mul(object x, object y):
    if type(y) is list or type(y) is str or type(y) is bytes:
        x, y = y, x
    t = type(x)
    if (t is list or t is str or t is bytes) and isinstance(y, int) and len(x) and y > _MAX_LEN // len(x):
        raise too_long(t, len(x) * y)
    return x * y


cdef double python_float_op(int op, double x, double y) except? -1.0:
    """A typed float instruction computed by Python's own float operators."""
    cdef object px = x, py = y
    if op == OP_FADD:
        r = px + py
    elif op == OP_FSUB:
        r = px - py
    elif op == OP_FMUL:
        r = px * py
    elif op == OP_FDIV:
        r = px / py
    elif op == OP_FFLOORDIV:
        r = px // py
    elif op == OP_FMOD:
        r = px % py
    else:
        r = px ** py
        if type(r) is complex:
            raise ValueError(f"negative number cannot be raised to a fractional power: {x!r} ** {y!r}")
    return r


cdef inline double float_mod(double x, double y) noexcept:
    # Python's float % (y != 0): the result takes the divisor's sign
    cdef double m = fmod(x, y)
    if m != 0.0:
        if (y < 0.0) != (m < 0.0):
            m += y
    else:
        m = copysign(0.0, y)
    return m


cdef inline double float_floordiv(double x, double y) noexcept:
    # Python's float // (y != 0), from the same fmod so that x == q*y + x%y holds
    cdef double m = fmod(x, y)
    cdef double d = (x - m) / y
    cdef double q
    if m != 0.0 and (y < 0.0) != (m < 0.0):
        d -= 1.0
    if d != 0.0:
        q = floor(d)
        if d - q > 0.5:
            q += 1.0
    else:
        q = copysign(0.0, x / y)
    return q


cdef int64_t int_pow(int64_t x, int64_t y, bint* ovf) noexcept:
    cdef int64_t r = 1
    while True:
        if y & 1:
            if __builtin_mul_overflow(r, x, &r):
                ovf[0] = True
                return 0
        y >>= 1
        if y == 0:
            break
        if __builtin_mul_overflow(x, x, &x):
            ovf[0] = True
            return 0
    ovf[0] = r == INT_BIG
    return r


cdef object unbox_error(str want, object v):
    return TypeError(f"expected {want}, got {type(v).__name__}")


cdef tuple oslice(PyObject** O, int start, int n):
    cdef tuple t = PyTuple_New(n)
    cdef int j
    cdef object v
    for j in range(n):
        v = <object>O[start + j]
        Py_INCREF(v)
        PyTuple_SET_ITEM(t, j, v)
    return t


# ---------------------------------------------------------------------------
# @pure results enter the isolate as copies

# Every value that crosses an isolate's boundary is copied (DESIGN 2.8). A @pure
# function may hand back an object its module keeps (a cached list, a constant
# dataclass): shared, every flow calling it would change that one object, and a
# flow resumed from a snapshot would hold a private copy where a flow that ran
# straight holds the shared one. So OP_CALL copies a @pure result by the
# snapshot codec's rules (``_snapshot._Writer.pack`` / ``_Reader.unpack``): exact
# types only; None, bool, int, float, str, bytes as they are; lists, dicts and
# dataclass instances fresh, each once, so aliasing and cycles inside the result
# are kept; tuples rebuilt by value; DSError and the handles rebuilt; dataclass
# instances made without ``__init__`` (``tp_new``, then the fields); at most
# MAX_NESTING containers deep. Anything else is a value no snapshot could hold,
# and the isolate faults at the call with a TypeError naming the function, not
# at its next durable point. tests/vm/test_isolation.py checks the copy against
# ``decode_value(encode_value(v))`` on generated values.
#
# Cost. Most @pure functions build their result: a list, dict or tuple of plain
# values and more such containers, each reachable through one reference only
# (``ds_sole``: reference counts of 1 all the way down, the call's own at the
# top) is already a private copy and is kept as it is; only a result something
# else still reaches (or one holding a dataclass, DSError or handle) is copied.
# The copy is direct, not the codec: a 10-int list takes 625 instructions
# (callgrind) against 7 500 for encode_value + decode_value, 80 ns against 440;
# three nested 2-int lists 1 500 against 8 900. Measured on a flow loop of
# 100 000 calls (this machine, best of 55 runs): a @pure returning an int
# unchanged (46-48 ns an iteration); a new 10-int list 67 -> 79 ns (the
# ds_sole check); a new list of three 2-int lists 120 -> 134 ns; a module's
# 10-int list, which is copied, 39 -> 86 ns.

cdef int _MAX_NESTING = _snapshot.MAX_NESTING if _snapshot is not None else 1000
cdef object _DSError = DSError
cdef object _Queue = Queue
cdef object _Lock = Lock
cdef object _WaitGroup = WaitGroup
cdef tuple _EMPTY = ()
cdef dict _dc_fields = {}       # type -> its dataclass field names, or False for any other class


class _Unholdable(Exception):
    """A @pure result holds something a snapshot could not: args[0] says what; ``deep``
    when it is the nesting, not a value."""

    def __init__(self, what, deep=False):
        super().__init__(what)
        self.deep = deep


cdef inline bint _plain(object v):
    """An immutable value that is copied as itself."""
    return ds_plain(<PyObject*>v)


cdef str _type_name(type t):
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


cdef object _fields_of(type t):
    """The field names of a dataclass the codec can rebuild, else False."""
    names = _dc_fields.get(t)
    if names is None:
        if isinstance(getattr(t, "__dataclass_fields__", None), dict) and (<PyTypeObject*>t).tp_new != NULL:
            names = tuple([f.name for f in dataclasses.fields(t)])
        else:
            names = False
        _dc_fields[t] = names
    return names


cdef enum:
    _MEMO_INLINE = 8            # mutable values a copy remembers without a dict


cdef struct _Copy:
    # one copy: the mutable values met so far (each copied once: aliasing and cycles
    # survive) and the nesting depth. The first few pairs sit here, strong references
    # compared by address; more go to a dict by address, the originals kept alive in a
    # list so that no address is reused while the copy runs (a dict of PyLong keys cost
    # about 200 instructions a value, half of a small nested copy).
    PyObject* orig[_MEMO_INLINE]
    PyObject* copy[_MEMO_INLINE]
    int n
    PyObject* memo              # dict or NULL
    PyObject* keep              # list or NULL
    int depth


cdef void _copy_clear(_Copy* st) noexcept:
    cdef int j
    for j in range(st.n):
        Py_XDECREF(st.orig[j])
        Py_XDECREF(st.copy[j])
    st.n = 0
    Py_XDECREF(st.memo)
    Py_XDECREF(st.keep)
    st.memo = NULL
    st.keep = NULL


cdef inline PyObject* _seen(_Copy* st, object v) except? NULL:
    """The copy made of v already (borrowed), or NULL."""
    cdef int j
    cdef PyObject* p = <PyObject*>v
    for j in range(st.n):
        if st.orig[j] == p:
            return st.copy[j]
    if st.memo != NULL:
        return PyDict_GetItemWithError(<object>st.memo, <Py_ssize_t>p)
    return NULL


cdef int _remember(_Copy* st, object v, object c) except -1:
    cdef list keep
    if st.n < _MEMO_INLINE:
        Py_INCREF(v)
        Py_INCREF(c)
        st.orig[st.n] = <PyObject*>v
        st.copy[st.n] = <PyObject*>c
        st.n += 1
        return 0
    if st.memo == NULL:
        memo = {}
        keep = []
        Py_INCREF(memo)
        Py_INCREF(keep)
        st.memo = <PyObject*>memo
        st.keep = <PyObject*>keep
    PyDict_SetItem(<object>st.memo, <Py_ssize_t><PyObject*>v, c)
    (<list>st.keep).append(v)
    return 0


cdef int _open(_Copy* st) except -1:
    st.depth += 1
    if st.depth > _MAX_NESTING:
        raise _Unholdable(f"a value nested deeper than {_MAX_NESTING} containers", True)
    return 0


cdef inline object _copy(_Copy* st, object v):
    if _plain(v):
        return v
    if type(v) is list:
        return _copy_list(st, <list>v)
    return _copy_other(st, v)


cdef object _copy_list(_Copy* st, list v):
    cdef Py_ssize_t j
    cdef PyObject* pv = _seen(st, v)
    if pv != NULL:
        return <object>pv
    _open(st)
    out = PyList_GetSlice(v, 0, PyList_GET_SIZE(v))    # then copy the items that are not plain
    _remember(st, v, out)
    for j in range(PyList_GET_SIZE(out)):
        x = <object>PyList_GET_ITEM(out, j)
        if not _plain(x):
            y = _copy(st, x)
            Py_INCREF(y)                                # PyList_SetItem steals it
            PyList_SetItem(out, j, y)
    st.depth -= 1
    return out


cdef object _copy_other(_Copy* st, object v):
    cdef type t = type(v)
    cdef Py_ssize_t j
    cdef int overflow = 0
    cdef PyObject* pv
    if t is dict:
        pv = _seen(st, v)
        if pv != NULL:
            return <object>pv
        _open(st)
        out = {}
        _remember(st, v, out)
        for key, x in (<dict>v).items():
            PyDict_SetItem(out, key if _plain(key) else _copy(st, key), x if _plain(x) else _copy(st, x))
        st.depth -= 1
        return out
    if t is tuple:
        _open(st)
        items = [_copy(st, (<tuple>v)[j]) for j in range(len(<tuple>v))]
        st.depth -= 1
        return tuple(items)
    if t is _DSError:
        if type(v.message) is not str or type(v.kind) is not str or type(v.code) is not int:
            raise _Unholdable("a DSError whose message or kind is not a str, or whose code is not an int")
        return _DSError(v.message, v.kind, v.code)
    if t is _Queue or t is _Lock or t is _WaitGroup:
        ident = v.id
        if type(ident) is not int:
            raise _Unholdable(f"a {t.__name__} whose id is not an int")
        PyLong_AsLongLongAndOverflow(ident, &overflow)
        if overflow:
            raise _Unholdable(f"a {t.__name__} whose id does not fit in 64 bits")
        return t(ident)
    names = _fields_of(t)
    if names is False:
        raise _Unholdable(_type_name(t))
    pv = _seen(st, v)
    if pv != NULL:
        return <object>pv
    _open(st)
    out = (<PyTypeObject*>t).tp_new(t, <PyObject*>_EMPTY, NULL)   # as the snapshot decoder does
    _remember(st, v, out)
    for name in <tuple>names:
        PyObject_GenericSetAttr(out, name, _copy(st, getattr(v, name)))
    st.depth -= 1
    return out


cdef object _copy_alone(object v):
    """A copy of v with a memo of its own."""
    cdef _Copy st
    st.n = 0
    st.memo = NULL
    st.keep = NULL
    st.depth = 0
    try:
        return _copy(&st, v)
    finally:
        _copy_clear(&st)


cdef str _path_to_unholdable(object v, set on_path):
    """Where in v the part no snapshot could hold sits ("[2]['k'].field"), found again
    by copying each part alone: only when a copy failed, so the copy needs no
    bookkeeping of its own. ``on_path``: ids of the containers above (cycles)."""
    cdef type t = type(v)
    on_path.add(id(v))
    if t is list or t is tuple:
        parts = [(f"[{j}]", x) for j, x in enumerate(v)]
    elif t is dict:
        parts = []
        for k, x in (<dict>v).items():
            parts.append((f"[<key {k!r}>]", k))
            parts.append((f"[{k!r}]", x))
    elif t is not _DSError and t is not _Queue and t is not _Lock and t is not _WaitGroup \
            and _fields_of(t) is not False:
        parts = [(f".{name}", getattr(v, name)) for name in <tuple>_fields_of(t)]
    else:
        return ""
    for step, x in parts:
        if id(x) in on_path:
            continue
        try:
            _copy_alone(x)
        except _Unholdable:
            return step + _path_to_unholdable(x, on_path)
    return ""


_MODULE_PREFIX = re.compile(r"\b(?:[A-Za-z_]\w*\.)+(?=[A-Za-z_])")


cdef str _declared(object fn):
    """A Python function's return annotation as written (module prefixes dropped), or ''."""
    try:
        ann = inspect.get_annotations(fn)
        if "return" not in ann:
            return ""
        r = ann["return"]
        if isinstance(r, str):
            return r
        if isinstance(r, type):
            return r.__qualname__
        return _MODULE_PREFIX.sub("", str(r))
    except Exception:
        return ""


cdef object _pure_result(object v, object target, object fn):
    """The copy of a @pure function's result that the isolate holds (see above)."""
    try:
        return _copy_alone(v)
    except _Unholdable as e:
        what = e.args[0]
        err = e
    path = "" if err.deep else _path_to_unholdable(v, set())
    declared = _declared(fn)
    raise TypeError(f"@pure {target.ref.replace(':', '.')} returned a value a flow cannot hold: "
                    f"{what}{' at ' + path if path else ''}"
                    f"{' (declared ' + declared + ')' if declared else ''}")


# ---------------------------------------------------------------------------
# the machine

cdef class VM:
    """One isolate's interpreter state (see the module docstring)."""

    def __cinit__(self, *args, **kwargs):
        self.nans = []
        self.nan_limit = _NAN_MIN_LIMIT

    def __init__(self, program, int code_index, args):
        cdef Frame fr
        cdef int j
        self.program = program
        self.infos = _program_infos(program)
        if not 0 <= code_index < len(self.infos):
            raise ProgramError(f"code index {code_index} outside 0..{len(self.infos) - 1}")
        cdef CodeInfo ci = self.infos[code_index]
        args = tuple(args)
        if len(args) != ci.n_params:
            raise TypeError(f"flow {ci.code.name!r} takes {ci.n_params} arguments, got {len(args)}")
        self.frames = []
        self.spare = []
        self.log = []
        self.log_dropped = 0
        self.steps = 0
        self.status = ST_READY
        self._push(ci)
        fr = _top(self.frames)
        for j in range(ci.n_params):
            oset(fr.O, j, args[j])

    cdef int _push(self, CodeInfo ci) except -1:
        if PyList_GET_SIZE(self.frames) >= _MAX_DEPTH:
            raise RecursionError(f"maximum flow call depth exceeded ({_MAX_DEPTH} frames)")
        # reusing a frame saves the object and block allocations: a recursive
        # fib(22) flow took 3.7 ms with it, 4.6 ms without
        if PyList_GET_SIZE(self.spare) and _top(self.spare).ci is ci:
            self.frames.append(self.spare.pop())
        else:
            self.frames.append(_new_frame(ci))
        return 0

    cdef int _pop(self) except -1:
        cdef Frame fr = self.frames.pop()
        cdef PyObject* old
        cdef int j
        if PyList_GET_SIZE(self.spare) >= _MAX_SPARE:
            return 0
        for j in range(fr.ci.n_o):
            old = fr.O[j]
            Py_INCREF(None)
            fr.O[j] = <PyObject*>None
            Py_XDECREF(old)
        memset(fr.I, 0, (fr.ci.n_i + fr.ci.n_f) * 8)
        fr.ibig = None
        fr.pc = 0
        self.spare.append(fr)
        return 0

    @staticmethod
    def from_state(program, state):
        """Rebuild a VM from ``export_state()``'s tuple (or the snapshot decoder's)."""
        cdef VM vm = VM.__new__(VM)
        cdef Frame fr
        cdef CodeInfo ci
        cdef int j, n, pc
        vm.program = program
        vm.infos = _program_infos(program)
        vm.frames = []
        vm.spare = []
        vm.log = []
        vm.log_dropped = 0
        if not isinstance(state, tuple) or len(state) != 3:
            raise ProgramError("state: want a tuple (frames, pending, steps)")
        frames, pending, steps = state
        if not isinstance(frames, list) or not frames:
            raise ProgramError("state: frames must be a non-empty list")
        if type(pending) is not bool or type(steps) is not int or steps < 0:
            raise ProgramError("state: pending must be a bool and steps a non-negative int")
        vm.steps = steps
        vm.status = ST_PENDING if pending else ST_READY
        for n, f in enumerate(frames):
            where = f"state frame {n}"
            if not isinstance(f, tuple) or len(f) != 5:
                raise ProgramError(f"{where}: want (code_index, pc, O, I, F)")
            idx, pc_, o, i, fl = f
            if type(idx) is not int or not 0 <= idx < len(vm.infos):
                raise ProgramError(f"{where}: code index {idx!r} outside 0..{len(vm.infos) - 1}")
            ci = vm.infos[idx]
            if type(pc_) is not int or not 0 <= pc_ < ci.n_insns:
                raise ProgramError(f"{where}: pc {pc_!r} outside 0..{ci.n_insns - 1}")
            pc = pc_
            op = ci.insns[4 * pc]
            top = n == len(frames) - 1
            if not top and op != OP_CALLFLOW:
                raise ProgramError(f"{where}: a caller frame must wait at CALLFLOW, "
                                   f"pc {pc} is {_OPNAMES.get(op, op)}")
            if top and pending and op != OP_EFFECT:
                raise ProgramError(f"{where}: a pending frame must wait at EFFECT, "
                                   f"pc {pc} is {_OPNAMES.get(op, op)}")
            for name, lst, size in (("O", o, ci.n_o), ("I", i, ci.n_i), ("F", fl, ci.n_f)):
                if not isinstance(lst, list) or len(lst) != size:
                    raise ProgramError(f"{where}: {name} must be a list of {size} values")
            if len(vm.frames) >= _MAX_DEPTH:
                raise ProgramError(f"state: more than {_MAX_DEPTH} frames")
            fr = _new_frame(ci)
            fr.pc = pc
            vm.frames.append(fr)
            for j in range(ci.n_o):
                oset(fr.O, j, o[j])
            for j in range(ci.n_i):
                if not isinstance(i[j], int):
                    raise ProgramError(f"{where}: I[{j}] is {type(i[j]).__name__}, want int")
                iset(fr, j, i[j])
            for j in range(ci.n_f):
                v = fl[j]
                if type(v) is not float:
                    raise ProgramError(f"{where}: F[{j}] is {type(v).__name__}, want float")
                fr.F[j] = vm._nan_tag(v) if ds_isnan(PyFloat_AS_DOUBLE(v)) else PyFloat_AS_DOUBLE(v)
        vm.nan_mark = PyList_GET_SIZE(vm.nans)
        return vm

    cdef int _expect(self, int status, str doing) except -1:
        if self.status == status:
            return 0
        raise VMError(f"cannot {doing}: " + {
            ST_UNSET: "the VM was never set up (use VM(...) or VM.from_state)",
            ST_READY: "the VM is not pending on an effect",
            ST_PENDING: "the VM is pending on an effect: resume() it first",
            ST_DONE: "the flow has returned",
            ST_FAULTED: f"the flow faulted ({self.fault!r})",
            ST_RUNNING: "the VM is running (called back from inside its own run)",
        }[self.status])

    def run(self, long long budget=DEFAULT_BUDGET):
        """Run until a durable point, the end of the flow, a fault or the budget;
        see _vm.pyi for the result."""
        self._expect(ST_READY, "run")
        if budget <= 0:
            raise ValueError(f"budget must be positive, got {budget}")
        self.status = ST_RUNNING
        result = self._run(budget)      # every exception raised while running is a fault
        # grown since the last compaction, or the flow returned and no frame names any
        if PyList_GET_SIZE(self.nans) > self.nan_mark or \
                (PyList_GET_SIZE(self.nans) and not PyList_GET_SIZE(self.frames)):
            try:
                self._nan_compact()
            except MemoryError:
                pass                    # the table stays as it is; the result must not be lost
        return result

    def resume(self, value):
        """Deliver the pending effect's result into its register; does not run."""
        self._expect(ST_PENDING, "resume")
        cdef Frame fr = _top(self.frames)
        oset(fr.O, fr.ci.insns[4 * fr.pc + 1], value)
        fr.pc += 1
        self.status = ST_READY

    def pending(self):
        """The (spec, args) the VM waits on, or None."""
        if self.status != ST_PENDING:
            return None
        cdef Frame fr = _top(self.frames)
        cdef const int* ip = fr.ci.insns + 4 * fr.pc
        spec = fr.ci.consts[ip[2]]
        return spec, oslice(fr.O, ip[3], fr.ci.kn[ip[2]])

    @property
    def done(self):
        return self.status == ST_DONE

    @property
    def faulted(self):
        return self.status == ST_FAULTED

    @property
    def nan_table_size(self):
        """NaN objects the F registers' tags may name (see "NaN identity")."""
        return PyList_GET_SIZE(self.nans)

    cdef double _nan_tag(self, object f) except? -1.0:
        """A new tag standing for the NaN float object f in F."""
        cdef Py_ssize_t i
        if PyList_GET_SIZE(self.nans) >= self.nan_limit:
            self._nan_compact()
        i = PyList_GET_SIZE(self.nans)
        if i > 0xFFFFFFFF:
            raise MemoryError("more live NaN floats than an F register tag can name")
        self.nans.append(f)
        return ds_nan_tag(<uint32_t>i)

    cdef object _nan_obj(self, double d):
        """The float object a NaN read from an F register stands for."""
        cdef int64_t i = ds_nan_index(d)
        if i < 0:
            return PyFloat_FromDouble(d)        # no tag: this VM did not write it
        if i >= PyList_GET_SIZE(self.nans):
            raise SystemError(f"F register NaN tag {i} outside the table of {PyList_GET_SIZE(self.nans)}")
        return <object>PyList_GET_ITEM(self.nans, i)

    cdef object _f_obj(self, double d):
        """An F register's value as the float Python sees."""
        if ds_isnan(d):
            return self._nan_obj(d)
        return PyFloat_FromDouble(d)

    cdef double _float_op(self, int op, double x, double y) except? -1.0:
        """A typed float instruction on its operands' real values (a tag's object's bits),
        for a NaN result, which is a new object as in CPython, and where C and Python
        differ (zero divisors, // and % and ** on odd values)."""
        cdef double r
        cdef bint two = ds_isnan(x) and ds_isnan(y)
        if ds_isnan(x):
            x = PyFloat_AS_DOUBLE(self._nan_obj(x))
        if ds_isnan(y):
            y = PyFloat_AS_DOUBLE(self._nan_obj(y))
        # CPython's float_add, _sub, _mul, _div and _neg are these C operations; with two NaN
        # operands the result is the one its compiler happened to put first: ask CPython then
        if op == OP_FNEG:
            r = -x
        elif two or not (op == OP_FADD or op == OP_FSUB or op == OP_FMUL or (op == OP_FDIV and y != 0.0)):
            r = python_float_op(op, x, y)
        elif op == OP_FADD:
            r = x + y
        elif op == OP_FSUB:
            r = x - y
        elif op == OP_FMUL:
            r = x * y
        else:
            r = x / y
        if ds_isnan(r):
            return self._nan_tag(PyFloat_FromDouble(r))
        return r

    cdef int _nan_compact(self) except -1:
        """Keep only the NaN objects the frames' F registers still name, renumbered."""
        cdef Frame fr
        cdef int j
        cdef int64_t i
        cdef Py_ssize_t k, slots = 0
        cdef list old = self.nans
        cdef list new = []
        cdef Py_ssize_t n = PyList_GET_SIZE(old)
        cdef Py_ssize_t* moved = <Py_ssize_t*>PyMem_Malloc((n if n else 1) * sizeof(Py_ssize_t))
        if moved == NULL:
            raise MemoryError()
        try:
            for k in range(n):
                moved[k] = -1
            for fr in self.frames:
                slots += fr.ci.n_f
                for j in range(fr.ci.n_f):
                    i = ds_nan_index(fr.F[j])
                    if 0 <= i < n and moved[i] < 0:
                        moved[i] = PyList_GET_SIZE(new)
                        new.append(<object>PyList_GET_ITEM(old, i))
            # renumbered only once nothing can fail: the tags and the table always agree
            for fr in self.frames:
                for j in range(fr.ci.n_f):
                    i = ds_nan_index(fr.F[j])
                    if 0 <= i < n:
                        fr.F[j] = ds_nan_tag(<uint32_t>moved[i])
        finally:
            PyMem_Free(moved)
        self.nans = new
        self.nan_mark = PyList_GET_SIZE(new)
        self.nan_limit = max(_NAN_MIN_LIMIT, 2 * self.nan_mark + slots)
        return 0

    def export_state(self):
        cdef Frame fr
        cdef int j
        if self.status != ST_PENDING:
            self._expect(ST_READY, "export the state")
        frames = []
        for fr in self.frames:
            frames.append((fr.ci.index, fr.pc,
                           [<object>fr.O[j] for j in range(fr.ci.n_o)],
                           [ibox(fr, j) for j in range(fr.ci.n_i)],
                           [self._f_obj(fr.F[j]) for j in range(fr.ci.n_f)]))
        return (frames, self.status == ST_PENDING, self.steps)

    def take_log(self):
        out = self.log
        self.log = []
        if self.log_dropped:
            out.append(f"... {self.log_dropped} more lines printed here were not kept "
                       f"(at most {MAX_LOG_LINES} between two durable points)")
            self.log_dropped = 0
        return out

    def frames_view(self):
        """[{'function', 'filename', 'line', 'col', 'locals'}], outermost first."""
        cdef Frame fr
        out = []
        for fr in self.frames:
            code = fr.ci.code
            line, col = code.position(fr.pc)
            local_values = {}
            for lv in code.locals:
                if not lv.start_pc <= fr.pc < lv.end_pc:
                    continue
                if lv.file == "I" and 0 <= lv.reg < fr.ci.n_i:
                    v = ibox(fr, lv.reg)
                    if getattr(lv.type, "name", None) == "bool":
                        v = bool(v)
                elif lv.file == "F" and 0 <= lv.reg < fr.ci.n_f:
                    v = self._f_obj(fr.F[lv.reg])
                elif lv.file == "O" and 0 <= lv.reg < fr.ci.n_o:
                    v = <object>fr.O[lv.reg]
                else:
                    continue
                local_values[lv.name] = v
            out.append({"function": code.name, "filename": code.filename, "line": line,
                        "col": col, "locals": local_values})
        return out

    cdef object _make_fault(self, object exc, int pc):
        cdef Frame fr
        frames = []
        for fr in self.frames:
            code = fr.ci.code
            p = pc if fr is _top(self.frames) else fr.pc
            line, col = code.position(p)
            frames.append((code.name, code.filename, line, col))
        name = type(exc).__name__
        try:
            text = str(exc)             # user code when the exception is the user's
        except BaseException:
            text = "<exception str() failed>"
        return Fault(f"{name}: {text}" if text else name, name, frames)

    @cython.cdivision(True)
    cdef object _run(self, long long budget):
        # The loop keeps the top frame's code, pc and register files in C locals
        # and reloads them only when CALLFLOW/RETURN switch frames.
        cdef Frame fr = _top(self.frames)
        cdef CodeInfo ci = fr.ci
        cdef const int* code = ci.insns
        cdef tuple K = ci.consts
        cdef PyObject** O = fr.O
        cdef int64_t* I = fr.I
        cdef double* F = fr.F
        cdef int pc = fr.pc
        cdef int start = pc           # first instruction of the straight run being executed
        cdef int op, a, b, c, j, n
        cdef const int* ip
        cdef long long left = budget
        cdef int64_t x, y, r
        cdef double dx, dy, dr
        cdef bint ovf
        cdef object result = None
        cdef object v, w
        cdef Frame callee
        cdef PyObject* pv
        try:
            while True:
                # pc - 1 is the current instruction from here on (faults use it)
                ip = code + 4 * pc
                op = ip[0]
                a = ip[1]
                b = ip[2]
                c = ip[3]
                pc += 1
                if DS_DEBUG:
                    _debug_check(ci, pc - 1, op, a, b, c)

                # -- ints
                if op == OP_IADD:
                    if ds_add(I[b], I[c], &r):
                        int_slow(fr, op, a, b, c)
                    else:
                        I[a] = r
                elif op == OP_ISUB:
                    if ds_sub(I[b], I[c], &r):
                        int_slow(fr, op, a, b, c)
                    else:
                        I[a] = r
                elif op == OP_IMUL:
                    if ds_mul(I[b], I[c], &r):
                        int_slow(fr, op, a, b, c)
                    else:
                        I[a] = r
                elif op == OP_IADDI:
                    if ds_add(I[b], c, &r):
                        iset(fr, a, ibox(fr, b) + c)
                    else:
                        I[a] = r
                elif op == OP_IFLOORDIV or op == OP_IMOD:
                    x = I[b]
                    y = I[c]
                    if x == INT_BIG or y == INT_BIG or y == 0:
                        int_slow(fr, op, a, b, c)
                    else:
                        ds_floordivmod(x, y, &x, &r)
                        I[a] = r if op == OP_IMOD else x
                elif op == OP_IPOW:
                    x = I[b]
                    y = I[c]
                    ovf = x == INT_BIG or y == INT_BIG or y < 0
                    if not ovf:
                        r = int_pow(x, y, &ovf)
                    if ovf:
                        int_slow(fr, op, a, b, c)
                    else:
                        I[a] = r
                elif op == OP_IDIV:
                    x = I[b]
                    y = I[c]
                    if -_EXACT <= x <= _EXACT and -_EXACT <= y <= _EXACT and y != 0:
                        F[a] = <double>x / <double>y
                    else:
                        int_slow(fr, op, a, b, c)
                elif op == OP_INEG:
                    if I[b] == INT_BIG:
                        int_slow(fr, op, a, b, c)
                    else:
                        I[a] = -I[b]
                # one case per comparison: a shared case would dispatch twice
                elif op == OP_ILT:
                    if ds_big2(I[b], I[c]):
                        int_slow(fr, op, a, b, c)
                    else:
                        I[a] = I[b] < I[c]
                elif op == OP_ILE:
                    if ds_big2(I[b], I[c]):
                        int_slow(fr, op, a, b, c)
                    else:
                        I[a] = I[b] <= I[c]
                elif op == OP_IEQ:
                    if ds_big2(I[b], I[c]):
                        int_slow(fr, op, a, b, c)
                    else:
                        I[a] = I[b] == I[c]
                elif op == OP_INE:
                    if ds_big2(I[b], I[c]):
                        int_slow(fr, op, a, b, c)
                    else:
                        I[a] = I[b] != I[c]
                elif op == OP_IGT:
                    if ds_big2(I[b], I[c]):
                        int_slow(fr, op, a, b, c)
                    else:
                        I[a] = I[b] > I[c]
                elif op == OP_IGE:
                    if ds_big2(I[b], I[c]):
                        int_slow(fr, op, a, b, c)
                    else:
                        I[a] = I[b] >= I[c]
                elif op == OP_NOT:
                    I[a] = I[b] == 0      # INT_BIG is nonzero, like every big int
                elif op == OP_LOADI:
                    I[a] = b
                elif op == OP_LOADKI:
                    iset(fr, a, K[b])
                elif op == OP_MOVEI:
                    I[a] = I[b]
                    if I[b] == INT_BIG:
                        fr.ibig[a] = fr.ibig[b]
                elif op == OP_BOXI:
                    oset(O, a, ibox(fr, b))
                elif op == OP_BOXB:
                    oset(O, a, I[b] != 0)
                elif op == OP_UNBOXI:
                    v = <object>O[b]
                    if not isinstance(v, int):
                        raise unbox_error("int", v)
                    x = PyLong_AsLongLongAndOverflow(v, &n)
                    if n == 0 and x != INT_BIG:       # n: the overflow flag
                        I[a] = x
                    else:
                        iset(fr, a, v)
                elif op == OP_ITOF:
                    if I[b] == INT_BIG:
                        F[a] = float(fr.ibig[b])
                    else:
                        F[a] = <double>I[b]

                # -- floats (a NaN result is made again by _float_op: see "NaN identity")
                elif op == OP_FADD:
                    dr = F[b] + F[c]
                    if ds_isnan(dr):
                        dr = self._float_op(op, F[b], F[c])
                    F[a] = dr
                elif op == OP_FSUB:
                    dr = F[b] - F[c]
                    if ds_isnan(dr):
                        dr = self._float_op(op, F[b], F[c])
                    F[a] = dr
                elif op == OP_FMUL:
                    dr = F[b] * F[c]
                    if ds_isnan(dr):
                        dr = self._float_op(op, F[b], F[c])
                    F[a] = dr
                elif op == OP_FDIV:
                    if F[c] == 0.0:
                        dr = self._float_op(op, F[b], F[c])
                    else:
                        dr = F[b] / F[c]
                        if ds_isnan(dr):
                            dr = self._float_op(op, F[b], F[c])
                    F[a] = dr
                elif op == OP_FFLOORDIV:
                    if F[c] == 0.0:
                        dr = self._float_op(op, F[b], F[c])
                    else:
                        dr = float_floordiv(F[b], F[c])
                        if ds_isnan(dr):
                            dr = self._float_op(op, F[b], F[c])
                    F[a] = dr
                elif op == OP_FMOD:
                    if F[c] == 0.0:
                        dr = self._float_op(op, F[b], F[c])
                    else:
                        dr = float_mod(F[b], F[c])
                        if ds_isnan(dr):
                            dr = self._float_op(op, F[b], F[c])
                    F[a] = dr
                elif op == OP_FPOW:
                    dx = F[b]
                    dy = F[c]
                    dr = pow(dx, dy)
                    # C's pow agrees with Python for a finite positive base and result
                    if not (dx > 0.0 and isfinite(dx) and isfinite(dy) and isfinite(dr)):
                        dr = self._float_op(op, dx, dy)
                    F[a] = dr
                elif op == OP_FNEG:
                    dr = -F[b]
                    if ds_isnan(dr):
                        dr = self._float_op(op, F[b], 0.0)
                    F[a] = dr
                elif op == OP_FLT:
                    I[a] = F[b] < F[c]
                elif op == OP_FLE:
                    I[a] = F[b] <= F[c]
                elif op == OP_FEQ:
                    I[a] = F[b] == F[c]
                elif op == OP_FNE:
                    I[a] = F[b] != F[c]
                elif op == OP_FGT:
                    I[a] = F[b] > F[c]
                elif op == OP_FGE:
                    I[a] = F[b] >= F[c]
                elif op == OP_LOADKF:
                    v = K[b]
                    if type(v) is float:
                        dr = PyFloat_AS_DOUBLE(v)
                        if ds_isnan(dr):        # a NaN constant is one object, as in CPython
                            dr = self._nan_tag(v)
                        F[a] = dr
                    else:
                        F[a] = float(v)
                elif op == OP_MOVEF:
                    F[a] = F[b]
                elif op == OP_BOXF:
                    dr = F[b]
                    if ds_isnan(dr):
                        oset(O, a, self._nan_obj(dr))
                    else:
                        oset(O, a, dr)
                elif op == OP_UNBOXF:
                    v = <object>O[b]
                    if type(v) is float:
                        dr = PyFloat_AS_DOUBLE(v)
                        if ds_isnan(dr):
                            dr = self._nan_tag(v)
                        F[a] = dr
                    elif isinstance(v, int):
                        F[a] = float(v)
                    else:
                        raise unbox_error("float", v)

                # -- jumps
                elif op == OP_JUMP or op == OP_JUMPIF or op == OP_JUMPIFNOT:
                    if op != OP_JUMP:
                        if (I[a] != 0) == (op == OP_JUMPIFNOT):
                            continue            # not taken: the straight run goes on
                        a = b
                    # steps are counted per straight run when control leaves it,
                    # and the budget is checked there: every loop takes a jump
                    left -= pc - start
                    pc = start = a
                    if left <= 0:
                        result = (YIELD, ())
                        break

                # -- objects
                elif op == OP_LOADK:
                    oset(O, a, K[b])
                elif op == OP_LOADNONE:
                    oset(O, a, None)
                elif op == OP_MOVE:
                    oset(O, a, <object>O[b])
                elif op == OP_ADD:
                    if a == b and ds_can_append(O[a], O[c], _MAX_LEN):
                        ds_append(O + a, O[c])
                    else:
                        oset(O, a, seq_add(<object>O[b], <object>O[c]))
                elif op == OP_MUL:
                    oset(O, a, seq_mul(<object>O[b], <object>O[c]))
                elif op == OP_EQ:
                    I[a] = PyObject_RichCompareBool(<object>O[b], <object>O[c], Py_EQ)
                elif op == OP_NE:
                    I[a] = PyObject_RichCompareBool(<object>O[b], <object>O[c], Py_NE)
                elif op == OP_LT:
                    I[a] = PyObject_RichCompareBool(<object>O[b], <object>O[c], Py_LT)
                elif op == OP_LE:
                    I[a] = PyObject_RichCompareBool(<object>O[b], <object>O[c], Py_LE)
                elif op == OP_GT:
                    I[a] = PyObject_RichCompareBool(<object>O[b], <object>O[c], Py_GT)
                elif op == OP_GE:
                    I[a] = PyObject_RichCompareBool(<object>O[b], <object>O[c], Py_GE)
                elif op == OP_IN:
                    w = <object>O[c]
                    if type(w) is dict:
                        I[a] = PyDict_Contains(w, <object>O[b])
                    else:
                        I[a] = (<object>O[b]) in w
                elif op == OP_TRUTHY:
                    I[a] = bool(<object>O[b])
                elif op == OP_ISNONE:
                    I[a] = O[b] == <PyObject*>None
                elif op == OP_ISINSTANCE:
                    w = <object>PyList_GET_ITEM(ci.kfn, c)
                    if w is None:
                        w = K[c].check
                        if w is None:
                            raise VMError(f"type test for {K[c].type} is not linked")
                        ci.kfn[c] = w
                    I[a] = bool(w(<object>O[b]))

                # -- containers and fields
                elif op == OP_BUILDLIST:
                    v = PyList_New(c)
                    for j in range(c):
                        w = <object>O[b + j]
                        Py_INCREF(w)
                        PyList_SET_ITEM(v, j, w)
                    oset(O, a, v)
                elif op == OP_BUILDDICT:
                    v = {}
                    for j in range(c):
                        v[<object>O[b + 2 * j]] = <object>O[b + 2 * j + 1]
                    oset(O, a, v)
                elif op == OP_INDEX:
                    v = <object>O[b]
                    if type(v) is dict:
                        pv = PyDict_GetItemWithError(v, <object>O[c])
                        if pv == NULL:
                            raise KeyError(<object>O[c])
                        oset(O, a, <object>pv)
                    else:
                        oset(O, a, v[<object>O[c]])
                elif op == OP_INDEXI:
                    v = <object>O[b]
                    x = I[c]
                    if type(v) is list and 0 <= x < PyList_GET_SIZE(v):
                        oset(O, a, <object>PyList_GET_ITEM(v, x))
                    else:
                        oset(O, a, v[ibox(fr, c)])
                elif op == OP_STOREINDEX:
                    v = <object>O[a]
                    if type(v) is dict:
                        PyDict_SetItem(v, <object>O[b], <object>O[c])
                    else:
                        v[<object>O[b]] = <object>O[c]
                elif op == OP_STOREINDEXI:
                    v = <object>O[a]
                    x = I[b]
                    if type(v) is list and 0 <= x < PyList_GET_SIZE(v):
                        w = <object>O[c]
                        Py_INCREF(w)
                        Py_XDECREF(PyList_GET_ITEM(v, x))
                        PyList_SET_ITEM(v, x, w)
                    else:
                        v[ibox(fr, b)] = <object>O[c]
                elif op == OP_LEN:
                    v = <object>O[b]
                    I[a] = PyList_GET_SIZE(v) if type(v) is list else len(v)
                elif op == OP_APPEND:
                    v = <object>O[a]
                    if type(v) is list:
                        PyList_Append(v, <object>O[b])
                    else:
                        v.append(<object>O[b])
                elif op == OP_GETATTR:
                    oset(O, a, getattr(<object>O[b], K[c]))
                elif op == OP_SETATTR:
                    setattr(<object>O[a], K[b], <object>O[c])
                elif op == OP_TOLIST:
                    oset(O, a, list(<object>O[b]))
                elif op == OP_FORMAT:
                    oset(O, a, format(<object>O[b], K[c]))
                elif op == OP_JOINSTR:
                    oset(O, a, "".join(oslice(O, b, c)))
                elif op == OP_PRINT:
                    if PyList_GET_SIZE(self.log) < _MAX_LOG_LINES:
                        self.log.append(" ".join([str(<object>O[a + j]) for j in range(b)]))
                    else:
                        self.log_dropped += 1

                # -- calls and durable points
                elif op == OP_CALL:
                    w = <object>PyList_GET_ITEM(ci.kfn, b)
                    if w is None:
                        w = K[b].fn
                        if w is None:
                            raise VMError(f"call target {K[b].ref!r} is not linked")
                        ci.kfn[b] = w
                    if w is str and ci.kn[b] == 1:
                        # str has no vectorcall in 3.11; CPython specialises str(x) the same way
                        oset(O, a, PyObject_Str(<object>O[c]))
                    else:
                        v = PyObject_Vectorcall(w, O + c, <size_t>ci.kn[b], NULL)
                        # v holds the call's one reference to its result here
                        if ci.kcopy[b] and not ds_plain(<PyObject*>v) and not ds_sole(<PyObject*>v, _MAX_NESTING):
                            v = _pure_result(v, K[b], w)     # a copy, or a TypeError naming the function
                        oset(O, a, v)
                elif op == OP_CALLFLOW:
                    fr.pc = pc - 1
                    self._push(<CodeInfo>self.infos[K[b]])
                    callee = _top(self.frames)
                    for j in range(callee.ci.n_params):
                        oset(callee.O, j, <object>O[c + j])
                    fr = callee
                    ci = fr.ci
                    code = ci.insns
                    K = ci.consts
                    O = fr.O
                    I = fr.I
                    F = fr.F
                    left -= pc - start
                    pc = start = 0
                    if left <= 0:
                        result = (YIELD, ())
                        break
                elif op == OP_RETURN or op == OP_RETURNNONE:
                    v = <object>O[a] if op == OP_RETURN else None
                    left -= pc - start
                    start = pc
                    self._pop()
                    if not self.frames:
                        self.status = ST_DONE
                        result = (RETURN, (v,))
                        break
                    fr = _top(self.frames)
                    ci = fr.ci
                    code = ci.insns
                    K = ci.consts
                    O = fr.O
                    I = fr.I
                    F = fr.F
                    pc = fr.pc
                    oset(O, code[4 * pc + 1], v)
                    pc += 1
                    start = pc
                elif op == OP_EFFECT:
                    v = K[b]
                    result = (v, oslice(O, c, ci.kn[b]))
                    left -= pc - start
                    pc -= 1
                    start = pc
                    self.status = ST_PENDING
                    break
                elif op == OP_NOP:
                    pass
                else:
                    raise SystemError(f"illegal opcode {op} ({_OPNAMES.get(op, 'not in the table')}) "
                                      f"at {_where(ci.code, pc - 1)}")
        except BaseException as e:
            # Any exception from user code fails this isolate alone (DESIGN 2.8): SystemExit,
            # KeyboardInterrupt, GeneratorExit, CancelledError and the user's own
            # BaseExceptions too, so none can stop the engine's worker. Faulted first: if
            # building the Fault were interrupted in turn, the VM still refuses to go on.
            left -= pc - start
            pc -= 1
            start = pc
            self.status = ST_FAULTED
            self.fault = self._make_fault(e, pc)
            result = (FAULT, (self.fault,))
        if self.status == ST_RUNNING:
            self.status = ST_READY      # a yield
        fr.pc = pc
        self.steps += budget - left
        return result


cdef int _debug_check(CodeInfo ci, int pc, int op, int a, int b, int c) except -1:
    cdef int j, v, size
    cdef int operands[3]
    if not 0 <= pc < ci.n_insns:
        raise SystemError(f"pc {pc} outside {ci.code.name!r} (0..{ci.n_insns - 1})")
    if not 0 <= op <= OP_MAX:
        return 0
    operands[0] = a
    operands[1] = b
    operands[2] = c
    for j in range(3):
        if _files[op][j] == b'O':
            size = ci.n_o
        elif _files[op][j] == b'I':
            size = ci.n_i
        elif _files[op][j] == b'F':
            size = ci.n_f
        else:
            continue
        v = operands[j]
        if not 0 <= v < size and not op in (OP_BUILDLIST, OP_BUILDDICT, OP_JOINSTR, OP_PRINT):
            raise SystemError(f"{_where(ci.code, pc)}: operand {j} register {v} outside 0..{size - 1}")
    return 0
