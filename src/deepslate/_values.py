"""Values with a meaning of their own inside flows.

``DSError`` is the error *value* of deepslate: flows have no exceptions; a
durable operation or an ``@impure`` function declared ``-> T | DSError``
returns one, and the flow narrows it with ``isinstance``.

The handles name shared durable objects by the id the store gave them. They
are immutable, so copying one between isolates (a queue passed to a child)
still names the same queue.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from ._awaitable import Durable

T = TypeVar("T")


def _outside(what: str) -> RuntimeError:
    return RuntimeError(f"{what} is a flow operation and only works inside an @flow function")


class DSError:
    """An error value: ``DSError("card declined")`` or ``DSError(msg, kind="timeout")``.

    ``code`` is a number the error carries, 0 when it has none: the HTTP status of an
    ``http_request`` that got a non-2xx answer."""
    __slots__ = ("message", "kind", "code")
    __match_args__ = ("message",)

    def __init__(self, message: str = "", kind: str = "error", code: int = 0) -> None:
        if isinstance(code, bool) or not isinstance(code, int):
            raise TypeError(f"DSError code must be an int, not {type(code).__name__}")
        self.message = str(message)
        self.kind = str(kind)
        self.code = int(code)

    def __eq__(self, other: object) -> bool:
        return (type(other) is DSError and other.message == self.message and other.kind == self.kind
                and other.code == self.code)

    def __hash__(self) -> int:
        return hash((self.message, self.kind, self.code))

    def __repr__(self) -> str:
        code = f", code={self.code}" if self.code else ""
        if self.kind == "error" and not code:
            return f"DSError({self.message!r})"
        return f"DSError({self.message!r}, kind={self.kind!r}{code})"

    def __str__(self) -> str:
        return self.message


class _Handle:
    __slots__ = ("id",)

    def __init__(self, id: int) -> None:
        self.id = int(id)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Handle) and type(other) is type(self) and other.id == self.id

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.id))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.id})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.id,))


class Queue(_Handle, Generic[T]):
    """A durable FIFO channel between isolates: ``dpslio.Queue[int]()`` in a flow, or
    ``dpslio.Queue[int](n)`` holding at most ``n`` items."""
    __slots__ = ()

    if TYPE_CHECKING:
        # what a flow writes; the engine makes the objects from their store id
        def __init__(self, maxsize: int = 0) -> None: ...

    def put(self, item: T) -> Durable[None]:
        """``await q.put(v)``: add a copy of ``v``, waiting while the queue is full."""
        raise _outside("Queue.put")

    def get(self) -> Durable[T]:
        """``await q.get()``: take the oldest item, waiting for one."""
        raise _outside("Queue.get")


class Lock(_Handle):
    """A durable mutex: ``dpslio.Lock()`` in a flow."""
    __slots__ = ()

    if TYPE_CHECKING:
        def __init__(self) -> None: ...

    def acquire(self) -> Durable[None]:
        """``await mu.acquire()``: wait until the lock is free and take it."""
        raise _outside("Lock.acquire")

    def release(self) -> Durable[None]:
        """``await mu.release()``: free the lock."""
        raise _outside("Lock.release")


class WaitGroup(_Handle):
    """A durable wait group: ``dpslio.WaitGroup()`` in a flow."""
    __slots__ = ()

    if TYPE_CHECKING:
        def __init__(self) -> None: ...

    def add(self, n: int) -> None:
        """``wg.add(n)``: n more ``done`` calls to wait for."""
        raise _outside("WaitGroup.add")

    def done(self) -> Durable[None]:
        """``await wg.done()``: one fewer to wait for."""
        raise _outside("WaitGroup.done")

    def wait(self) -> Durable[None]:
        """``await wg.wait()``: wait until the count is zero."""
        raise _outside("WaitGroup.wait")
