"""The engine: runs isolates on the VM, performs their effects, commits their steps.

The life of a step (DESIGN §2, docs/internals.md):

    effect completes ──► vm.resume(result) ──► vm.run() to the next durable point
        ──► one Commit: the new pending snapshot + the completed effect's shared ops
        ──► group-commit writer ──► durable ──► perform the pending effect ──► ...

An effect is performed only once the snapshot pending at it is durable, so an
@impure function never runs for a step the store does not know about.

Shared objects (queues, locks, wait groups) live in memory, loaded from the
store at start-up; the store is their durable mirror. The ordering rule that
keeps the two equal after a crash: a change to shared state is submitted to
the writer *before* any other isolate can submit a step that observed it.
That holds because an isolate that changes shared state resumes, runs and
submits its commit synchronously, without yielding to the event loop, while
the isolates it wakes go through the ready queue and submit later. Waiting
putters are woken to try again rather than handed a slot, so an item is only
ever in memory after its put was submitted.

Everything here runs on one event loop thread; the store is used from one
database thread, and blocking @impure functions from a thread pool.
"""
from __future__ import annotations

import asyncio
import collections
import contextvars
import gc
import inspect
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterable

from .._values import DSError, Lock, Queue, WaitGroup
from ..store.base import TERMINAL, Commit, IsolateRow, LeaseLost, Store, StoreError
from .errors import _KEY, FlowCancelled, FlowFailed, error_json
from .._faults import fault_point
from .blocking import BlockingPool, Outcome
from .writer import GroupCommitWriter

log = logging.getLogger("deepslate.runtime")

BURST = 1000               # isolates resumed at start from which the collector pauses for a while
BURST_SECONDS = 10.0
BLOCKING = {"queue_get", "select", "lock_acquire", "wg_wait", "http_listen"}
_RETRY = object()          # ready-queue marker: perform the pending effect again (a woken putter)
_START = object()          # ready-queue marker: run without resuming (a fresh or yielded isolate)


_VM: Any = None


def _vm_api() -> Any:
    # imported on first use: the store and the doors work without the extension built
    global _VM
    if _VM is None:
        from .. import _vm
        _VM = _vm
    return _VM


def _serial() -> Any:
    from ..compiler import serial
    return serial


class Iso:
    """An isolate in memory."""
    __slots__ = ("id", "name", "flow", "program", "vm", "status", "steps", "children", "log_seq",
                 "parent_id", "root_id", "waiters", "wake_at", "snapshot", "handle", "task", "active", "held",
                 "listen", "created")

    def __init__(self, id: int, name: str, flow: str, program: Any, vm: Any, parent_id: int | None = None,
                 root_id: int | None = None):
        self.id = id
        self.name = name
        self.flow = flow
        self.program = program
        self.vm = vm
        self.status = "running"
        self.steps = 0
        self.children = 0
        self.log_seq = 0
        self.parent_id = parent_id
        self.root_id = id if root_id is None else root_id   # the spawned isolate atop its create_task tree
        self.waiters: list[asyncio.Future[Any]] = []
        self.wake_at: float | None = None
        self.snapshot: bytes | None = None     # the last one submitted, kept for a failure row
        self.handle: asyncio.TimerHandle | None = None
        self.task: asyncio.Task[Any] | None = None
        self.active = True                     # False once finished, failed or cancelled
        self.held: set[int] = set()            # locks held, released on cancel
        self.listen: str | None = None         # http_listen: None, "peeking", "again" or "waiting"
        self.created: asyncio.Future[None] | None = None   # a spawn's row commit while it is in flight


class _Queue:
    __slots__ = ("id", "capacity", "elem", "items", "getters", "putters")

    def __init__(self, id: int, capacity: int, elem: str):
        self.id = id
        self.capacity = capacity
        self.elem = elem
        self.items: collections.deque[tuple[int, bytes]] = collections.deque()
        self.getters: collections.deque[tuple[Iso, int, list[bool]]] = collections.deque()  # (iso, index, taken)
        self.putters: collections.deque[Iso] = collections.deque()


class _Lock:
    __slots__ = ("holder", "waiters")

    def __init__(self, holder: int | None):
        self.holder = holder
        self.waiters: collections.deque[Iso] = collections.deque()


class _WaitGroup:
    __slots__ = ("count", "waiters")

    def __init__(self, count: int):
        self.count = count
        self.waiters: list[Iso] = []


def flow_of(f: Any) -> Any:
    """A Flow from what ``spawn_workers`` accepts: the decorated function or ``counter()``."""
    if hasattr(f, "program") and hasattr(f, "name"):
        return f
    raise TypeError(f"flows must be @flow functions (or their no-argument call), not {type(f).__name__}")


