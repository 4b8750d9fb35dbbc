# The header of the interpreter core: the machine's state, one block per
# class. Behaviour lives in _vm.pyx; its module docstring describes the machine.
from cpython.ref cimport PyObject
from libc.stdint cimport int64_t


cdef enum VMStatus:
    ST_UNSET = 0        # made by __new__ alone: nothing to run
    ST_READY = 1        # may run: fresh, resumed, or yielded on the budget
    ST_PENDING = 2      # suspended at the EFFECT at the top frame's pc
    ST_DONE = 3         # the entry flow returned
    ST_FAULTED = 4      # a fault ended the isolate; run() refuses
    ST_RUNNING = 5      # inside run(): a call back into this VM is refused


cdef class CodeInfo:
    # decoded once per Code and shared by every frame and VM running it
    cdef object code            # the program.model.Code
    cdef int index              # its index in Program.codes
    cdef int* insns             # a private copy of code.insns: op a b c per instruction
    cdef int n_insns
    cdef tuple consts
    cdef int n_o, n_i, n_f      # register counts per file
    cdef int n_params           # boxed arguments arriving in O[0..n_params-1]
    cdef int* kn                # per constant: nargs of a CallTarget/EffectSpec, else 0
    cdef char* kcopy            # per constant: 1 for a @pure CallTarget (its result is copied), else 0
    cdef list kfn               # per constant: a CallTarget's fn or TypeTest's check once used, else None


cdef class Frame:
    # one activation of a flow; all slots allocated once, at the push
    cdef CodeInfo ci
    cdef int pc                 # next instruction; the CALLFLOW/EFFECT it waits at when suspended
    cdef PyObject** O           # n_o owned references, None when unused
    cdef int64_t* I             # n_i unboxed ints; INT_BIG marks a Python int kept in ibig
    cdef double* F              # n_f unboxed doubles; a NaN is a tag naming VM.nans[i]
    cdef list ibig              # I values that do not fit int64, by register; None until needed


cdef class VM:
    cdef readonly object program
    cdef readonly long long steps   # instructions executed in this isolate, over all runs
    cdef list infos             # CodeInfo per Program.codes entry
    cdef list frames            # Frame, outermost first
    cdef list spare             # returned frames, cleared, for the next calls of the same code
    cdef int status             # a VMStatus
    cdef list log               # print() lines not yet taken
    cdef Py_ssize_t log_dropped # lines printed past MAX_LOG_LINES since the last take
    cdef object fault           # the Fault that ended the isolate
    cdef list nans              # the NaN float objects F registers name, by tag index
    cdef Py_ssize_t nan_limit   # compact nans when it reaches this size
    cdef Py_ssize_t nan_mark    # its size after the last compaction

    cdef object _run(self, long long budget)
    cdef object _make_fault(self, object exc, int pc)
    cdef int _push(self, CodeInfo ci) except -1
    cdef int _pop(self) except -1
    cdef int _expect(self, int status, str doing) except -1
    cdef double _nan_tag(self, object f) except? -1.0
    cdef object _nan_obj(self, double d)
    cdef object _f_obj(self, double d)
    cdef double _float_op(self, int op, double x, double y) except? -1.0
    cdef int _nan_compact(self) except -1
