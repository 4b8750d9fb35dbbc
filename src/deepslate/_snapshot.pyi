"""Typing stubs for the ``deepslate._snapshot`` extension (the snapshot codec).

``deepslate._vm`` re-exports these names; the format is documented in the
module docstring of ``_snapshot.pyx``.
"""
from typing import Any

from .program.model import Program

FORMAT_VERSION: int
MAGIC: bytes
VALUE_MAGIC: bytes
HASH_SIZE: int
MAX_NESTING: int

class SnapshotError(ValueError):
    """A snapshot or value blob could not be decoded."""

class SnapshotFormatError(SnapshotError):
    """The bytes are not well formed (truncated, corrupted, bad tag, bad checksum)."""

SnapshotCorrupt = SnapshotFormatError

class SnapshotVersionError(SnapshotError):
    """The data was written by an unknown format version."""

class SnapshotProgramError(SnapshotError):
    """The snapshot belongs to another program, or a dataclass it names cannot be found."""

class TrailingDataError(SnapshotFormatError):
    """Bytes were left over after complete data."""

def crc32(data: bytes) -> int: ...
def encode_snapshot(program_hash: bytes, state: tuple[Any, ...]) -> bytes: ...
def decode_snapshot(data: bytes, program: Program) -> tuple[Any, ...]: ...
def inspect_snapshot(data: bytes) -> dict[str, Any]: ...
def encode_value(value: Any) -> bytes: ...
def inspect_value(data: bytes) -> Any:
    """A value for display without a program (the rules of ``inspect_snapshot``)."""
def decode_value(data: bytes, program: Program | None = ...) -> Any: ...
