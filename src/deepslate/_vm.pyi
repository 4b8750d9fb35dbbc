"""Typing stubs for the ``deepslate._vm`` extension (the interpreter core).

State tuples (what ``VM.export_state`` returns and the snapshot codec stores):

    state  = (frames, pending, steps)
    frames = [frame, ...]                  # outermost first
    frame  = (code_index, pc, O, I, F)     # O: list[object], I: list[int], F: list[float]
    pending: bool                          # the top frame is suspended at the EFFECT at its pc
    steps:  int                            # instructions executed so far in this isolate

A frame below the top one is suspended at its CALLFLOW instruction (its pc).
Unused registers hold None in O, 0 in I and 0.0 in F. A NaN in F is exported as
the float object the register names (the same object a list or another register
may hold), and ``from_state`` keeps the objects it is given.
"""
from typing import Any

from .program.model import EffectSpec, Program

FORMAT_VERSION: int
MAGIC: bytes

class SnapshotError(ValueError):
    """A snapshot could not be decoded."""

class SnapshotFormatError(SnapshotError):
    """The bytes are not a well-formed snapshot (truncated, corrupted, bad tag)."""

class SnapshotVersionError(SnapshotError):
    """The snapshot was written by an unknown format version."""

class SnapshotProgramError(SnapshotError):
    """The snapshot belongs to another program than the one given."""

class TrailingDataError(SnapshotFormatError):
    """Bytes were left over after a complete snapshot."""

MAX_DEPTH: int          # flow frames per isolate; a deeper CALLFLOW faults with RecursionError
DEFAULT_BUDGET: int     # run()'s budget when none is given
MAX_LEN: int            # longest list/str/bytes that + and * may build (else a MemoryError fault)
MAX_INT_BITS: int       # largest int that ** may build, in bits (else an OverflowError fault)
MAX_LOG_LINES: int      # print() lines kept between two take_log calls (the rest are counted)

class VMError(RuntimeError):
    """The VM was used out of order (run after a fault or a return, resume while not pending)."""

class ProgramError(ValueError):
    """A program or a state does not fit the machine (an operand outside its register file,
    a constant of the wrong kind, a state whose pc or register lists do not match the code)."""

class VM:
    steps: int
    program: Program
    done: bool              # the entry flow has returned
    faulted: bool           # a fault ended the isolate (run() then refuses, as after done)
    nan_table_size: int     # NaN objects F registers may name; compacted to the live ones by run()

    def __init__(self, program: Program, code_index: int, args: tuple[Any, ...]) -> None: ...
    @staticmethod
    def from_state(program: Program, state: tuple[Any, ...]) -> VM: ...
    def run(self, budget: int = ...) -> tuple[EffectSpec, tuple[Any, ...]]:
        """Run until a durable point, the end of the flow, a fault or the budget.

        Returns (spec, args): an EFFECT's spec with its arguments (the VM is then
        pending until ``resume``), (RETURN, (value,)), (FAULT, (Fault,)) or
        (YIELD, ()) when ``budget`` instructions ran without reaching one (the
        budget is checked on taken jumps and flow calls, so a yield comes at
        the first of those after ``budget`` instructions).

        Every exception raised while the flow runs, ``BaseException``s from user
        code included (``SystemExit``, ``KeyboardInterrupt``, ``GeneratorExit``,
        ``asyncio.CancelledError``), is a fault: it ends the isolate (``faulted``)
        and never leaves ``run``. Only out-of-order use raises (``VMError``, or
        ``ValueError`` for a budget below 1), before anything runs.

        A ``@pure`` function's result enters the isolate as a copy, as a snapshot
        round trip would make it (aliasing and cycles kept); a result no snapshot
        could hold (a set, an object of any other class) faults at the call with a
        ``TypeError`` naming the function and its declared return type."""
    def resume(self, value: Any) -> None:
        """Deliver the result of the pending effect; does not run."""
    def pending(self) -> tuple[EffectSpec, tuple[Any, ...]] | None:
        """The effect the VM is suspended at, or None (used after a restore)."""
    def export_state(self) -> tuple[Any, ...]: ...
    def take_log(self) -> list[str]:
        """Lines ``print``ed since the last call, at most MAX_LOG_LINES of them; past that a
        last line says how many more were printed and not kept."""
    def frames_view(self) -> list[dict[str, Any]]:
        """[{'function', 'filename', 'line', 'col', 'locals': {name: value}}], outermost first."""

def encode_snapshot(program_hash: bytes, state: tuple[Any, ...]) -> bytes: ...
def decode_snapshot(data: bytes, program: Program) -> tuple[Any, ...]:
    """Decode against a program: checks its hash, rebuilds dataclass instances."""
def inspect_snapshot(data: bytes) -> dict[str, Any]:
    """Decode for display without a program: {'format_version', 'program_hash',
    'frames': [{'code_index', 'pc', 'O', 'I', 'F'}], 'pending', 'steps'} with
    values as plain data (dataclasses as {'__dataclass__': name, fields...})."""
def encode_value(value: Any) -> bytes:
    """Copy codec for values crossing isolates (queue items, child arguments)."""
def inspect_value(data: bytes) -> Any:
    """A value for display without a program (the rules of ``inspect_snapshot``)."""
def decode_value(data: bytes, program: Program | None = ...) -> Any: ...
