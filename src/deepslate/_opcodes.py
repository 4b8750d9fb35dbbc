"""The one opcode table of deepslate's bytecode.

The machine is a register machine with three register files per frame:

  O[n]  Python objects (str, bytes, list, dict, dataclass instances, DSError,
        handles, unions such as ``int | DSError``, None)
  I[n]  ints and bools, held unboxed as C int64 while they fit; an int that
        overflows int64 is promoted to a Python int inside the VM, so the
        compiler sees I registers as holding any Python int
  F[n]  floats, held unboxed as C doubles

The compiler knows every value's static type and puts each local and each
temporary into one file. Typed instructions (``IADD``, ``FLT`` ...) work on
unboxed slots and skip Python's dynamic dispatch; generic ones (``ADD``,
``INDEX`` ...) work on objects. ``BOX*``/``UNBOX*`` move values between files.

Encoding: every instruction is four int32 words ``op a b c`` (unused operands
are 0), stored in an ``array('i')``; ``pc`` counts instructions, so instruction
``n`` starts at word ``4 * n``. Jump targets are instruction indices. ``k``
operands index the code object's constant tuple ``K``; ``imm`` operands are
signed int32 immediates.

Stack picture convention: each entry's docstring reads ``OP a b c: effect``.
Register-file letters in the effect say which file an operand names.

Calling convention (flow to flow and at isolate start): arguments are passed
boxed in the callee's first O registers ``O[0..nparams-1]``; the callee's
prologue unboxes int/float/bool parameters into their I/F slots. A flow returns
one boxed object (``RETURN``); the caller's ``CALLFLOW`` writes it into its
``O[a]``.

Durable operations are ``EFFECT a k c``: the VM suspends and hands the runtime
``K[k]`` (an ``EffectSpec``) and the arguments ``O[c..c+nargs-1]``; the
runtime's answer is written into ``O[a]`` by ``VM.resume``.
"""
from __future__ import annotations

from enum import IntEnum


