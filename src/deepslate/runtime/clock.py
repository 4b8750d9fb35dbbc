"""The engine's clock: what ``sleep``, deadlines, @impure backoff and a flow's ``now()`` read.

``REAL`` is the default and costs nothing: the engine binds ``time.time`` and
``loop.call_later`` directly. A ``VirtualClock`` (the testing kit's) holds a time of its own
and a heap of timers that fire only when someone moves it (``jump``); the kit moves it when
every isolate is blocked (Engine.busy), so thirty days of sleeps pass in no real time.

A flow's ``now()`` is a builtin bound once per program, and one program may run on several
engines at once, so it cannot be bound per engine: it reads the thread's flow clock, which an
engine on a virtual clock sets around each run of a flow (``_builtins.flow_clock``).

Rejected: a contextvar for the flow clock (a lookup per ``now()`` call like the thread-local,
but also a set and a reset token per step); binding ``now`` per engine (programs are shared
by every engine of a process, and linked once).
"""
from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Any, Callable


class Clock:
    """Real time (the default)."""
    virtual = False

    now = staticmethod(time.time)

    def timers(self, loop: asyncio.AbstractEventLoop) -> Callable[..., Any]:
        """``call_later(delay, fn, *args)`` for an engine on ``loop``; the result has ``cancel()``."""
        return loop.call_later


REAL = Clock()


class VirtualTimer:
    """A timer of a virtual clock (as asyncio's TimerHandle: ``cancel()``, ``when()``)."""
    __slots__ = ("_when", "_fn", "_args", "cancelled")

    def __init__(self, when: float, fn: Callable[..., Any], args: tuple[Any, ...]):
        self._when = when
        self._fn = fn
        self._args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
        self._fn = self._args = None     # type: ignore[assignment]

    def when(self) -> float:
        return self._when


class VirtualClock(Clock):
    """A clock that stands still until ``jump`` moves it. Timers due at once run on the
    loop's next turn, as asyncio's do; the others wait for a jump past their time.

    ``start``: seconds since the epoch (default: the real time when it is made). Used from
    one event loop thread."""
    virtual = True

    def __init__(self, start: float | None = None):
        if start is not None and (isinstance(start, bool) or not isinstance(start, (int, float))
                                  or start != start):
            raise TypeError(f"start must be seconds since the epoch (a number), not {start!r}")
        self.t = float(time.time() if start is None else start)
        self._heap: list[tuple[float, int, VirtualTimer]] = []
        self._seq = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None

    def now(self) -> float:
        return self.t

    def timers(self, loop: asyncio.AbstractEventLoop) -> Callable[..., Any]:
        self._loop = loop
        return self.call_later

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> VirtualTimer:
        h = VirtualTimer(self.t + max(0.0, float(delay)), fn, args)
        heapq.heappush(self._heap, (h.when(), next(self._seq), h))
        if delay <= 0:
            assert self._loop is not None, "a virtual clock's timers need the engine's loop (timers(loop))"
            self._loop.call_soon(self._fire_due)
        return h

    def next_at(self) -> float | None:
        """When the earliest live timer is due (None: no timer)."""
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def pending(self) -> int:
        """Live timers."""
        return sum(1 for _, _, h in self._heap if not h.cancelled)

    def due(self) -> bool:
        """A live timer is due now and has not run yet."""
        n = self.next_at()
        return n is not None and n <= self.t

    def jump(self, to: float) -> int:
        """Move the time to ``to`` (never back) and run every timer due by then, earliest first
        (each sees the time it was due at). Returns how many ran."""
        ran = 0
        heap = self._heap
        while heap and heap[0][0] <= to:
            when, _, h = heapq.heappop(heap)
            if h.cancelled:
                continue
            self.t = max(self.t, when)
            fn, args = h._fn, h._args
            h.cancel()
            fn(*args)
            ran += 1
        self.t = max(self.t, float(to))
        return ran

    def _fire_due(self) -> None:
        self.jump(self.t)

    def drop_timers(self) -> None:
        """Forget every timer (their engine is gone); the time stays."""
        for _, _, h in self._heap:
            h.cancel()
        self._heap.clear()
        self._loop = None
