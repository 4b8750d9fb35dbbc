"""What the flow language's calls are to a type checker.

Inside a flow ``await`` is optional on a durable operation: ``x = http_listen(...)``
and ``x = await http_listen(...)`` are the same. A type checker needs one type for
both, so each operation is declared to return a value type that is also awaitable
to itself: ``AwaitableBytes`` is a ``bytes`` whose ``await`` gives ``bytes``. Nothing
makes these objects; a flow's values are the plain types, and outside a flow the
operations raise.
"""
from __future__ import annotations

from typing import Any, Generator, Generic, TypeVar

from ._values import DSError

T_co = TypeVar("T_co", covariant=True)


def _not_awaitable() -> RuntimeError:
    return RuntimeError("durable operations are awaited only inside an @flow function")


class Durable(Generic[T_co]):
    """A durable operation whose value is ``T_co`` once awaited (a queue's ``get``)."""
    __slots__ = ()

    def __await__(self) -> Generator[Any, None, T_co]:
        raise _not_awaitable()


class AwaitableBytes(bytes):
    """``bytes`` that may also be awaited (``http_request``'s body)."""
    __slots__ = ()

    def __await__(self) -> Generator[Any, None, bytes]:
        raise _not_awaitable()


class AwaitableStr(str):
    """A ``str`` that may also be awaited (``uuid4()``)."""
    __slots__ = ()

    def __await__(self) -> Generator[Any, None, str]:
        raise _not_awaitable()


class AwaitableFloat(float):
    """A ``float`` that may also be awaited (``now()``, ``random()``)."""
    __slots__ = ()

    def __await__(self) -> Generator[Any, None, float]:
        raise _not_awaitable()


class AwaitableError(DSError):
    """A ``DSError`` that may also be awaited (the failure of ``http_request``)."""
    __slots__ = ()

    def __await__(self) -> Generator[Any, None, DSError]:
        raise _not_awaitable()