class Op(IntEnum):
    # -- no operands ----------------------------------------------------
    NOP = 0          # NOP: nothing
    RETURNNONE = 1   # RETURNNONE: return None from the current frame

    # -- moves and constants -------------------------------------------
    LOADK = 10       # LOADK a k: O[a] = K[k]
    LOADNONE = 11    # LOADNONE a: O[a] = None
    LOADI = 12       # LOADI a imm: I[a] = imm
    LOADKI = 13      # LOADKI a k: I[a] = K[k] (an int constant outside int32)
    LOADKF = 14      # LOADKF a k: F[a] = K[k] (a float constant)
    MOVE = 15        # MOVE a b: O[a] = O[b]
    MOVEI = 16       # MOVEI a b: I[a] = I[b]
    MOVEF = 17       # MOVEF a b: F[a] = F[b]
    BOXI = 18        # BOXI a b: O[a] = int(I[b])
    BOXB = 19        # BOXB a b: O[a] = bool(I[b])
    BOXF = 20        # BOXF a b: O[a] = F[b] as a Python float
    UNBOXI = 21      # UNBOXI a b: I[a] = O[b] (an int or bool object)
    UNBOXF = 22      # UNBOXF a b: F[a] = O[b] (a float object)
    ITOF = 23        # ITOF a b: F[a] = float(I[b]) (OverflowError for huge ints)

    # -- int arithmetic on I (Python semantics, int64 overflow promotes) --
    IADD = 30        # IADD a b c: I[a] = I[b] + I[c]
    ISUB = 31        # ISUB a b c: I[a] = I[b] - I[c]
    IMUL = 32        # IMUL a b c: I[a] = I[b] * I[c]
    IFLOORDIV = 33   # IFLOORDIV a b c: I[a] = I[b] // I[c] (ZeroDivisionError)
    IMOD = 34        # IMOD a b c: I[a] = I[b] % I[c] (sign of divisor, like Python)
    IPOW = 35        # IPOW a b c: I[a] = I[b] ** I[c] (ValueError if I[c] < 0)
    IDIV = 36        # IDIV a b c: F[a] = I[b] / I[c] (true division, correctly rounded)
    INEG = 37        # INEG a b: I[a] = -I[b]
    IADDI = 38       # IADDI a b imm: I[a] = I[b] + imm

    # -- int/bool comparisons, result 0/1 in I --------------------------
    ILT = 40         # ILT a b c: I[a] = I[b] < I[c]
    ILE = 41         # ILE a b c: I[a] = I[b] <= I[c]
    IEQ = 42         # IEQ a b c: I[a] = I[b] == I[c]
    INE = 43         # INE a b c: I[a] = I[b] != I[c]
    IGT = 44         # IGT a b c: I[a] = I[b] > I[c]
    IGE = 45         # IGE a b c: I[a] = I[b] >= I[c]
    NOT = 46         # NOT a b: I[a] = not I[b]

    # -- float arithmetic on F (Python semantics) -------------------------
    FADD = 50        # FADD a b c: F[a] = F[b] + F[c]
    FSUB = 51        # FSUB a b c: F[a] = F[b] - F[c]
    FMUL = 52        # FMUL a b c: F[a] = F[b] * F[c]
    FDIV = 53        # FDIV a b c: F[a] = F[b] / F[c] (ZeroDivisionError)
    FFLOORDIV = 54   # FFLOORDIV a b c: F[a] = F[b] // F[c] (ZeroDivisionError)
    FMOD = 55        # FMOD a b c: F[a] = F[b] % F[c] (sign of divisor, ZeroDivisionError)
    FPOW = 56        # FPOW a b c: F[a] = F[b] ** F[c] (errors as in Python)
    FNEG = 57        # FNEG a b: F[a] = -F[b]
    FLT = 60         # FLT a b c: I[a] = F[b] < F[c]
    FLE = 61         # FLE a b c: I[a] = F[b] <= F[c]
    FEQ = 62         # FEQ a b c: I[a] = F[b] == F[c]
    FNE = 63         # FNE a b c: I[a] = F[b] != F[c]
    FGT = 64         # FGT a b c: I[a] = F[b] > F[c]
    FGE = 65         # FGE a b c: I[a] = F[b] >= F[c]

    # -- generic object operations on O ----------------------------------
    ADD = 70         # ADD a b c: O[a] = O[b] + O[c] (str, bytes, list)
    MUL = 71         # MUL a b c: O[a] = O[b] * O[c] (sequence * int)
    EQ = 72          # EQ a b c: I[a] = O[b] == O[c]
    NE = 73          # NE a b c: I[a] = O[b] != O[c]
    LT = 74          # LT a b c: I[a] = O[b] < O[c]
    LE = 75          # LE a b c: I[a] = O[b] <= O[c]
    GT = 76          # GT a b c: I[a] = O[b] > O[c]
    GE = 77          # GE a b c: I[a] = O[b] >= O[c]
    IN = 78          # IN a b c: I[a] = O[b] in O[c]
    TRUTHY = 79      # TRUTHY a b: I[a] = bool(O[b])
    ISNONE = 80      # ISNONE a b: I[a] = O[b] is None
    ISINSTANCE = 81  # ISINSTANCE a b k: I[a] = O[b] is an instance of K[k] (a TypeTest)

    # -- containers and fields ---------------------------------------------
    BUILDLIST = 90   # BUILDLIST a b c: O[a] = [O[b], ..., O[b+c-1]]
    BUILDDICT = 91   # BUILDDICT a b c: O[a] = {O[b]: O[b+1], ...} with c pairs
    INDEX = 92       # INDEX a b c: O[a] = O[b][O[c]]
    INDEXI = 93      # INDEXI a b c: O[a] = O[b][I[c]]
    STOREINDEX = 94  # STOREINDEX a b c: O[a][O[b]] = O[c]
    STOREINDEXI = 95 # STOREINDEXI a b c: O[a][I[b]] = O[c]
    LEN = 96         # LEN a b: I[a] = len(O[b])
    APPEND = 97      # APPEND a b: O[a].append(O[b])
    GETATTR = 98     # GETATTR a b k: O[a] = O[b].<K[k]> (K[k] is the field name)
    SETATTR = 99     # SETATTR a k c: O[a].<K[k]> = O[c]
    TOLIST = 100     # TOLIST a b: O[a] = list(O[b]) (iteration over dict keys, str, bytes)
    FORMAT = 101     # FORMAT a b k: O[a] = format(O[b], K[k]) (K[k] is the spec str)
    JOINSTR = 102    # JOINSTR a b c: O[a] = "".join(O[b..b+c-1]) (f-strings)
    PRINT = 103      # PRINT a b: append " ".join(str(O[a..a+b-1])) to the isolate log

    # -- calls and durable points ------------------------------------------
    CALL = 110       # CALL a k c: O[a] = K[k].fn(O[c], ..., O[c+K[k].nargs-1]) (a CallTarget)
    CALLFLOW = 111   # CALLFLOW a k c: push a frame for codes[K[k]] with args O[c..]; its RETURN lands in O[a]
    EFFECT = 112     # EFFECT a k c: suspend with K[k] (an EffectSpec) and args O[c..]; resume lands in O[a]
    RETURN = 113     # RETURN a: return O[a] from the current frame

    # -- jumps (operand is an instruction index) ---------------------------
    JUMP = 120       # JUMP a: pc = a
    JUMPIF = 121     # JUMPIF a b: if I[a]: pc = b
    JUMPIFNOT = 122  # JUMPIFNOT a b: if not I[a]: pc = b


