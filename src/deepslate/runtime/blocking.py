"""The thread pool for blocking ``@impure`` calls.

Cheap calls. ``loop.run_in_executor`` costs a concurrent Future (with its Condition), an
asyncio Future chained to it and a Task awaiting it: about 30 µs of the event loop's time per
call, which is most of a step's cost when thousands of isolates resume at once. Here a call is
a tuple on a queue that every pool thread reads, and outcomes go back to the loop in batches:
one wake-up of the loop for however many calls ended meanwhile.

No starvation. Up to ``min_threads`` threads start as calls need them. Past that, a watcher
thread looks at the queue every ``stall_seconds`` while calls wait in it: when no call has
started since its last look (every thread is busy with a call that does not return), it starts
one more thread, up to ``max_threads``. So calls that hang cannot hold the capacity others
need, while a burst of quick calls is served by the threads already there: growing on every
burst started hundreds of threads that then fought the event loop for the GIL (measured:
10 000 overdue timers each making one @impure call took 2.4 s to fire instead of 0.6 s).
Threads above ``min_threads`` end after ``idle_seconds`` without a call.

Timeouts. A call's ``timeout`` counts from the moment it starts on a thread, never time spent
queued. When it passes, the watcher delivers the call's outcome, a ``CallTimedOut``, once, and
the thread is *abandoned*: it no longer counts toward ``max_threads`` and whatever the call
later returns or raises is thrown away. Python cannot kill a thread: an abandoned thread runs
until the function returns, then ends. A function that never returns keeps its thread (a
daemon thread, so it does not keep the process from exiting) forever; a warning is logged each
time the number of abandoned threads reaches a multiple of 16.

Few wake-ups. Outcomes go back to the loop in batches: while more calls wait in the queue, an
outcome is held until ``batch`` have ended or the first held one is ``hold_seconds`` old (the
watcher delivers them then if no call ends meanwhile). Waking the loop for every outcome of a
burst of quick calls made the loop, the database thread and the pool threads hand the GIL to
each other at every outcome (measured: 10 000 overdue timers each making one quick @impure
call woke the loop 5 555 times; batched, 153). A call that ends with nothing queued behind it
is delivered at once.

Outcomes. Any exception a call raises, ``BaseException`` included (``SystemExit``,
``KeyboardInterrupt``, ``asyncio.CancelledError`` raised by user code), becomes its outcome
``(False, exc)``; it never ends a pool thread. ``deliver`` runs on the loop, once per
submitted call, until ``close()``; an exception from ``deliver`` is logged and the other
outcomes are still delivered.
"""
from __future__ import annotations

import asyncio
import collections
import contextvars
import itertools
import logging
import queue
import threading
import time
from typing import Any, Callable

Outcome = tuple[bool, Any]          # (True, value) or (False, the exception raised)
Job = tuple[contextvars.Context, Callable[..., Any], tuple[Any, ...], Any, "float | None"]

log = logging.getLogger("deepslate.runtime")

_names = itertools.count()          # thread names are unique in the process, across pools
_ABANDON_WARN_EVERY = 16
_NEVER = float("inf")


class CallTimedOut(TimeoutError):
    """The outcome of a call whose timeout passed (the pool's own, not one the call raised)."""


class _Running:
    """A call with a timeout, running now."""
    __slots__ = ("fn", "tag", "timeout", "at")

    def __init__(self, fn: Callable[..., Any], tag: Any, timeout: float, at: float):
        self.fn = fn
        self.tag = tag
        self.timeout = timeout
        self.at = at