class Engine:
    """The async API: ``await Engine(store, flows).start()``, then spawn/wait/cancel/stop."""

    def __init__(self, store: Store, flows: Iterable[Any], workers: int = 4, *, node_id: str = "local",
                 commit_batch: int = 1000, budget: int = 200_000, impure_threads: int | None = None,
                 lease_seconds: float = 30.0, time_scale: float = 1.0):
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.store = store
        self.flows: dict[str, Any] = {}
        for f in flows:
            fl = flow_of(f)
            self.flows[fl.name] = fl
        self.n_workers = workers
        self.node_id = node_id
        self.commit_batch = commit_batch
        self.budget = budget
        self.lease_seconds = lease_seconds
        if not time_scale > 0:
            raise ValueError(f"time_scale must be positive, not {time_scale}")
        self.time_scale = time_scale       # sleeps last seconds * time_scale (tests, demos)
        self.db = ThreadPoolExecutor(1, thread_name_prefix="deepslate-db")
        self.impure_threads = impure_threads or max(4, workers)
        # calls with a timeout and retries after a first failure; first attempts go to self.blocking
        self.pool = ThreadPoolExecutor(self.impure_threads, thread_name_prefix="deepslate-impure-retry")
        self.by_name: dict[str, Iso] = {}
        self.by_id: dict[int, Iso] = {}
        self.programs: dict[bytes, Any] = {}
        self.stored_programs: set[bytes] = set()
        self.queues: dict[int, _Queue] = {}
        self.locks: dict[int, _Lock] = {}
        self.wgs: dict[int, _WaitGroup] = {}
        self.tree_objects: dict[int, list[tuple[str, int]]] = {}   # root -> its queues, locks, wait groups
        self.handed: dict[tuple[int, int], bytes] = {}   # (qid, seq) -> item on its way to a getter
        self.next_id: dict[str, int] = {}
        self.failure: BaseException | None = None
        self.started = False
        self._tasks: list[asyncio.Task[Any]] = []
        self._impure_tasks: set[asyncio.Task[Any]] = set()
        self.steps_committed = 0
        self._frozen: asyncio.TimerHandle | None = None

    # -- start and stop --------------------------------------------------------

    async def _db(self, fn: Any, *args: Any) -> Any:
        return await self.loop.run_in_executor(self.db, fn, *args)

    async def start(self) -> "Engine":
        self.loop = asyncio.get_running_loop()
        self.ready: asyncio.Queue[tuple[Iso, Any, list[tuple[Any, ...]]]] = asyncio.Queue()
        self.epoch = await self._db(self.store.claim, self.node_id)
        self.key_prefix = (await self._db(self.store.store_id))[:16]
        self.writer = GroupCommitWriter(self.store, self.node_id, self.epoch, self.db, self.commit_batch)
        self.blocking = BlockingPool(self.loop, self.impure_threads, self._impure_ended)
        shared = await self._db(self.store.load_shared)
        self.next_id = dict(shared.next_ids)
        for qid, (cap, elem, items) in shared.queues.items():
            q = self.queues[qid] = _Queue(qid, cap, elem)
            q.items.extend(items)
        self.locks = {lid: _Lock(h) for lid, h in shared.locks.items()}
        self.wgs = {wid: _WaitGroup(c) for wid, c in shared.waitgroups.items()}
        for (kind, oid), root in shared.roots.items():
            self.tree_objects.setdefault(root, []).append((kind, oid))
        rows = await self._db(self.store.load_unfinished, self.node_id, self.epoch)
        fault_point("after_claim_before_heartbeat")
        self._tasks.append(self.loop.create_task(self.writer.run(), name="deepslate-writer"))
        for i in range(self.n_workers):
            self._tasks.append(self.loop.create_task(self._worker(), name=f"deepslate-worker-{i}"))
        self._tasks.append(self.loop.create_task(self._heartbeat(), name="deepslate-heartbeat"))
        self.started = True
        loaded = []
        for row in rows:
            iso = await self._load(row)
            if iso is not None:
                loaded.append(iso)
        for lid, lk in self.locks.items():
            holder = self.by_id.get(lk.holder) if lk.holder is not None else None
            if holder is not None:
                holder.held.add(lid)
        if len(loaded) >= BURST and gc.get_freeze_count() == 0:
            # Resuming many isolates at once: full collections would walk every loaded VM again
            # and again (measured: 0.3-0.7 s of a 10 000-timer restart). Leave what exists now out
            # of the cyclic collector for the burst; nothing is lost, it is collected after.
            gc.freeze()
            self._frozen = self.loop.call_later(BURST_SECONDS, self._thaw)
        for iso in loaded:
            if iso.active:
                self._restart(iso)
        return self

    def _thaw(self) -> None:
        if self._frozen is not None:
            self._frozen.cancel()
            self._frozen = None
            gc.unfreeze()

    async def _mark_failed(self, row: IsolateRow, msg: str, kind: str) -> None:
        log.error("isolate %r: %s", row.name, msg)
        await self._db(self.store.mark_failed, self.node_id, self.epoch, row.id, error_json(msg, kind=kind))
        for lid, lk in self.locks.items():
            if lk.holder == row.id:
                self._hand_over(lid)

    async def _load(self, row: IsolateRow) -> Iso | None:
        """An unfinished isolate from its row; a row that cannot be loaded fails only that isolate."""
        vmm = _vm_api()
        try:
            program = await self._program(row.program_hash)
        except Exception as e:
            msg = (f"cannot load its program {row.program_hash.hex()[:16]} "
                   f"(flow {row.flow!r}): {type(e).__name__}: {e}")
            await self._mark_failed(row, msg, "program")
            return None
        try:
            state = vmm.decode_snapshot(row.snapshot, program)
            vm = vmm.VM.from_state(program, state)
        except Exception as e:
            msg = f"cannot resume from the stored snapshot: {type(e).__name__}: {e}"
            await self._mark_failed(row, msg, "snapshot")
            return None
        iso = Iso(row.id, row.name, row.flow, program, vm, row.parent_id, row.root_id)
        iso.status, iso.steps, iso.children, iso.log_seq = row.status, row.steps, row.children, row.log_seq
        iso.wake_at, iso.snapshot = row.wake_at, row.snapshot
        self.by_name[iso.name] = iso
        self.by_id[iso.id] = iso
        return iso

    def _restart(self, iso: Iso) -> None:
        pending = iso.vm.pending()
        if pending is None:
            self.ready.put_nowait((iso, _START, []))
        else:
            self._perform_safely(iso, pending[0], pending[1])

    async def _program(self, h: bytes) -> Any:
        p = self.programs.get(h)
        if p is not None:
            return p
        for fl in self.flows.values():
            if fl.program.hash == h:
                self.programs[h] = fl.program
                self.stored_programs.add(h)
                return fl.program
        body = await self._db(self.store.get_program, h)
        if body is None:
            raise StoreError(f"program {h.hex()[:16]} is not in the store")
        serial = _serial()
        p = serial.link(serial.program_from_bytes(body))
        self.programs[h] = p
        self.stored_programs.add(h)
        return p

    async def stop(self) -> None:
        """Stop running isolates; what was committed stays committed and resumes on the next start."""
        if not self.started:
            return
        self.started = False
        self._thaw()
        self._cancel_work()
        self.writer.close()
        await asyncio.gather(*self._tasks, *self._impure_tasks, return_exceptions=True)
        for iso in self.by_id.values():
            for f in iso.waiters:
                if not f.done():
                    f.set_exception(StoreError("the engine was stopped"))
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.db.shutdown(wait=True)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                await self._db(self.store.heartbeat, self.node_id, self.epoch)
            except (LeaseLost, StoreError) as e:
                self._halt(e)
                return

    def _halt(self, exc: BaseException) -> None:
        """A write failed (disk full, read-only, lease lost): stop everything. Committed state is
        intact; reopening the store resumes from it. Memory may be ahead of the store now, so
        going on would risk exactly what the store is there to prevent."""
        if self.failure is not None:
            return
        self.failure = exc
        log.error("deepslate engine stopped: %s", exc)
        self._cancel_work()
        for iso in self.by_id.values():
            for f in iso.waiters:
                if not f.done():
                    f.set_exception(exc)

    def _cancel_work(self) -> None:
        """Cancel the workers, the heartbeat, effects in flight and timers; the writer (task 0)
        is left to finish or fail what was submitted."""
        for t in self._tasks[1:]:
            t.cancel()
        for t in list(self._impure_tasks):
            t.cancel()
        self.blocking.close()
        for iso in self.by_id.values():
            if iso.handle is not None:
                iso.handle.cancel()

    def _check(self) -> None:
        if self.failure is not None:
            cls = type(self.failure) if isinstance(self.failure, StoreError) else StoreError
            raise cls(f"the engine stopped after a store failure: {self.failure}") from self.failure
        if not self.started:
            raise RuntimeError("the engine is not running (start it first, or it was stopped)")

    # -- the public operations ----------------------------------------------------

    async def spawn(self, name: str, flow_name: str, args: dict[str, Any] | None = None) -> tuple[int, bool]:
        self._check()
        fl = self.flows.get(flow_name)
        if fl is None:
            known = ", ".join(sorted(self.flows)) or "none"
            raise ValueError(f"unknown flow {flow_name!r} (flows given to spawn_workers: {known})")
        if not isinstance(name, str) or not name:
            raise ValueError(f"isolate name must be a non-empty str, not {name!r}")
        if "/" in name:
            raise ValueError(f"isolate name {name!r} must not contain '/' (reserved for child isolates)")
        program = fl.program
        values = check_args(fl.name, program.codes[program.entry].params, args)
        iso = self.by_name.get(name)
        if iso is not None:
            return await self._spawned(iso)
        row = await self._db(self.store.get_isolate, name)
        if row is not None:
            return row.id, True
        iso = self.by_name.get(name)       # spawned by someone else meanwhile
        if iso is not None:
            return await self._spawned(iso)
        vmm = _vm_api()
        vm = vmm.VM(program, program.entry, values)
        iid = self._new_id("isolate")
        iso = Iso(iid, name, fl.name, program, vm)
        self.programs.setdefault(program.hash, program)
        snap = vmm.encode_snapshot(program.hash, vm.export_state())
        iso.snapshot = snap
        ops: list[tuple[Any, ...]] = []
        if program.hash not in self.stored_programs:
            ops.append(("program", program.hash, _serial().program_to_bytes(program)))
        row = IsolateRow(iid, name, fl.name, program.hash, root_id=iid, snapshot=snap)
        self.by_name[name] = iso
        self.by_id[iid] = iso
        created = iso.created = self.writer.submit_wait(Commit(iid, "running", snap, 0, ops=ops, create=row))

        def settled(f: "asyncio.Future[None]") -> None:
            # here, not after the await: a caller that gives up waiting does not undo a spawn
            iso.created = None
            if f.cancelled() or f.exception() is not None:
                self.by_name.pop(name, None)
                self.by_id.pop(iid, None)
            else:
                self.stored_programs.add(program.hash)
                self.ready.put_nowait((iso, _START, []))
        created.add_done_callback(settled)
        await asyncio.shield(created)
        return iid, False

    async def _spawned(self, iso: Iso) -> tuple[int, bool]:
        """Spawn of a name this engine runs: (id, True), but not before its row is durable."""
        if iso.created is not None:
            await asyncio.shield(iso.created)
        return iso.id, True

    async def wait(self, name: str, timeout: float | None = None) -> Any:
        self._check()
        iso = self.by_name.get(name)
        if iso is not None:     # running, or finished with its last commit not yet durable
            fut = self.loop.create_future()
            iso.waiters.append(fut)
            try:
                await asyncio.wait_for(asyncio.shield(fut), timeout)
            except asyncio.TimeoutError:
                raise TimeoutError(f"isolate {name!r} did not finish within {timeout} s") from None
        row = await self._db(self.store.get_isolate, name)
        if row is None:
            raise KeyError(f"no isolate named {name!r}")
        return await self._outcome(row)

    async def _outcome(self, row: IsolateRow) -> Any:
        if row.status == "done":
            program = await self._program(row.program_hash)
            return _vm_api().decode_value(row.result, program)
        if row.status == "cancelled":
            raise FlowCancelled(row.name)
        if row.status == "failed":
            raise FlowFailed.from_stored(row.name, row.error)
        raise StoreError(f"isolate {row.name!r} is {row.status} but not running here")   # pragma: no cover

    async def status(self, name: str) -> str | None:
        iso = self.by_name.get(name)
        if iso is not None and iso.active:
            return iso.status
        row = await self._db(self.store.get_isolate, name)
        return row.status if row else None

    async def cancel(self, name: str) -> bool:
        """Cancel an unfinished isolate; False if it had already finished."""
        self._check()
        iso = self.by_name.get(name)
        if iso is None or not iso.active:
            row = await self._db(self.store.get_isolate, name)
            if row is None:
                raise KeyError(f"no isolate named {name!r}")
            return False
        # its unfinished descendants go too: none runs on for a parent that is gone. Each is
        # stopped before the next look, so a child created meanwhile is caught by that look.
        stopping = [(iso, self._deactivate(iso))]
        while True:
            more = await self._descendants(iso)
            if not more:
                break
            # one may have ended during the look's awaits: its end is committed, leave it be
            stopping += [(d, self._deactivate(d)) for d in more if d.active]
        ended = []
        for victim, ops in stopping:
            victim.status = "cancelled"
            c = Commit(victim.id, "cancelled", None, victim.steps + 1, children=victim.children,
                       log_seq=victim.log_seq, ops=ops)
            ended.append((victim, c, self.writer.submit_wait(c)))
        for victim, c, committed in ended:
            await committed
            self._ended(victim, c)
        return True

    async def _descendants(self, iso: Iso) -> list[Iso]:
        """The still active isolates below ``iso`` in its create_task tree."""
        parents: dict[int, int | None] = {}

        async def parent_of(i: int) -> int | None:
            if i not in parents:
                known = self.by_id.get(i)
                if known is not None:
                    parents[i] = known.parent_id
                else:       # a finished isolate between two running ones
                    row = await self._db(self.store.get_isolate_by_id, i)
                    parents[i] = row.parent_id if row is not None else None
            return parents[i]

        found: list[Iso] = []
        for other in list(self.by_id.values()):
            if other is iso or not other.active or other.root_id != iso.root_id:
                continue
            up = other.parent_id
            while up is not None and up != iso.id:
                up = await parent_of(up)
            if up == iso.id:
                found.append(other)
        return found

    async def retry(self, name: str) -> bool:
        """Run a failed isolate again from its last snapshot (after an @impure function kept
        failing and the cause was fixed). False if it has no snapshot to resume from."""
        self._check()
        row = await self._db(self.store.get_isolate, name)
        if row is None:
            raise KeyError(f"no isolate named {name!r}")
        if row.status != "failed" or row.snapshot is None:
            return False
        await self._db(self.store.set_status, self.node_id, self.epoch, row.id, "running")
        row.status = "running"
        self.by_name.pop(name, None)
        iso = await self._load(row)
        if iso is None:
            return False
        self._restart(iso)
        return True

    async def send(self, name: str, method: str, route: str, body: bytes) -> int:
        """Commit an inbound message for ``name``'s ``http_listen(method, route)`` and wake it.

        Messages wait in the inbox until the flow listens there, and are delivered once each,
        in arrival order per (isolate, method, route). Returns the message id."""
        self._check()
        if not isinstance(body, bytes):
            raise TypeError(f"message body must be bytes, not {type(body).__name__}")
        iso = self.by_name.get(name)
        if iso is None:
            row = await self._db(self.store.get_isolate, name)
            if row is None:
                raise KeyError(f"no isolate named {name!r}")
            if row.status in TERMINAL:
                raise ValueError(f"isolate {name!r} has finished ({row.status}); it listens no more")
            iid = row.id
        else:
            iid = iso.id
        mid = await self._db(self.store.inbox_put, iid, method.upper(), route, body)
        fault_point("after_inbox_insert_before_202")
        self.deliver(name)
        return mid

    def deliver(self, name: str) -> None:
        """A message for ``name`` was committed to the inbox: look again if it listens."""
        iso = self.by_name.get(name)
        if iso is None or not iso.active:
            return
        if iso.listen == "peeking":
            iso.listen = "again"            # the peek in flight may have missed it
        elif iso.listen == "waiting":
            pending = iso.vm.pending()
            if pending is not None:
                self._perform_safely(iso, pending[0], pending[1])

    # -- stepping -------------------------------------------------------------------

    def _new_id(self, kind: str) -> int:
        n = self.next_id.get(kind, 1)
        self.next_id[kind] = n + 1
        return n

    async def _worker(self) -> None:
        while True:
            iso, value, ops = await self.ready.get()
            try:
                self._step(iso, value, ops)
            except Exception:       # an engine bug must not take a worker away from every isolate
                log.exception("worker step of isolate %r", iso.name)

    def _step(self, iso: Iso, value: Any, ops: list[tuple[Any, ...]]) -> None:
        taken = [op for op in ops if op[0] == "queue_take"]
        if not iso.active or self.failure is not None:
            if self.failure is None:
                self._unhand(taken)
            return
        try:
            if value is _RETRY:
                pending = iso.vm.pending()
                if pending is not None:
                    self._perform(iso, pending[0], pending[1])
            else:
                self._advance(iso, value, ops)
        except Exception as e:
            # submitting the step is the last thing _advance does, so a step that raised never
            # committed its takes: the items go back to their queue, as they are in the store
            self._unhand(taken)
            self._internal_error(iso, e)
        else:
            for op in taken:
                del self.handed[op[1], op[2]]

    def _advance(self, iso: Iso, value: Any, ops: list[tuple[Any, ...]]) -> None:
        """Resume with ``value``, run to the next durable point and submit that step."""
        vm = iso.vm
        if value is not _START:
            vm.resume(value)
        iso.status = "running"
        spec, args = vm.run(self.budget)
        kind = spec.kind
        lines = vm.take_log()
        iso.log_seq += len(lines)
        iso.steps += 1
        if kind == "return":
            self._submit_end(iso, Commit(iso.id, "done", None, iso.steps, result=_vm_api().encode_value(args[0]),
                                         children=iso.children, log=lines, log_seq=iso.log_seq, ops=ops))
            return
        if kind == "fault":
            f = args[0]
            self._fail(iso, f.message, f.frames, kind="fault", lines=lines, ops=ops, exc_type=f.exc_type)
            return
        snap = _vm_api().encode_snapshot(iso.program.hash, vm.export_state())
        iso.snapshot = snap
        if kind == "yield":
            c = Commit(iso.id, "running", snap, iso.steps, children=iso.children, log=lines,
                       log_seq=iso.log_seq, ops=ops)
            self.writer.submit(c, lambda exc: self._after(exc, iso, None, None))
            return
        wake_at = None
        waiting_on = kind
        status = "running"
        if kind == "sleep":
            wake_at = time.time() + max(0.0, float(args[0])) * self.time_scale
            status = "sleeping"
        elif kind in BLOCKING:
            status = "waiting"
            waiting_on = describe(kind, args)
        iso.wake_at = wake_at
        iso.status = status
        c = Commit(iso.id, status, snap, iso.steps, wake_at=wake_at, waiting_on=waiting_on,
                   children=iso.children, log=lines, log_seq=iso.log_seq, ops=ops)
        self.writer.submit(c, lambda exc: self._after(exc, iso, spec, args))

    def _after(self, exc: BaseException | None, iso: Iso, spec: Any, args: Any) -> None:
        """A step is durable: perform its pending effect (or requeue a yielded isolate)."""
        if exc is not None:
            self._halt(exc)
            return
        self.steps_committed += 1
        if not iso.active:
            return
        if spec is None:
            self.ready.put_nowait((iso, _START, []))
        else:
            self._perform_safely(iso, spec, args)

    def _submit_end(self, iso: Iso, c: Commit) -> None:
        iso.active = False
        iso.status = c.status
        self._release_all(iso, c.ops)

        def done(exc: BaseException | None) -> None:
            if exc is not None:
                self._halt(exc)
                return
            self.steps_committed += 1
            self._ended(iso, c)
        self.writer.submit(c, done)

    def _ended(self, iso: Iso, c: Commit) -> None:
        self._finish(iso)
        if c.collected is not None:     # the store deleted the tree's objects with this commit
            for kind, oid in self.tree_objects.pop(c.collected, ()):
                if kind == "queue":
                    self.queues.pop(oid, None)
                elif kind == "lock":
                    self.locks.pop(oid, None)
                else:
                    self.wgs.pop(oid, None)

    def _finish(self, iso: Iso) -> None:
        """The terminal row is durable: wake waiters (they read it from the store) and forget the isolate."""
        for f in iso.waiters:
            if not f.done():
                f.set_result(None)
        iso.waiters.clear()
        iso.vm = None
        if self.by_name.get(iso.name) is iso:
            del self.by_name[iso.name]
        self.by_id.pop(iso.id, None)

    def _fail(self, iso: Iso, message: str, frames: Any = None, kind: str = "fault",
              lines: list[str] | None = None, ops: list[tuple[Any, ...]] | None = None,
              keep_snapshot: bool = False, exc_type: str = "") -> None:
        # a failure after an @impure call kept raising keeps the pending snapshot: retry() resumes it
        c = Commit(iso.id, "failed", iso.snapshot if keep_snapshot else None, iso.steps,
                   error=error_json(message, frames, kind, exc_type), children=iso.children, log=lines or [],
                   log_seq=iso.log_seq, ops=list(ops or []))
        if iso.handle is not None:
            iso.handle.cancel()
        self._submit_end(iso, c)

    def _deactivate(self, iso: Iso) -> list[tuple[Any, ...]]:
        iso.active = False
        if iso.handle is not None:
            iso.handle.cancel()
        if iso.task is not None:
            iso.task.cancel()
        ops: list[tuple[Any, ...]] = []
        self._release_all(iso, ops)
        return ops

    def _release_all(self, iso: Iso, ops: list[tuple[Any, ...]]) -> None:
        """An isolate that ends holding locks releases them (else nobody ever could)."""
        for lid in sorted(iso.held):
            ops.append(("lock_set", lid, None))
            self._hand_over(lid)
        iso.held.clear()

    # -- effects ---------------------------------------------------------------------

    def _perform_safely(self, iso: Iso, spec: Any, args: Any) -> None:
        try:
            self._perform(iso, spec, args)
        except Exception as e:
            self._internal_error(iso, e, f" in {spec.kind}")

    def _internal_error(self, iso: Iso, e: Exception, where: str = "") -> None:
        """An engine bug while stepping an isolate fails that isolate alone, never the others."""
        log.exception("isolate %r", iso.name)
        self._fail(iso, f"internal error{where}: {type(e).__name__}: {e}", kind="internal")

    def _perform(self, iso: Iso, spec: Any, args: tuple[Any, ...]) -> None:
        kind = spec.kind
        if kind == "sleep":
            delay = (iso.wake_at or 0.0) - time.time()
            iso.status = "sleeping"
            if delay <= 0:
                self.ready.put_nowait((iso, None, []))
            else:
                iso.handle = self.loop.call_later(delay, self._wake_timer, iso)
        elif kind == "impure":
            fn = spec.fn
            if (len(spec.extra) > 3 and spec.extra[3]) or inspect.iscoroutinefunction(fn):
                iso.task = self._effect_task(self._impure(iso, spec, args))
            else:       # a plain blocking call without a timeout: the light path
                self.blocking.submit(self._impure_context(iso), fn, args, (iso, spec, args))
        elif kind == "queue_put":
            self._queue_put(iso, args[0], args[1])
        elif kind == "queue_get":
            self._select(iso, (args[0],), single=True)
        elif kind == "select":
            self._select(iso, args, single=False)
        elif kind == "lock_acquire":
            lid = args[0].id
            lk = self._lock(lid)
            if lk.holder is None:
                lk.holder = iso.id
                iso.held.add(lid)
                self._advance(iso, None, [("lock_set", lid, iso.id)])
            else:
                iso.status = "waiting"
                lk.waiters.append(iso)
        elif kind == "lock_release":
            lid = args[0].id
            lk = self._lock(lid)
            if lk.holder != iso.id:
                self._fail(iso, f"release of Lock({lid}), which this isolate does not hold", kind="fault",
                           frames=_frames(iso))
                return
            iso.held.discard(lid)
            self._hand_over(lid)
            self._advance(iso, None, [("lock_set", lid, None)])
        elif kind in ("wg_add", "wg_done"):
            wid = args[0].id
            wg = self._wg(wid)
            n = int(args[1]) if kind == "wg_add" else -1
            if wg.count + n < 0:
                self._fail(iso, f"negative WaitGroup counter (WaitGroup({wid}) at {wg.count}, "
                                f"{'add ' + str(n) if kind == 'wg_add' else 'done'})", frames=_frames(iso))
                return
            wg.count += n
            if wg.count == 0:
                for w in wg.waiters:
                    self.ready.put_nowait((w, None, []))
                wg.waiters.clear()
            self._advance(iso, None, [("wg_set", wid, wg.count)])
        elif kind == "wg_wait":
            wg = self._wg(args[0].id)
            if wg.count == 0:
                self._advance(iso, None, [])
            else:
                iso.status = "waiting"
                wg.waiters.append(iso)
        elif kind == "new_queue":
            qid = self._new_id("queue")
            cap = int(args[0]) if args else 0
            elem = str(spec.extra[0]) if spec.extra else ""
            self.queues[qid] = _Queue(qid, cap, elem)
            self.tree_objects.setdefault(iso.root_id, []).append(("queue", qid))
            self._advance(iso, Queue(qid), [("queue_new", qid, cap, elem, iso.root_id)])
        elif kind == "new_lock":
            lid = self._new_id("lock")
            self.locks[lid] = _Lock(None)
            self.tree_objects.setdefault(iso.root_id, []).append(("lock", lid))
            self._advance(iso, Lock(lid), [("lock_new", lid, iso.root_id)])
        elif kind == "new_waitgroup":
            wid = self._new_id("wg")
            self.wgs[wid] = _WaitGroup(0)
            self.tree_objects.setdefault(iso.root_id, []).append(("wg", wid))
            self._advance(iso, WaitGroup(wid), [("wg_new", wid, iso.root_id)])
        elif kind == "create_task":
            self._create_task(iso, spec, args)
        elif kind == "http_listen":
            self._effect_task(self._listen(iso, str(args[0]), str(args[1])))
        elif kind == "http_request":
            iso.task = self._effect_task(self._http_request(iso, *args))
        else:
            self._fail(iso, f"unknown durable operation {kind!r}", frames=_frames(iso), kind="internal")

    def _effect_task(self, coro: Any) -> "asyncio.Task[Any]":
        """An effect performed off the worker: kept so that stop and a halt can cancel it."""
        t = self.loop.create_task(coro)
        self._impure_tasks.add(t)
        t.add_done_callback(self._impure_tasks.discard)
        return t

    def _wake_timer(self, iso: Iso) -> None:
        iso.handle = None
        if iso.active:
            self.ready.put_nowait((iso, None, []))

    # queues

    def _queue(self, qid: int) -> _Queue:
        q = self.queues.get(qid)
        if q is None:
            raise StoreError(f"Queue({qid}) is not in the store")
        return q

    def _queue_put(self, iso: Iso, handle: Queue, value: Any) -> None:
        q = self._queue(handle.id)
        data = _vm_api().encode_value(value)
        # a full queue still takes the item when a getter is waiting for it (Go's handoff)
        while q.getters and (q.getters[0][2][0] or not q.getters[0][0].active):
            q.getters.popleft()
        if q.capacity and len(q.items) >= q.capacity and not q.getters:
            iso.status = "waiting"
            q.putters.append(iso)
            return
        seq = self._new_id("seq")
        q.items.append((seq, data))
        self._serve(q)
        self._advance(iso, None, [("queue_put", q.id, seq, data)])

    def _serve(self, q: _Queue) -> None:
        """Hand items to waiting getters, oldest first; each commits its take in its own step."""
        while q.items and q.getters:
            g, index, taken = q.getters.popleft()
            if taken[0] or not g.active:
                continue
            taken[0] = True
            seq, data = q.items.popleft()
            value = _vm_api().decode_value(data, g.program)
            self.handed[q.id, seq] = data
            self.ready.put_nowait((g, value if index < 0 else [index, value], [("queue_take", q.id, seq)]))
            self._wake_putter(q)

    def _unhand(self, takes: list[tuple[Any, ...]]) -> None:
        """Items handed to a getter that ended (cancelled) before its step took them: as in the
        store, they are still in their queue, in their place, for the next getter."""
        for _, qid, seq in takes:
            data = self.handed.pop((qid, seq))
            q = self.queues.get(qid)
            if q is None:           # the getter's cancel ended its tree: the queue is deleted
                continue
            i = 0
            while i < len(q.items) and q.items[i][0] < seq:
                i += 1
            q.items.insert(i, (seq, data))
            self._serve(q)

    def _wake_putter(self, q: _Queue) -> None:
        while q.putters:
            p = q.putters.popleft()
            if p.active:
                self.ready.put_nowait((p, _RETRY, []))
                return

    def _select(self, iso: Iso, handles: tuple[Any, ...], single: bool) -> None:
        qs = [self._queue(h.id) for h in handles]
        for i, q in enumerate(qs):
            if q.items:
                seq, data = q.items.popleft()
                value = _vm_api().decode_value(data, iso.program)
                self._wake_putter(q)
                self._advance(iso, value if single else [i, value], [("queue_take", q.id, seq)])
                return
        iso.status = "waiting"
        taken = [False]
        for i, q in enumerate(qs):
            q.getters.append((iso, -1 if single else i, taken))

    # locks and wait groups

    def _lock(self, lid: int) -> _Lock:
        lk = self.locks.get(lid)
        if lk is None:
            raise StoreError(f"Lock({lid}) is not in the store")
        return lk

    def _wg(self, wid: int) -> _WaitGroup:
        wg = self.wgs.get(wid)
        if wg is None:
            raise StoreError(f"WaitGroup({wid}) is not in the store")
        return wg

    def _hand_over(self, lid: int) -> None:
        lk = self.locks[lid]
        lk.holder = None
        while lk.waiters:
            w = lk.waiters.popleft()
            if w.active:
                lk.holder = w.id
                w.held.add(lid)
                self.ready.put_nowait((w, None, [("lock_set", lid, w.id)]))
                return

    # children

    def _create_task(self, iso: Iso, spec: Any, args: tuple[Any, ...]) -> None:
        vmm = _vm_api()
        code_index = int(spec.extra[0])
        program = iso.program
        copied = vmm.decode_value(vmm.encode_value(list(args)), program)
        child_vm = vmm.VM(program, code_index, tuple(copied))
        iso.children += 1
        cid = self._new_id("isolate")
        name = f"{iso.name}/{iso.children}"
        flow = program.codes[code_index].name
        child = Iso(cid, name, flow, program, child_vm, parent_id=iso.id, root_id=iso.root_id)
        snap = vmm.encode_snapshot(program.hash, child_vm.export_state())
        child.snapshot = snap
        self.by_name[name] = child
        self.by_id[cid] = child
        row = IsolateRow(cid, name, flow, program.hash, parent_id=iso.id, root_id=iso.root_id, snapshot=snap)
        self._advance(iso, None, [("isolate_new", row)])
        # the child's first step is submitted after the parent's, which creates its row
        self.ready.put_nowait((child, _START, []))

    # @impure

    def _idempotency_key(self, iso: Iso) -> str:
        """The same on every re-run of the pending effect: store, isolate and step it waits at."""
        return f"{self.key_prefix}-{iso.id}-{iso.vm.steps}"

    def _impure_context(self, iso: Iso) -> contextvars.Context:
        ctx = contextvars.copy_context()
        ctx.run(_KEY.set, self._idempotency_key(iso))
        return ctx

    def _impure_ended(self, tag: tuple[Iso, Any, tuple[Any, ...]], out: Outcome) -> None:
        """A first attempt on the blocking pool returned: hand the value on, or let the general
        path deal with a failure (retries, DSError, a failed isolate) or an awaitable."""
        iso, spec, args = tag
        if not self.started or self.failure is not None or not iso.active:
            return
        ok, value = out
        if ok and not inspect.isawaitable(value):
            self.ready.put_nowait((iso, value, []))
        else:
            iso.task = self._effect_task(self._impure(iso, spec, args, first=out))

    async def _impure(self, iso: Iso, spec: Any, args: tuple[Any, ...], first: Outcome | None = None) -> None:
        ref, retries, backoff, timeout, returns_error = (tuple(spec.extra) + (None,) * 5)[:5]
        retries = int(retries or 0)
        backoff = float(backoff or 0.0)
        fn = spec.fn
        ctx = self._impure_context(iso)
        attempt = 0
        while True:
            try:
                if first is not None:           # the first attempt already ran on the blocking pool
                    ok, value = first
                    first = None
                    if not ok:
                        raise value
                    if inspect.isawaitable(value):
                        value = await asyncio.wait_for(value, timeout or None)
                elif inspect.iscoroutinefunction(fn):
                    coro = ctx.run(fn, *args)
                    value = await asyncio.wait_for(self.loop.create_task(coro, context=ctx), timeout or None)
                else:
                    fut = self.loop.run_in_executor(self.pool, ctx.run, fn, *args)
                    value = await asyncio.wait_for(fut, timeout or None)
                    if inspect.isawaitable(value):
                        value = await asyncio.wait_for(value, timeout or None)
                break
            except asyncio.CancelledError:
                raise
            except BaseException as e:
                if isinstance(e, asyncio.TimeoutError):
                    e = TimeoutError(f"{ref} timed out after {timeout} s")
                if attempt < retries:
                    await asyncio.sleep(backoff * (2 ** attempt))
                    attempt += 1
                    continue
                iso.task = None
                if not iso.active:
                    return
                if returns_error:
                    self.ready.put_nowait((iso, DSError(str(e)), []))
                else:
                    tries = f" after {attempt + 1} attempts" if attempt else ""
                    self._fail(iso, f"{type(e).__name__}: {e} (raised by @impure {ref}{tries})", _frames(iso),
                               kind="impure", keep_snapshot=True, exc_type=type(e).__name__)
                return
        iso.task = None
        if iso.active:
            self.ready.put_nowait((iso, value, []))

    # inbox (the HTTP ingress that fills it is a later piece)

    async def _listen(self, iso: Iso, method: str, route: str) -> None:
        method = method.upper()
        while True:
            iso.listen = "peeking"
            msg = await self._db(self.store.inbox_peek, iso.id, method, route)
            if not iso.active:
                return
            if msg is not None:
                iso.listen = None
                mid, body = msg
                try:
                    self._advance(iso, body, [("inbox_take", mid)])
                except Exception as e:
                    self._internal_error(iso, e, " in http_listen")
                return
            if iso.listen == "again":
                continue
            iso.listen = "waiting"
            iso.status = "waiting"
            return

    async def _http_request(self, iso: Iso, method: str, url: str, headers: dict[str, str], body: bytes) -> None:
        import aiohttp
        hdrs = dict(headers or {})
        hdrs.setdefault("Idempotency-Key", self._idempotency_key(iso))
        value: Any
        try:
            async with aiohttp.ClientSession() as s:
                async with s.request(method, url, headers=hdrs, data=body) as r:
                    data = await r.read()
                    value = data if r.status < 400 else DSError(f"HTTP {r.status}: {data[:200]!r}", kind="http")
        except asyncio.CancelledError:
            raise
        except Exception as e:
            value = DSError(f"{type(e).__name__}: {e}", kind="http")
        iso.task = None
        if iso.active:
            self.ready.put_nowait((iso, value, []))