OpcodeMax = max(Op)

# Operands that name a constant, by position (0 = a, 1 = b, 2 = c).
CONST_OPERAND: dict[Op, int] = {
    Op.LOADK: 1, Op.LOADKI: 1, Op.LOADKF: 1, Op.ISINSTANCE: 2, Op.GETATTR: 2,
    Op.SETATTR: 1, Op.FORMAT: 2, Op.CALL: 1, Op.CALLFLOW: 1, Op.EFFECT: 1,
}
# Operands that are immediates.
IMM_OPERAND: dict[Op, int] = {Op.LOADI: 1, Op.IADDI: 2}
# Operands that are jump targets.
JUMP_OPERAND: dict[Op, int] = {Op.JUMP: 0, Op.JUMPIF: 1, Op.JUMPIFNOT: 1}
# Instructions after which control never falls through.
TERMINATORS = frozenset({Op.JUMP, Op.RETURN, Op.RETURNNONE})


def _register_files() -> dict[Op, str]:
    """Which register file each register operand names: a string per operand,
    'O', 'I', 'F', or '-' for constants, immediates and jump targets."""
    o, i, f = "O", "I", "F"
    t = {
        Op.NOP: "", Op.RETURNNONE: "",
        Op.LOADK: o + "-", Op.LOADNONE: o, Op.LOADI: i + "-", Op.LOADKI: i + "-",
        Op.LOADKF: f + "-", Op.MOVE: o + o, Op.MOVEI: i + i, Op.MOVEF: f + f,
        Op.BOXI: o + i, Op.BOXB: o + i, Op.BOXF: o + f, Op.UNBOXI: i + o,
        Op.UNBOXF: f + o, Op.ITOF: f + i,
        Op.IDIV: f + i + i, Op.INEG: i + i, Op.IADDI: i + i + "-", Op.NOT: i + i,
        Op.FNEG: f + f,
        Op.TRUTHY: i + o, Op.ISNONE: i + o, Op.ISINSTANCE: i + o + "-",
        Op.BUILDLIST: o + o + "-", Op.BUILDDICT: o + o + "-",
        Op.INDEX: o + o + o, Op.INDEXI: o + o + i, Op.STOREINDEX: o + o + o,
        Op.STOREINDEXI: o + i + o, Op.LEN: i + o, Op.APPEND: o + o,
        Op.GETATTR: o + o + "-", Op.SETATTR: o + "-" + o, Op.TOLIST: o + o,
        Op.FORMAT: o + o + "-", Op.JOINSTR: o + o + "-", Op.PRINT: o + "-",
        Op.CALL: o + "-" + o, Op.CALLFLOW: o + "-" + o, Op.EFFECT: o + "-" + o,
        Op.RETURN: o, Op.JUMP: "-", Op.JUMPIF: i + "-", Op.JUMPIFNOT: i + "-",
    }
    for op in (Op.IADD, Op.ISUB, Op.IMUL, Op.IFLOORDIV, Op.IMOD, Op.IPOW):
        t[op] = i + i + i
    for op in (Op.ILT, Op.ILE, Op.IEQ, Op.INE, Op.IGT, Op.IGE):
        t[op] = i + i + i
    for op in (Op.FADD, Op.FSUB, Op.FMUL, Op.FDIV, Op.FFLOORDIV, Op.FMOD, Op.FPOW):
        t[op] = f + f + f
    for op in (Op.FLT, Op.FLE, Op.FEQ, Op.FNE, Op.FGT, Op.FGE):
        t[op] = i + f + f
    for op in (Op.ADD, Op.MUL):
        t[op] = o + o + o
    for op in (Op.EQ, Op.NE, Op.LT, Op.LE, Op.GT, Op.GE, Op.IN):
        t[op] = i + o + o
    return t


REGISTER_FILES: dict[Op, str] = _register_files()

# Register ranges: operand c of these is a count of consecutive O registers
# starting at operand b (BUILDLIST, BUILDDICT counts pairs, JOINSTR) or operand a
# (PRINT's operand b is the count).
RANGE_OPERAND: dict[Op, tuple[int, int]] = {
    Op.BUILDLIST: (1, 2), Op.BUILDDICT: (1, 2), Op.JOINSTR: (1, 2), Op.PRINT: (0, 1),
}

assert set(REGISTER_FILES) == set(Op), set(Op) - set(REGISTER_FILES)

# How many operands each opcode reads (the disassembler prints that many).
OPERANDS: dict[Op, int] = {op: len(files) for op, files in REGISTER_FILES.items()}