class ImpurePool:
    """Threads for blocking calls, between ``min_threads`` and ``max_threads`` (not counting
    abandoned ones). ``deliver(tag, outcome)`` runs on ``loop``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, deliver: Callable[[Any, Outcome], None], *,
                 min_threads: int = 4, max_threads: int = 256, idle_seconds: float = 30.0,
                 stall_seconds: float = 0.05, batch: int = 256, hold_seconds: float = 0.005):
        if max_threads < 1 or min_threads < 0 or min_threads > max_threads:
            raise ValueError(f"need 0 <= min_threads <= max_threads and max_threads >= 1, "
                             f"got min_threads={min_threads}, max_threads={max_threads}")
        if idle_seconds <= 0 or stall_seconds <= 0 or hold_seconds < 0:
            raise ValueError(f"idle_seconds and stall_seconds must be > 0 and hold_seconds >= 0, got "
                             f"{idle_seconds}, {stall_seconds}, {hold_seconds}")
        if batch < 1:
            raise ValueError(f"batch must be at least 1, not {batch}")
        self.loop = loop
        self.deliver = deliver
        self.min_threads = min_threads
        self.max_threads = max_threads
        self.idle_seconds = idle_seconds
        self.stall_seconds = stall_seconds
        self.batch = batch
        self.hold_seconds = hold_seconds
        self.jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._tick = threading.Condition(self._lock)    # the watcher waits on it
        self._closed = False
        self._live = 0                  # threads that count toward max_threads
        self._busy = 0                  # of which running a call
        self._abandoned = 0             # timed-out calls whose thread still runs
        self._started = 0               # calls started: the stall watch's clock
        self._threads: set[threading.Thread] = set()
        self._timed: dict[int, _Running] = {}
        self._keys = itertools.count()
        self._watcher: threading.Thread | None = None
        self._watching = False          # the watcher looks at the queue (else it waits for a deadline or a call)
        self._wake_at = _NEVER
        self._out_lock = threading.Lock()
        self._ended: collections.deque[tuple[Any, Outcome]] = collections.deque()
        self._posted = False
        self._held_since = _NEVER       # when the oldest outcome not yet posted ended

    # ---- introspection, for tests and metrics ------------------------------------------------

    @property
    def threads(self) -> int:
        """Threads that count toward ``max_threads``; abandoned ones are not included."""
        return self._live

    @property
    def idle(self) -> int:
        return max(0, self._live - self._busy)

    @property
    def running(self) -> int:
        """Calls running on a thread that counts toward ``max_threads``."""
        return self._busy

    @property
    def abandoned(self) -> int:
        return self._abandoned

    @property
    def queued(self) -> int:
        """Calls submitted that no thread has taken yet."""
        return 0 if self._closed else self.jobs.qsize()

    def alive_threads(self) -> list[threading.Thread]:
        """Every pool thread started and not ended, abandoned ones included."""
        with self._lock:
            return [t for t in self._threads if t.is_alive()]

    # ---- submitting ---------------------------------------------------------------------------

    def submit(self, ctx: contextvars.Context, fn: Callable[..., Any], args: tuple[Any, ...], tag: Any,
               timeout: float | None = None) -> None:
        """Run ``ctx.run(fn, *args)`` on a pool thread; ``deliver(tag, outcome)`` later runs on
        the loop, exactly once per submit (unless the pool is closed first). ``timeout``, in
        seconds, counts from the moment the call starts on a thread."""
        if self._closed:
            return
        self.jobs.put((ctx, fn, args, tag, timeout))
        # more calls queued than threads idle (read without the lock: a hint; the watcher,
        # once watching, looks again every stall_seconds)
        if not self._watching and self.jobs.qsize() > self._live - self._busy:
            self._no_idle_thread()

    def _no_idle_thread(self) -> None:
        with self._lock:
            if self._closed:
                return
            if self._live < max(self.min_threads, 1):
                self._start()
            if not self._watching:
                self._watching = True
                self._ensure_watcher()
                self._tick.notify()

    def _start(self) -> None:
        """Start a pool thread (the lock is held)."""
        t = threading.Thread(target=self._serve, daemon=True, name=f"deepslate-impure-{next(_names)}")
        self._live += 1
        self._threads.add(t)
        try:
            t.start()
        except BaseException as e:          # no thread to be had (resource limits, interpreter exit)
            self._live -= 1
            self._threads.discard(t)
            log.error("could not start a thread for @impure calls: %s: %s", type(e).__name__, e)

    def _ensure_watcher(self) -> None:
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, daemon=True,
                                             name=f"deepslate-impure-watch-{next(_names)}")
            self._watcher.start()

    # ---- the threads ---------------------------------------------------------------------------

    def _serve(self) -> None:
        me = threading.current_thread()
        counted = True
        try:
            while True:
                try:
                    job = self.jobs.get(timeout=self.idle_seconds)
                except queue.Empty:
                    with self._lock:        # idle too long: end, if above min_threads
                        if self._live > self.min_threads:
                            self._live -= 1
                            counted = False
                            return
                    continue
                if job is None:
                    return
                ctx, fn, args, tag, timeout = job
                key = -1
                with self._lock:
                    self._busy += 1
                    self._started += 1
                    if timeout is not None:
                        key = next(self._keys)
                        at = time.monotonic() + timeout
                        self._timed[key] = _Running(fn, tag, timeout, at)
                        if at < self._wake_at:
                            self._ensure_watcher()
                            self._tick.notify()
                try:
                    out: Outcome = (True, ctx.run(fn, *args))
                except BaseException as e:   # the engine decides: retry, DSError or a failed isolate
                    out = (False, e)
                with self._lock:
                    if key >= 0 and self._timed.pop(key, None) is None:
                        self._abandoned -= 1     # it timed out: its outcome went out already
                        counted = False
                        return
                    self._busy -= 1
                self._post_outcome(tag, out)
                del job, out, ctx, fn, args, tag    # hold nothing of a call's while idle
        finally:
            with self._lock:
                self._threads.discard(me)
                if counted:
                    self._live -= 1

    def _watch(self) -> None:
        """Deadlines of running calls, and growth when queued calls stall."""
        seen, seen_at = -1, _NEVER      # calls started at the last look, and when (while a backlog lasts)
        while True:
            timed_out: list[_Running] = []
            warn = 0
            with self._lock:
                if self._closed:
                    return
                now = time.monotonic()
                first = _NEVER
                for key, r in list(self._timed.items()):
                    if r.at <= now:
                        del self._timed[key]
                        self._live -= 1          # its thread is abandoned: capacity for others
                        self._busy -= 1
                        self._abandoned += 1
                        if self._abandoned % _ABANDON_WARN_EVERY == 0:
                            warn = self._abandoned
                        timed_out.append(r)
                    elif r.at < first:
                        first = r.at
                backlog = self.jobs.qsize()
                if backlog and self._busy >= self._live and self._live < self.max_threads:
                    if timed_out:                # what the timed-out calls held goes to waiting ones
                        for _ in range(min(len(timed_out), backlog, self.max_threads - self._live)):
                            self._start()
                    elif now - seen_at >= self.stall_seconds and self._started == seen:
                        self._start()            # nothing started for stall_seconds: all stuck
                # a look counts only after stall_seconds: the watcher also wakes for deadlines
                # and held outcomes, and a thread waiting a moment for the GIL is not stuck
                if not backlog:
                    seen, seen_at = -1, _NEVER
                elif seen_at == _NEVER or now - seen_at >= self.stall_seconds:
                    seen, seen_at = self._started, now
                self._watching = bool(backlog)
                wait = max(seen_at + self.stall_seconds - now, 0.0) if backlog else None   # the next look that counts
                held = self._held_since + self.hold_seconds
                flush = held <= now
                if not flush and held < first:
                    first = held
                if first != _NEVER:
                    wait = min(_NEVER if wait is None else wait, max(first - now, 0.0))
                self._wake_at = now + wait if wait is not None else _NEVER
                if not timed_out and not flush:
                    self._tick.wait(wait)
                    continue
            if flush:
                self._flush_held()
            for r in timed_out:
                name = getattr(r.fn, "__qualname__", None) or repr(r.fn)
                self._post_outcome(r.tag, (False, CallTimedOut(f"@impure {name} timed out after {r.timeout} s")))
            del timed_out
            if warn:
                log.warning("%d @impure calls timed out and still hold their threads "
                            "(Python cannot stop a thread: each ends when its function returns)", warn)

    # ---- back on the loop ----------------------------------------------------------------------

    def _post_outcome(self, tag: Any, out: Outcome) -> None:
        arm = post = False
        with self._out_lock:
            if self._closed:
                return
            self._ended.append((tag, out))
            if self._posted:
                return
            now = time.monotonic()
            if self._held_since == _NEVER:
                self._held_since = now
                arm = True
            # while more calls are queued, their outcomes go with this one (up to a batch, or a while)
            if len(self._ended) >= self.batch or now - self._held_since >= self.hold_seconds or self.jobs.empty():
                self._posted, self._held_since, arm, post = True, _NEVER, False, True
        if arm:
            with self._lock:                # the watcher delivers it if no call ends in time
                if not self._closed and self._held_since + self.hold_seconds < self._wake_at:
                    self._ensure_watcher()
                    self._tick.notify()
        elif post:
            self._wake_loop()

    def _flush_held(self) -> None:
        with self._out_lock:
            if self._closed or self._posted or not self._ended:
                return
            self._posted, self._held_since = True, _NEVER
        self._wake_loop()

    def _wake_loop(self) -> None:
        try:
            self.loop.call_soon_threadsafe(self._drain)
        except RuntimeError:            # the loop is closed: the engine has stopped
            self.close()

    def _drain(self) -> None:
        with self._out_lock:
            batch = list(self._ended)
            self._ended.clear()
            self._posted = False
        for tag, out in batch:
            if self._closed:
                return
            try:
                self.deliver(tag, out)
            except BaseException:
                log.exception("delivering the outcome of an @impure call")

    def close(self) -> None:
        """Drop calls not started yet and outcomes not delivered; running calls finish unheard
        and their threads end. Never blocks; safe to call twice, or after the loop closed."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._tick.notify()
            n = len(self._threads)
            self._timed.clear()
        with self._out_lock:
            self._ended.clear()
        try:
            while True:
                self.jobs.get_nowait()
        except queue.Empty:
            pass
        for _ in range(n):
            self.jobs.put(None)