def _frames(iso: Iso) -> list[tuple[str, str, int, int]]:
    try:
        return [(f["function"], f["filename"], f["line"], f["col"]) for f in iso.vm.frames_view()]
    except Exception:
        return []


def describe(kind: str, args: tuple[Any, ...]) -> str:
    if kind in ("queue_get", "select"):
        return f"{kind} " + ", ".join(repr(a) for a in args)
    if kind in ("lock_acquire", "wg_wait"):
        return f"{kind} {args[0]!r}"
    if kind == "http_listen":
        return f"http_listen {args[0]} {args[1]}"
    return kind


def check_args(flow: str, params: Any, args: Any) -> tuple[Any, ...]:
    """The spawn arguments in parameter order, checked against the parameter types."""
    from .._types import FLOAT, check_value, handle_in
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise TypeError(f"arguments of flow {flow!r} must be a dict of parameter name to value, "
                        f"not {type(args).__name__}")
    names = [p[0] for p in params]
    for k in args:
        if k not in names:
            raise TypeError(f"flow {flow!r} has no parameter {k!r} (parameters: {', '.join(names) or 'none'})")
    out = []
    for pname, ptype in params:
        if pname not in args:
            raise TypeError(f"flow {flow!r}: missing argument for parameter {pname!r}: {ptype}")
        h = handle_in(ptype)
        if h is not None:
            raise TypeError(f"flow {flow!r}: parameter {pname} holds a {h}, which only a flow can pass "
                            "(a flow call or create_task); spawn it from a flow that makes the object")
        v = args[pname]
        err = check_value(ptype, v, pname)
        if err:
            raise TypeError(f"flow {flow!r}: parameter {err}")
        if ptype == FLOAT and type(v) is int:
            v = float(v)
        if type(v) is float and v != v:
            raise ValueError(f"flow {flow!r}: parameter {pname}: NaN is not a valid float argument")
        out.append(v)
    return tuple(out)
