"""What the compiler produces and the VM, the store and the inspector read.

A ``Program`` is the closure of one entry flow: its code object and every flow
it calls or starts with ``create_task`` (so a child isolate runs on its
parent's program version). Programs are content-addressed: ``hash`` is the
SHA-256 of ``deepslate.program.serial.program_to_bytes(program)``; the store keeps
programs by hash so an isolate always finishes on the program it started with
(DESIGN §2.6).

Constants (``Code.consts``) are a closed set: None, bool, int, float, str,
bytes, and the four descriptor classes below. Python callables never appear in
the serialized form; they are named by ``ref`` ("module:qualname" or
"builtin:name") and bound by ``deepslate.program.link.link`` when a program is
loaded, so a stored program keeps working after the Python process restarts.
"""
from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(eq=False)
class CallTarget:
    """Operand of ``CALL``: a Python callable run inline (no checkpoint)."""
    kind: str                 # "pure" | "dataclass" | "builtin"; the VM copies a "pure"
                              # function's result into the isolate (DESIGN 2.8), not the others'
    ref: str                  # "module:qualname" or "builtin:name"
    nargs: int                # arguments taken from consecutive O registers
    type: Any = None          # json_unmarshal's target Type; None otherwise
    fn: Callable[..., Any] | None = None   # bound by link.link


@dataclass(eq=False)
class EffectSpec:
    """Operand of ``EFFECT``: a durable operation the runtime performs.

    kind is one of: sleep, impure, http_request, http_listen, new_queue,
    queue_put, queue_get, select, new_lock, lock_acquire, lock_release,
    new_waitgroup, wg_add, wg_done, wg_wait, create_task. The VM itself also
    returns specs of kind return, fault and yield from ``run()``.
    """
    kind: str
    nargs: int
    extra: tuple[Any, ...] = ()   # kind-specific, serializable (see docs/internals.md)
    fn: Callable[..., Any] | None = None   # the @impure function, bound by link.link


@dataclass(eq=False)
class TypeTest:
    """Operand of ``ISINSTANCE``: a runtime type test for narrowing."""
    type: Any                 # a deepslate._types.Type
    check: Callable[[Any], bool] | None = None   # bound by link.link


@dataclass(frozen=True)
class LocalVar:
    """Debug info: where a source variable lives, for display and the inspector."""
    name: str
    file: str                 # "O" | "I" | "F"
    reg: int
    type: Any                 # a deepslate._types.Type
    start_pc: int             # live for start_pc <= pc < end_pc
    end_pc: int


@dataclass(eq=False)
class Code:
    """One compiled flow function."""
    name: str                 # the flow's Python name
    ref: str                  # "module:qualname"
    filename: str
    firstlineno: int
    source: str               # the function's source text, for display of old versions
    params: tuple[tuple[str, Any], ...]   # ((name, Type), ...)
    returns: Any              # Type
    insns: array[int]         # array('i'), 4 words per instruction: op a b c
    positions: array[int]     # array('i'), 2 words per instruction: line col (1-based col)
    consts: tuple[Any, ...]
    n_o: int                  # register counts per file
    n_i: int
    n_f: int
    locals: tuple[LocalVar, ...] = ()

    def position(self, pc: int) -> tuple[int, int]:
        return self.positions[2 * pc], self.positions[2 * pc + 1]


@dataclass(eq=False)
class Program:
    codes: list[Code]
    entry: int                              # index of the entry flow in codes
    types: list[Any] = field(default_factory=list)   # the DataclassT referenced anywhere
    hash: bytes = b""                       # sha256 of program_to_bytes(), set when it is built or read

    def code_index(self, name: str) -> int:
        for i, c in enumerate(self.codes):
            if c.name == name:
                return i
        raise KeyError(name)


def format_backtrace(frames: Any, message: str) -> str:
    """A Python-style traceback of flow frames (outermost first), for a fault and a failed isolate."""
    lines = ["Traceback (most recent call last):"]
    for fn, filename, line, col in frames:
        lines.append(f'  File "{filename}", line {line}, col {col}, in {fn}')
    lines.append(message)
    return "\n".join(lines)


class Fault:
    """A runtime error inside a flow: returned by ``VM.run`` as a fault effect."""
    __slots__ = ("message", "exc_type", "frames")

    def __init__(self, message: str, exc_type: str, frames: list[tuple[str, str, int, int]]):
        self.message = message        # "ZeroDivisionError: integer division or modulo by zero"
        self.exc_type = exc_type      # the Python exception class name
        self.frames = frames          # [(flow name, filename, line, col)], outermost first

    def backtrace(self) -> str:
        return format_backtrace(self.frames, self.message)

    def __repr__(self) -> str:
        where = self.frames[-1] if self.frames else ("?", "?", 0, 0)
        return f"Fault({self.message!r} at {where[1]}:{where[2]}:{where[3]})"


# Effect specs the VM returns from run() without a matching instruction.
RETURN = EffectSpec("return", 1)
FAULT = EffectSpec("fault", 1)
YIELD = EffectSpec("yield", 0)
