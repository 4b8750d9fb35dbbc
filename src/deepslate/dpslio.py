"""Go-like concurrency for flows: queues, locks, wait groups, tasks, select.

Inside a flow the compiler turns ``dpslio.Queue[int]()``, ``dpslio.Lock()``,
``dpslio.WaitGroup()``, ``dpslio.create_task(child(...))`` and
``match dpslio.select:`` into durable operations. The classes are also the
parameter annotations of flows (``ch: dpslio.Queue[int]``).
"""
from __future__ import annotations

from ._values import Lock, Queue, WaitGroup

__all__ = ["Queue", "Lock", "WaitGroup", "create_task", "select"]


def create_task(call: object, detach: bool = False) -> None:
    """Inside a flow: start ``call`` (a flow call) as a concurrent child isolate. It is
    cancelled when its parent ends, unless ``detach=True``."""
    raise RuntimeError("dpslio.create_task() only works inside an @flow function")


class _Select:
    """The subject of ``match dpslio.select:``; meaningless outside a flow."""

    def __repr__(self) -> str:
        return "dpslio.select"


select = _Select()
