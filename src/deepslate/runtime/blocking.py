"""An elastic pool of threads for blocking ``@impure`` calls.

Cheap calls. ``loop.run_in_executor`` costs a concurrent Future (with its Condition), an
asyncio Future chained to it and a Task awaiting it: about 30 µs of the event loop's time per
call, which is most of a step's cost when thousands of isolates resume at once. Here a call is
a tuple handed to a thread, and outcomes go back to the loop in batches: one wake-up of the
loop for however many calls ended meanwhile. There is no per-call Future of any kind, and the
loop's side of a call takes no lock when a thread is idle (``list.pop`` is atomic under the
GIL), so the loop never waits for a pool thread that holds one.

No starvation. Up to ``min_threads`` threads start as calls need them. Past that, a call that
finds no idle thread is queued, and a helper thread watches the queue: when no queued call has
started for ``stall_seconds`` (every thread is busy with a call that does not return), it
starts one more thread, and again after each further stall, up to ``max_threads``. So calls
that hang cannot hold the capacity others need, while a burst of quick calls is served by the
threads already there: growing on every burst would start hundreds of threads that then fight
the event loop for the GIL (measured: 10 000 overdue timers each making one @impure call took
2.4 s to fire with growth on demand, 0.5 s with four threads). The helper starts threads, so
the loop never waits for thread start-up; a call goes to whichever thread is free first. Idle threads are reused
most-recently-idle first, so under a light load the same few threads serve every call and the
others, above ``min_threads``, end after ``idle_seconds`` idle. Threads start on demand: an
unused pool has none. Only when ``max_threads`` calls are running do further calls queue.

Timeouts. A call's ``timeout`` counts from the moment it starts on a thread, never time spent
queued. One watchdog thread (started with the first call that has a timeout) keeps a heap of
deadlines; a call without a timeout never touches it. When a deadline passes, the call's
outcome is a ``TimeoutError``, delivered once, and its thread is *abandoned*: it no longer
counts toward ``max_threads`` (a replacement is started when a call needs one), and whatever
the call later returns or raises is thrown away. Python cannot kill a thread: an abandoned
thread runs until the function returns, then ends. A function that never returns keeps its
thread (a daemon thread, so it does not keep the process from exiting) forever; a warning is
logged each time the number of abandoned threads reaches a multiple of 16.

Outcomes. Any exception a call raises, ``BaseException`` included (``SystemExit``,
``KeyboardInterrupt``, ``asyncio.CancelledError`` raised by user code), becomes its outcome
``(False, exc)``; it never ends a pool thread. ``deliver`` runs on the loop, once per
submitted call, until ``close()``; an exception from ``deliver`` is logged and the other
outcomes are still delivered.

How idle threads meet queued calls without a lock: an idle thread first looks for a queued
call, then pushes itself on the idle stack; a call that found no idle thread is queued, then
the idle stack is looked at again. Each side publishes before it looks at the other, so one of
them always sees the other (``_match``).
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
_CHECK = object()


class CallTimedOut(TimeoutError):
    """The outcome of a call whose timeout passed (the pool's own, not one the call raised)."""                   # to the helper thread: watch the queue for a stall


class _Worker:
    __slots__ = ("wake", "job", "counted", "thread")

    def __init__(self) -> None:
        self.wake = threading.Lock()    # held while the worker waits: released to hand it a job
        self.wake.acquire()
        self.job: Job | None = None     # set just before wake is released; None: end the thread
        self.counted = True             # counts toward max_threads (not retired nor abandoned)
        self.thread: threading.Thread | None = None


class _Deadline:
    """A running call with a timeout."""
    __slots__ = ("worker", "fn", "tag", "timeout", "at")

    def __init__(self, worker: _Worker, fn: Callable[..., Any], tag: Any, timeout: float, at: float):
        self.worker = worker
        self.fn = fn
        self.tag = tag
        self.timeout = timeout
        self.at = at


class ImpurePool:
    """Threads for blocking calls, between ``min_threads`` (kept once started) and
    ``max_threads`` (not counting abandoned ones); a thread above ``min_threads`` ends after
    ``idle_seconds`` idle (``math.inf``: never). ``deliver(tag, outcome)`` runs on ``loop``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, deliver: Callable[[Any, Outcome], None], *,
                 min_threads: int = 4, max_threads: int = 256, idle_seconds: float = 30.0,
                 stall_seconds: float = 0.05):
        if max_threads < 1 or min_threads < 0 or min_threads > max_threads:
            raise ValueError(f"need 0 <= min_threads <= max_threads and max_threads >= 1, "
                             f"got min_threads={min_threads}, max_threads={max_threads}")
        if idle_seconds <= 0:
            raise ValueError(f"idle_seconds must be > 0, got {idle_seconds}")
        self.loop = loop
        self.deliver = deliver
        self.min_threads = min_threads
        self.max_threads = max_threads
        self.idle_seconds = idle_seconds
        self.stall_seconds = stall_seconds
        self._progress = 0                              # calls started: the stall watch's clock
        self._watching = False                          # the helper is watching a queue
        self._idle_wait = -1 if idle_seconds == _NEVER else idle_seconds   # for Lock.acquire
        self._closed = False
        # lock-free (GIL-atomic list/deque operations), see _match
        self._idle: list[_Worker] = []                  # a stack: the most recently idle on top
        self._backlog: collections.deque[Job] = collections.deque()    # calls not started yet
        # thread counts, timeouts, and the set of threads: under _lock
        self._lock = threading.Lock()
        self._live = 0                                  # threads counted toward max_threads
        self._starting = 0                              # of which not yet running
        self._abandoned = 0                             # timed-out calls whose thread still runs
        self._workers: set[_Worker] = set()             # every thread still alive, abandoned too
        self._spawns: queue.SimpleQueue[_Worker | object | None] = queue.SimpleQueue()
        self._spawner: threading.Thread | None = None
        # running calls that have a timeout. Whoever pops a call's entry (atomic) decides its
        # outcome: the thread when the call ends, or the watchdog when its deadline passes.
        self._timed: dict[int, _Deadline] = {}
        self._keys = itertools.count()
        self._watchdog: threading.Thread | None = None
        self._tick = threading.Condition(self._lock)
        self._wake_at = _NEVER                          # when the watchdog wakes next
        # outcomes on their way to the loop: under _out_lock
        self._out_lock = threading.Lock()
        self._ended: collections.deque[tuple[Any, Outcome]] = collections.deque()
        self._posted = False

    # ---- introspection, for tests and metrics ------------------------------------------------

    @property
    def threads(self) -> int:
        """Threads that count toward ``max_threads`` (idle, running a call, or starting);
        abandoned threads are not included."""
        return self._live

    @property
    def idle(self) -> int:
        """Threads waiting for a call."""
        return len(self._idle)

    @property
    def running(self) -> int:
        """Calls running on a thread that counts toward ``max_threads``."""
        with self._lock:
            return max(0, self._live - self._starting - len(self._idle))

    @property
    def abandoned(self) -> int:
        """Calls that timed out and whose thread has not come back yet."""
        return self._abandoned

    @property
    def queued(self) -> int:
        """Calls submitted that no thread has taken yet: at ``max_threads`` running, or for the
        moment a new thread takes to start."""
        return len(self._backlog)

    def alive_threads(self) -> list[threading.Thread]:
        """Every pool thread started and not ended, abandoned ones included (not the helpers)."""
        with self._lock:
            return [w.thread for w in self._workers if w.thread is not None and w.thread.is_alive()]

    # ---- submitting ---------------------------------------------------------------------------

    def submit(self, ctx: contextvars.Context, fn: Callable[..., Any], args: tuple[Any, ...], tag: Any,
               timeout: float | None = None) -> None:
        """Run ``ctx.run(fn, *args)`` on a pool thread; ``deliver(tag, outcome)`` later runs on
        the loop, exactly once per submit (unless the pool is closed first). ``timeout``, in
        seconds, counts from the moment the call starts on a thread."""
        job: Job = (ctx, fn, args, tag, timeout)
        if self._closed:
            return
        try:
            w = self._idle.pop()
        except IndexError:
            self._submit_slow(job)
        else:
            w.job = job
            w.wake.release()

    def _submit_slow(self, job: Job) -> None:
        """No thread was idle: queue the call, and start a thread for it unless one is starting
        for it already or ``max_threads`` are running."""
        self._backlog.append(job)
        self._match()                       # a thread may have gone idle since the pop
        if not self._backlog:
            return
        if self._live < max(self.min_threads, 1):
            # This reads _live without the lock, after queueing the call; whoever lowers _live
            # (a timeout in _watch, an idle thread ending in _next) looks at the queue or the
            # idle stack afterwards.
            self._grow()
        elif not self._watching and self._live < self.max_threads:
            self._watching = True           # a thread that finishes takes it, unless all are stuck
            self._spawns.put(_CHECK)

    def _grow(self, most: int | None = None) -> None:
        """Start threads (``most`` at the most) while queued calls outnumber threads starting,
        below max_threads."""
        with self._lock:
            if self._closed:
                return
            new: list[_Worker] = []
            while len(self._backlog) > self._starting + len(new) and self._live < self.max_threads \
                    and (most is None or len(new) < most):
                self._live += 1
                w = _Worker()
                self._workers.add(w)
                new.append(w)
            if not new:
                return
            self._starting += len(new)
            start = self._spawner is None
            if start:
                self._spawner = threading.Thread(target=self._spawn_loop, daemon=True,
                                                 name=f"deepslate-impure-spawner-{next(_names)}")
        for w in new:
            self._spawns.put(w)
        if start:
            try:
                self._spawner.start()
            except BaseException:           # no helper thread: start this one's threads here
                with self._lock:
                    self._spawner = None
                self._spawn_loop(block=False)

    def _spawn_loop(self, block: bool = True) -> None:
        """The helper thread that starts pool threads, so that the loop never waits for it, and
        watches a queue of calls for a stall (see the module docstring)."""
        seen = -1
        while True:
            try:
                w = self._spawns.get(block, self.stall_seconds if block and self._watching else None)
            except queue.Empty:
                if not block:
                    return
                if not self._backlog or self._closed:
                    self._watching = False
                    if self._backlog:       # queued again since: keep watching
                        self._watching = True
                elif self._progress == seen:
                    self._grow(1)           # nothing started for a while: every thread is stuck
                seen = self._progress
                continue
            if w is None:
                return
            if w is _CHECK:
                seen = self._progress
                continue
            t = threading.Thread(target=self._serve, args=(w,), daemon=True,
                                 name=f"deepslate-impure-{next(_names)}")
            w.thread = t
            try:
                t.start()
            except BaseException as e:      # no thread to be had (resource limits, interpreter exit)
                with self._lock:
                    self._live -= 1
                    self._starting -= 1
                    self._workers.discard(w)
                    stranded = self._live == 0
                log.error("could not start a thread for @impure calls: %s: %s", type(e).__name__, e)
                if stranded:                # no thread left to take the queued calls: fail them
                    while True:
                        try:
                            job = self._backlog.popleft()
                        except IndexError:
                            break
                        self._post_outcome(job[3], (False, e))

    def _match(self) -> None:
        """Hand queued calls to idle threads while there are both. Both pops are atomic; a
        thread popped with no call left for it goes back on the stack, and the loop looks again."""
        idle, backlog = self._idle, self._backlog
        while backlog and idle:
            try:
                w = idle.pop()
            except IndexError:
                return
            try:
                job = backlog.popleft()
            except IndexError:
                idle.append(w)
                continue
            w.job = job
            w.wake.release()

    # ---- the threads ---------------------------------------------------------------------------

    def _serve(self, w: _Worker) -> None:
        with self._lock:
            self._starting -= 1
        ended: tuple[Any, Outcome] | None = None
        try:
            while True:
                job = self._next(w, ended)
                ended = None
                if job is None:
                    return
                self._progress += 1         # not atomic: a lost count only makes the watch grow early
                ctx, fn, args, tag, timeout = job
                key = None
                if timeout is not None:
                    key = self._arm(w, fn, tag, timeout)
                try:
                    out: Outcome = (True, ctx.run(fn, *args))
                except BaseException as e:   # the engine decides: retry, DSError or a failed isolate
                    out = (False, e)
                if key is not None and self._timed.pop(key, None) is None:
                    with self._lock:        # it timed out: its TimeoutError went out already
                        self._abandoned -= 1
                    return
                ended = (tag, out)
                del job, out, ctx, fn, args, tag    # hold nothing of a call's while idle
        finally:
            with self._lock:
                if w.counted:
                    self._live -= 1
                self._workers.discard(w)

    def _next(self, w: _Worker, ended: tuple[Any, Outcome] | None) -> Job | None:
        """Post the outcome of the call that ended, if any, and wait for the next call: a
        queued one, or one handed to this thread while idle. None ends the thread (the pool
        closed, or it was idle too long above min_threads). The thread is back on the idle
        stack before the outcome is posted, so a call the outcome leads to can reuse it."""
        if self._closed:
            return None
        try:
            job: Job | None = self._backlog.popleft()
        except IndexError:
            job = None
            self._idle.append(w)
            self._match()
        if ended is not None:
            self._post_outcome(*ended)
            ended = None
        if job is not None:
            return job
        if self._closed:                    # close() may have emptied the stack before the push
            try:
                self._idle.remove(w)
                return None
            except ValueError:
                pass                        # popped: its wake is released, with None or a call
        while True:
            if w.wake.acquire(timeout=self._idle_wait):
                job, w.job = w.job, None
                return job
            with self._lock:                # idle too long: end, if above min_threads
                if self._live <= self.min_threads:
                    continue
                # lower _live before leaving the stack: a call queued by a submit that finds the
                # stack without this thread then sees the lower count, and starts a thread
                self._live -= 1
                try:
                    self._idle.remove(w)
                except ValueError:          # popped just now: its wake is being released
                    self._live += 1
                    continue
                try:
                    job = self._backlog.popleft()
                except IndexError:
                    w.counted = False
                    return None
                self._live += 1             # a call was queued meanwhile: stay for it
                return job

    # ---- timeouts ------------------------------------------------------------------------------

    def _arm(self, w: _Worker, fn: Callable[..., Any], tag: Any, timeout: float) -> int:
        """Register a call that starts now with its timeout. No lock unless its deadline is
        earlier than the watchdog's next wake-up (so, rarely, when calls share a timeout)."""
        at = time.monotonic() + timeout
        key = next(self._keys)
        self._timed[key] = _Deadline(w, fn, tag, timeout, at)
        if at < self._wake_at:
            start = False
            with self._lock:
                if self._watchdog is None:
                    self._watchdog = threading.Thread(target=self._watch, daemon=True,
                                                      name=f"deepslate-impure-watchdog-{next(_names)}")
                    start = True
                else:
                    self._tick.notify()
            if start:
                self._watchdog.start()
        return key

    def _watch(self) -> None:
        timed = self._timed
        while True:
            timed_out: list[_Deadline] = []
            warn = 0
            with self._lock:
                if self._closed:
                    return
                # while it looks, any new call's deadline is earlier than _wake_at, so _arm
                # notifies (and waits for the lock until the watchdog waits)
                self._wake_at = _NEVER
                now = time.monotonic()
                first = _NEVER
                for key, dl in timed.copy().items():    # copy(): atomic under the GIL
                    if dl.at <= now:
                        if timed.pop(key, None) is None:
                            continue        # it ended just now
                        dl.worker.counted = False
                        self._live -= 1
                        self._abandoned += 1
                        if self._abandoned % _ABANDON_WARN_EVERY == 0:
                            warn = self._abandoned
                        timed_out.append(dl)
                    elif dl.at < first:
                        first = dl.at
                if not timed_out:
                    self._wake_at = first
                    self._tick.wait(None if first == _NEVER else first - now)
                    continue
            for dl in timed_out:
                name = getattr(dl.fn, "__qualname__", None) or repr(dl.fn)
                self._post_outcome(dl.tag, (False, CallTimedOut(f"@impure {name} timed out after {dl.timeout} s")))
            freed = len(timed_out)
            del timed_out, dl
            if self._backlog:               # the capacity freed goes to calls that were waiting
                self._grow(freed)
            if warn:
                log.warning("%d @impure calls timed out and still hold their threads "
                            "(Python cannot stop a thread: each ends when its function returns)", warn)

    # ---- back on the loop ----------------------------------------------------------------------

    def _post_outcome(self, tag: Any, out: Outcome) -> None:
        with self._out_lock:
            if self._closed:
                return
            self._ended.append((tag, out))
            post, self._posted = not self._posted, True
        if post:
            self._post()

    def _post(self) -> None:
        try:
            self.loop.call_soon_threadsafe(self._drain)
        except RuntimeError:            # the loop is closed: the engine has stopped
            self.close()

    def _drain(self) -> None:
        with self._out_lock:
            if self._closed:
                return
            batch = list(self._ended)
            self._ended.clear()
            self._posted = False
        for i, (tag, out) in enumerate(batch):
            if self._closed:
                return
            try:
                self.deliver(tag, out)
            except (SystemExit, KeyboardInterrupt):
                post = False
                with self._out_lock:    # the rest of the batch waits for the next drain
                    if not self._closed:
                        self._ended.extendleft(reversed(batch[i + 1:]))
                        if self._ended and not self._posted:
                            post = self._posted = True
                if post:
                    self._post()
                raise
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
        with self._out_lock:
            self._ended.clear()
        self._backlog.clear()
        self._spawns.put(None)
        while True:                     # one at a time: submit and _match pop concurrently
            try:
                w = self._idle.pop()
            except IndexError:
                break
            w.job = None
            w.wake.release()
