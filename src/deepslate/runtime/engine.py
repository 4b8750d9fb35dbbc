"""The engine: runs isolates on the VM, performs their effects, commits their steps.

The life of a step (DESIGN §2, docs/internals.md):

    effect completes ──► vm.resume(result) ──► vm.run() to the next durable point
        ──► one Commit: the new pending snapshot + the completed effect's shared ops
        ──► group-commit writer ──► durable ──► publish its shared ops, perform the pending effect

An effect is performed only once the snapshot pending at it is durable, so an @impure
function never runs for a step the store does not know about. A change to shared
objects (runtime/shared.py) reaches other isolates only once its commit is durable, and
a commit that does not land is rolled back there; so a failed step never leaves a
shared object ahead of the store.

Two kinds of failure, kept apart:
- an *isolate fault* (a fault in flow code, a user exception of any type, a value the store
  refuses, a snapshot over ``max_snapshot_bytes``) fails that isolate alone;
- a *store fault* (disk full, I/O error, read-only, lost lease) stops the engine
  (``_halt``): memory may be ahead of the store, and reopening resumes from it.

Everything here runs on one event loop thread; the store is used from one database
thread, blocking @impure functions from the impure pool.
"""
from __future__ import annotations

import asyncio
import functools
import gc
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any, Callable, Iterable

from ..store.base import TERMINAL, Commit, CommitRejected, InboxPut, InboxTake, IsolateNew, IsolateRow, LeaseLost, \
    Op, ProgramPut, Store, StoreError
from .._builtins import flow_clock
from .._faults import fault_point
from ..program import link, serial
from .blocking import ImpurePool
from . import events, requests, retention
from .clock import REAL, Clock
from .effects import BLOCKING, Effect, Effects, deadline
from .errors import FlowCancelled, FlowFailed, error_json
from .ingress import Ingress, IngressServer, split_addr
from .httpclient import HttpClient, HttpPolicy
from .isolate import RELOCK, START, Iso, args_digest, check_args, check_name, describe, flow_of, frames_of, \
    same_spawn
from .metrics import EngineMetrics
from .retention import Retention
from .shared import RETRY, SharedObjects
from .stall import StallWatch, slow_step
from .writer import GroupCommitWriter

log = logging.getLogger("deepslate.runtime")

BURST = 1000               # isolates resumed at start from which the collector pauses for a while
BURST_SECONDS = 10.0
MAX_SNAPSHOT_BYTES = 64 << 20
IMPURE_STALL_SECONDS = 0.02     # no @impure call started for this long: its threads are stuck, add one


def _default_vm() -> Any:
    from .. import _vm
    return _vm


# How the engine stores and loads programs (``Engine(serial=...)``; tests pass a stand-in).
PROGRAM_CODEC = SimpleNamespace(program_to_bytes=serial.program_to_bytes,
                                program_from_bytes=serial.program_from_bytes, link=link.link)


class Engine(Effects):
    """The async API: ``await Engine(store, flows).start()``, then spawn/wait/cancel/retry/stop.

    ``vm`` and ``serial`` are the interpreter (``deepslate._vm``: VM, snapshot and value
    codecs) and the program codec (``program_to_bytes``, ``program_from_bytes``, ``link``:
    ``PROGRAM_CODEC``); tests pass stand-ins."""

    def __init__(self, store: Store, flows: Iterable[Any], workers: int = 4, *, node_id: str = "local",
                 commit_batch: int = 1000, budget: int = 200_000, impure_threads: int | None = None,
                 lease_seconds: float = 30.0, time_scale: float = 1.0,
                 max_snapshot_bytes: int = MAX_SNAPSHOT_BYTES, slow_step_seconds: float = 0.5,
                 listen_addr: str | None = None, ingress: Ingress | None = None,
                 http_policy: HttpPolicy | None = None, clock: Clock | None = None, vm: Any = None,
                 serial: Any = None, retention: Retention | None = None,
                 poll_requests: float | None = requests.POLL_SECONDS):
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        if not time_scale > 0:
            raise ValueError(f"time_scale must be positive, not {time_scale}")
        if max_snapshot_bytes < 1:
            raise ValueError(f"max_snapshot_bytes must be positive, not {max_snapshot_bytes}")
        if not slow_step_seconds > 0:
            raise ValueError(f"slow_step_seconds must be positive, not {slow_step_seconds}")
        if listen_addr is not None:
            split_addr(listen_addr)
        if ingress is not None and not isinstance(ingress, Ingress):
            raise TypeError(f"ingress must be a deepslate.Ingress, not {type(ingress).__name__}")
        self.listen_addr = listen_addr      # the HTTP ingress listens here (None: no ingress)
        self.ingress_settings = ingress or Ingress()
        self.ingress: IngressServer | None = None
        if http_policy is not None and not isinstance(http_policy, HttpPolicy):
            raise TypeError(f"http_policy must be a deepslate.HttpPolicy, not {type(http_policy).__name__}")
        if retention is not None and not isinstance(retention, Retention):
            raise TypeError(f"retention must be a deepslate.Retention, not {type(retention).__name__}")
        if poll_requests is not None and not poll_requests > 0:
            raise ValueError(f"poll_requests must be a positive number of seconds or None, not {poll_requests!r}")
        self.retention = retention          # None: finished isolates are kept for ever
        self.poll_requests = poll_requests  # seconds between two looks for requests of other processes
        if clock is not None and not isinstance(clock, Clock):
            raise TypeError(f"clock must be a deepslate Clock, not {type(clock).__name__}")
        self.clock = clock or REAL          # sleeps, deadlines, backoff and a flow's now() follow it
        self._now = self.clock.now
        self._virtual = self.clock.virtual
        self.impure_fn: Callable[[Any], Any] | None = None   # the testing kit's: the function an @impure call runs
        self.in_flight = InFlight()         # blocking @impure calls on the pool and store reads under way
        self.store = store
        self.flows: dict[str, Any] = {}
        for f in flows:
            fl = flow_of(f)
            self.flows[fl.name] = fl
        self.vm = vm if vm is not None else _default_vm()
        self.serial = serial if serial is not None else PROGRAM_CODEC
        self.n_workers = workers
        self.node_id = node_id
        self.commit_batch = commit_batch
        self.budget = budget
        self.lease_seconds = lease_seconds
        self.time_scale = time_scale       # sleeps last seconds * time_scale (tests, demos)
        self.max_snapshot_bytes = max_snapshot_bytes
        self.slow_step_seconds = slow_step_seconds
        self.http_policy = http_policy or HttpPolicy()
        self.http = HttpClient()            # its session lives from start to stop (or a halt)
        # one thread to begin with: quick calls run fastest without a fight for the GIL (10 000
        # file appends took 0.34-0.48 s on four threads, 0.13-0.15 s on one); calls that block
        # make the pool grow
        self.impure_threads = impure_threads or 1
        self.db = ThreadPoolExecutor(1, thread_name_prefix="deepslate-db")
        self.by_name: dict[str, Iso] = {}
        self.by_id: dict[int, Iso] = {}
        self.kids: dict[int, set[Iso]] = {}        # parent id -> its children in memory, until they finish
        self.programs: dict[bytes, Any] = {}
        self.program_bodies: dict[bytes, bytes] = {}     # serialized programs of spawned flows
        self.shared = SharedObjects(self.vm.decode_value)
        self.failure: BaseException | None = None
        self.started = False
        self._tasks: list[asyncio.Task[Any]] = []
        self._effect_tasks: set[asyncio.Task[Any]] = set()
        self.metrics = EngineMetrics()      # counters bumped in place; runtime/metrics.py renders them
        self._frozen: asyncio.TimerHandle | None = None
        self._stepping: tuple[Iso, float] | None = None      # the step on the loop now, for the stall watch
        self._watch: StallWatch | None = None
        # http_listen: who listens on (root, method, route), and the messages taken by steps not
        # yet durable, which no other listener of the tree may take meanwhile
        self._listeners: dict[tuple[int, str, str], dict[int, Iso]] = {}
        self._listening: dict[int, set[tuple[int, str, str]]] = {}     # isolate id -> keys it is listed under
        self._takes: dict[tuple[int, str, str], dict[int, int]] = {}
        self._take_key: dict[int, tuple[int, str, str]] = {}

    # -- start and stop --------------------------------------------------------

    async def _db(self, fn: Any, *args: Any) -> Any:
        self.in_flight.n += 1
        try:
            return await self.loop.run_in_executor(self.db, fn, *args)
        finally:
            self.in_flight.done()

    async def run_db(self, fn: Any, *args: Any, **kw: Any) -> Any:
        """``fn(*args, **kw)`` (a store method) on the engine's database thread."""
        return await self._db(functools.partial(fn, *args, **kw))

    @property
    def steps_committed(self) -> int:
        """Durable steps committed since the engine started."""
        return self.metrics.steps

    async def isolate_row(self, name: str) -> IsolateRow | None:
        """Isolate ``name`` as the store holds it (its last committed step), or None."""
        row: IsolateRow | None = await self._db(self.store.get_isolate, name)
        return row

    async def start(self) -> "Engine":
        try:
            return await self._start()
        except BaseException:
            # a start that failed (store unreachable, lease taken) leaves no thread behind
            if self.started:
                await self.stop()
            else:
                self.db.shutdown(wait=False)
            raise

    async def _start(self) -> "Engine":
        self.loop = asyncio.get_running_loop()
        self.ready: asyncio.Queue[tuple[Iso, Any, list[Op]]] = asyncio.Queue()
        self._timer = self.clock.timers(self.loop)
        self.epoch = await self._db(self.store.claim, self.node_id)
        self.key_prefix = (await self._db(self.store.store_id))[:16]
        self.writer = GroupCommitWriter(self.store, self.node_id, self.epoch, self.db, self.commit_batch,
                                        metrics=self.metrics)
        self.impure_pool = ImpurePool(self.loop, self._impure_delivered, min_threads=self.impure_threads,
                                       stall_seconds=IMPURE_STALL_SECONDS)
        self.shared.load(await self._db(self.store.load_shared))
        rows = await self._db(self.store.load_unfinished, self.node_id, self.epoch)
        fault_point("after_claim_before_heartbeat")
        self._tasks.append(self.loop.create_task(self.writer.run(), name="deepslate-writer"))
        for i in range(self.n_workers):
            self._tasks.append(self.loop.create_task(self._worker(), name=f"deepslate-worker-{i}"))
        self._tasks.append(self.loop.create_task(self._heartbeat(), name="deepslate-heartbeat"))
        self._watch = StallWatch(self, threading.get_ident())
        self.http.open()
        self.started = True
        loaded = []
        for row in rows:
            iso = await self._load(row)
            if iso is not None:
                loaded.append(iso)
        for lid, lk in self.shared.locks.items():
            holder = self.by_id.get(lk.holder) if lk.holder is not None else None
            if holder is not None:
                holder.held.add(lid)
        # children whose parent ended for good but whose own end did not land before a crash
        failed_orphans = False
        for row in await self._db(self.store.orphans):
            orphan = self.by_id.get(row.id)
            if orphan is not None and orphan.active:
                victims = [orphan, *self._descendants_in_memory(orphan)]
                for v in victims:
                    self._deactivate(v)
                for v in victims:
                    self._end(v, "cancelled")
            elif row.status == "failed":
                failed_orphans = True
        if failed_orphans:
            self._effect_task(self._end_failed_children(None))
        if len(loaded) >= BURST and gc.get_freeze_count() == 0:
            # Resuming many isolates at once: full collections would walk every loaded VM again
            # and again (measured: 0.3-0.7 s of a 10 000-timer restart). Leave what exists now out
            # of the cyclic collector for the burst; nothing is lost, it is collected after.
            gc.freeze()
            self._frozen = self.loop.call_later(BURST_SECONDS, self._thaw)
        for iso in loaded:
            if iso.active:
                iso.relock = [lid for lid in iso.relock if lid not in iso.held and lid in self.shared.locks]
                self._relock(iso)
        if self.listen_addr is not None:
            self.ingress = await IngressServer(self, self.listen_addr, self.ingress_settings).start()
        # requests filed while no engine held the store are applied now, then as they come
        if self.poll_requests is not None:
            self._tasks.append(self.loop.create_task(requests.serve(self, self.poll_requests),
                                                     name="deepslate-requests"))
        if self.retention is not None:
            self._tasks.append(self.loop.create_task(retention.keep(self, self.retention), name="deepslate-retention"))
        return self

    @property
    def ingress_url(self) -> str | None:
        """``http://host:port`` the ingress listens on (the bound port when given port 0)."""
        return self.ingress.url if self.ingress is not None else None

    def _thaw(self) -> None:
        if self._frozen is not None:
            self._frozen.cancel()
            self._frozen = None
            gc.unfreeze()

    async def _load(self, row: IsolateRow) -> Iso | None:
        """An unfinished isolate from its row; a row that cannot be loaded fails only that isolate."""
        try:
            program = await self._program(row.program_hash)
        except Exception as e:
            msg = (f"cannot load its program {row.program_hash.hex()[:16]} "
                   f"(flow {row.flow!r}): {type(e).__name__}: {e}")
            await self._mark_failed(row, msg, "program")
            return None
        try:
            state = self.vm.decode_snapshot(row.snapshot, program)
            vm = self.vm.VM.from_state(program, state)
        except Exception as e:
            msg = f"cannot resume from the stored snapshot: {type(e).__name__}: {e}"
            await self._mark_failed(row, msg, "snapshot")
            return None
        iso = Iso(row.id, row.name, row.flow, program, vm, row.parent_id, row.root_id)
        iso.status, iso.steps, iso.children, iso.log_seq = row.status, row.steps, row.children, row.log_seq
        iso.wake_at = row.wake_at
        iso.detached = row.detached
        iso.args_hash = row.args_hash
        if row.parent_id is not None:
            self.kids.setdefault(row.parent_id, set()).add(iso)
        if row.status != "failed":
            iso.relock = held_in(row.error) if row.error else []     # a retry that had locks to take back
        self.by_name[iso.name] = iso
        self.by_id[iso.id] = iso
        return iso

    async def _mark_failed(self, row: IsolateRow, msg: str, kind: str) -> None:
        events.emit(events.ISOLATE, logging.WARNING, "failed", isolate=row.name, flow=row.flow, step=row.steps,
                    error=msg, kind=kind)
        await self._db(self.store.mark_failed, self.node_id, self.epoch, row.id, error_json(msg, kind=kind))
        for w in self.shared.forget_holder(row.id):    # the store released its locks with the mark
            self.ready.put_nowait(w)

    def _restart(self, iso: Iso) -> None:
        pending = iso.vm.pending()
        if pending is None:
            self.ready.put_nowait((iso, START, []))
        else:
            self._perform_safely(iso, pending[0], pending[1])

    async def _program(self, h: bytes) -> Any:
        p = self.programs.get(h)
        if p is not None:
            return p
        for fl in self.flows.values():
            if fl.program.hash == h:
                self.programs[h] = fl.program
                return fl.program
        body = await self._db(self.store.get_program, h)
        if body is None:
            raise StoreError(f"program {h.hex()[:16]} is not in the store")
        p = self.serial.link(self.serial.program_from_bytes(body))
        self.programs[h] = p
        return p

    async def stop(self) -> None:
        """Stop running isolates; what was committed stays committed and resumes on the next start."""
        if not self.started:
            return
        self.started = False
        if self.ingress is not None:
            await self.ingress.close()
        self._thaw()
        self._cancel_work()
        self.writer.close()
        await asyncio.gather(*self._tasks, *self._effect_tasks, return_exceptions=True)
        await asyncio.gather(self.http.close(), return_exceptions=True)
        if self.failure is None:
            # other processes see at once that no engine holds the store (deepslate cancel ...)
            try:
                await self._db(self.store.release, self.node_id, self.epoch)
            except StoreError as e:
                log.warning("the lease of node %r could not be released at stop: %s", self.node_id, e)
        for iso in self.by_id.values():
            for f in iso.waiters:
                if not f.done():
                    f.set_exception(StoreError("the engine was stopped"))
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
        events.emit(events.ENGINE, logging.ERROR, "paused", store=self.store.path, node=self.node_id,
                    error=f"{type(exc).__name__}: {exc}")
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
        for t in list(self._effect_tasks):
            t.cancel()
        self.http.close()           # no connection stays open behind a halted engine
        self.impure_pool.close()
        if self._watch is not None:
            self._watch.close()
        for iso in self.by_id.values():
            if iso.handle is not None:
                iso.handle.cancel()

    def busy(self) -> "asyncio.Future[Any] | None":
        """None when nothing is in hand: no isolate ready, no step, @impure call, http_request,
        inbox look or commit in flight, no timer due (every unfinished isolate is blocked on a
        timer, a message, another isolate, or nothing). Otherwise a future that ends once that
        part is done; ask again then. Steps run to their durable point without awaiting, so
        between two turns of the loop no step is half-way. The testing kit moves a virtual
        clock only when this is None."""
        if not self.ready.empty() or (self._virtual and self.clock.due()):     # type: ignore[attr-defined]
            return self._next_turn()
        if self._effect_tasks:
            return asyncio.ensure_future(asyncio.wait(list(self._effect_tasks),
                                                      return_when=asyncio.FIRST_COMPLETED))
        drained = self.writer.drained()
        if drained is not None:
            return drained
        return self.in_flight.quiet()

    def _next_turn(self) -> "asyncio.Future[None]":
        f = self.loop.create_future()
        self.loop.call_soon(f.set_result, None)
        return f

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
        check_name(name)
        program = fl.program
        values = check_args(fl.name, program.codes[program.entry].params, args)
        digest = args_digest(values)
        iso = self.by_name.get(name)
        if iso is not None:
            same_spawn(name, iso.flow, iso.args_hash, fl.name, digest, args)
            return await self._spawned(iso)
        row = await self._db(self.store.get_isolate, name)
        if row is not None:
            same_spawn(name, row.flow, row.args_hash, fl.name, digest, args)
            return row.id, True
        iso = self.by_name.get(name)       # spawned by someone else meanwhile
        if iso is not None:
            same_spawn(name, iso.flow, iso.args_hash, fl.name, digest, args)
            return await self._spawned(iso)
        # the flow gets its own copies: a caller that reuses its list changes nothing of it
        vm = self.vm.VM(program, program.entry, tuple(self._copy(list(values), program)))
        snap = self.vm.encode_snapshot(program.hash, vm.export_state())
        if len(snap) > self.max_snapshot_bytes:
            raise ValueError(f"flow {fl.name!r}: the arguments make a snapshot of {len(snap)} bytes, over the "
                             f"limit of {self.max_snapshot_bytes} (max_snapshot_bytes)")
        iid = self.shared.new_id("isolate")
        iso = Iso(iid, name, fl.name, program, vm)
        iso.args_hash = digest
        self.programs.setdefault(program.hash, program)
        # The program goes with every spawn (an INSERT OR IGNORE of a stored one costs a key
        # look-up): a purge, of this process or another, deletes a program once no isolate uses it
        body = self.program_bodies.get(program.hash)
        if body is None:
            body = self.program_bodies[program.hash] = self.serial.program_to_bytes(program)
        ops: list[Op] = [ProgramPut(program.hash, body)]
        row = IsolateRow(iid, name, fl.name, program.hash, root_id=iid, snapshot=snap, args_hash=digest)
        self.by_name[name] = iso
        self.by_id[iid] = iso
        created = iso.created = self.writer.submit_wait(Commit(iid, "running", snap, 0, ops=ops, create=row))

        def settled(f: "asyncio.Future[None]") -> None:
            # here, not after the await: a caller that gives up waiting does not undo a spawn
            iso.created = None
            if f.cancelled() or f.exception() is not None:
                iso.active = False
                self.by_name.pop(name, None)
                self.by_id.pop(iid, None)
            else:
                events.emit(events.ISOLATE, logging.INFO, "spawned", isolate=name, flow=fl.name, id=iid)
                self.ready.put_nowait((iso, START, []))
        created.add_done_callback(settled)
        try:
            await asyncio.shield(created)
        except CommitRejected as e:
            raise ValueError(f"spawn of {name!r}: the store refused it: {e}") from None
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
            finally:
                if not fut.done():
                    fut.cancel()
                if fut in iso.waiters:
                    iso.waiters.remove(fut)
        row = await self._db(self.store.get_isolate, name)
        if row is None:
            raise KeyError(f"no isolate named {name!r}")
        return await self._outcome(row)

    async def _outcome(self, row: IsolateRow) -> Any:
        if row.status == "done":
            program = await self._program(row.program_hash)
            return self.vm.decode_value(row.result, program)
        if row.status == "cancelled":
            raise FlowCancelled(row.name)
        if row.status == "failed":
            raise FlowFailed.from_stored(row.name, row.error)
        raise StoreError(f"isolate {row.name!r} is {row.status} but not running here")

    async def status(self, name: str) -> str | None:
        self._check()
        iso = self.by_name.get(name)
        if iso is not None and iso.active:
            return iso.status
        row = await self._db(self.store.get_isolate, name)
        return row.status if row else None

    async def list_isolates(self, status: str | None = None, flow: str | None = None, limit: int = 100,
                            offset: int = 0) -> list[IsolateRow]:
        """Isolates as committed, oldest first, filtered by status and flow name."""
        self._check()
        rows: list[IsolateRow] = await self._db(self.store.list_isolates, status, flow, None, limit, offset)
        return rows

    async def cancel(self, name: str) -> bool:
        """Cancel an unfinished isolate and its unfinished attached descendants (not a detached
        child, nor anything below one), or a failed one that kept its snapshot for retry (its
        attached children go with it). False if it had already ended otherwise."""
        self._check()
        iso = self.by_name.get(name)
        if iso is None or not iso.active:
            row = await self._db(self.store.get_isolate, name)
            if row is None:
                raise KeyError(f"no isolate named {name!r}")
            return await self._cancel_failed(row)
        # It stops now, with every attached descendant whose line of parents is in memory (no
        # await before: none of them takes another step once cancel has begun). Shielded: a
        # caller that gives up waiting must not leave the tree half cancelled.
        stopping = [iso, *self._descendants_in_memory(iso)]
        for victim in stopping:
            self._deactivate(victim)
        return await asyncio.shield(self._cancel_tree(iso, stopping))

    async def _cancel_failed(self, row: IsolateRow) -> bool:
        """Cancel a failed isolate that kept its snapshot for retry (its attached children go
        with it, once its end is durable: _finish)."""
        if row.status != "failed" or row.snapshot is None or row.name in self.by_name:
            return False
        if not await self._db(self.store.adopt_failed, self.node_id, self.epoch, row.id, "cancelled"):
            return False
        gone = Iso(row.id, row.name, row.flow, None, None, row.parent_id, row.root_id)
        gone.steps, gone.children, gone.log_seq = row.steps, row.children, row.log_seq
        await asyncio.shield(self._end(gone, "cancelled", error=row.error))
        return True

    def _descendants_in_memory(self, iso: Iso) -> list[Iso]:
        """The active isolates below ``iso`` that end with it: not below a detached child."""
        found, todo = [], [iso.id]
        while todo:
            for child in self.kids.get(todo.pop(), ()):
                if child.detached:
                    continue
                todo.append(child.id)
                if child.active:
                    found.append(child)
        return found

    async def _cancel_tree(self, iso: Iso, stopping: list[Iso]) -> bool:
        # the rest of its unfinished descendants (below a finished isolate, found through the
        # store) go too. Each is stopped before the next look, so a child created meanwhile
        # is caught by that look.
        while True:
            more = [d for d in await self._descendants(iso) if d.active]
            if not more:
                break
            for d in more:
                self._deactivate(d)
            stopping += more
        for end in [self._end(victim, "cancelled") for victim in stopping]:
            await end
        return True

    async def _descendants(self, iso: Iso) -> list[Iso]:
        """The still active isolates below ``iso`` in its create_task tree that end with it
        (no detached child on the way up)."""
        parents: dict[int, int | None] = {}

        async def parent_of(i: int) -> int | None:
            """The parent that ``i`` ends with (None: it is detached, or the root)."""
            if i not in parents:
                known = self.by_id.get(i)
                if known is not None:
                    parents[i] = None if known.detached else known.parent_id
                else:       # a finished isolate between two running ones
                    row = await self._db(self.store.get_isolate_by_id, i)
                    parents[i] = row.parent_id if row is not None and not row.detached else None
            return parents[i]

        found: list[Iso] = []
        for other in list(self.by_id.values()):
            if other is iso or not other.active or other.root_id != iso.root_id or other.detached:
                continue
            up = other.parent_id
            while up is not None and up != iso.id:
                up = await parent_of(up)
            if up == iso.id:
                found.append(other)
        return found

    async def retry(self, name: str, *, failed_at: float | None = None) -> bool:
        """Run a failed isolate again from its last good snapshot (after an @impure function
        kept failing, or a value the store refused, and the cause was fixed). Locks it held
        there are taken back first. False if it has nothing to resume from, or another retry
        or a cancel got to it first.

        ``failed_at``: the ``updated_at`` of the failure the caller saw (``IsolateInfo.updated_at``);
        the retry happens only if the isolate is still failed at exactly that time. Two retries
        carrying the same failure (a double click) retry once, even if the isolate failed again
        in between."""
        self._check()
        if failed_at is not None and (isinstance(failed_at, bool) or not isinstance(failed_at, (int, float))):
            raise TypeError(f"failed_at must be the failure's updated_at (a unix time) or None, "
                            f"not {type(failed_at).__name__}")
        known = self.by_name.get(name)
        if known is not None and known.active:
            return False
        row = await self._db(self.store.get_isolate, name)
        if row is None:
            raise KeyError(f"no isolate named {name!r}")
        if row.status != "failed" or row.snapshot is None:
            return False
        if failed_at is not None and row.updated_at != failed_at:
            return False
        if not await self.run_db(self.store.adopt_failed, self.node_id, self.epoch, row.id, "running",
                                 updated_at=failed_at):
            return False
        events.emit(events.ISOLATE, logging.INFO, "retried", isolate=name, flow=row.flow, step=row.steps)
        row.status = "running"
        self.by_name.pop(name, None)
        iso = await self._load(row)
        if iso is None:
            return False
        self._relock(iso)
        return True

    def _relock(self, iso: Iso) -> None:
        """Take back, one by one, the locks a retried isolate's snapshot holds; then go on."""
        while iso.relock and iso.active:
            go = self.shared.acquire(iso, iso.relock[0], RELOCK)
            if go is None:
                iso.status = "waiting"      # handed over later: _step gets RELOCK
                return
            self._relocked(iso, go.ops)
            return
        if iso.active:
            self._restart(iso)

    def _relocked(self, iso: Iso, ops: list[Op]) -> None:
        iso.relock.pop(0)
        # the row keeps the list until the isolate steps on, so a restart meanwhile goes on taking
        held = error_json("retried: taking back its locks", kind="retry", held=sorted(iso.held | set(iso.relock)))
        c = Commit(iso.id, "running", None, iso.steps, keep_snapshot=True, children=iso.children, error=held,
                   log_seq=iso.log_seq, ops=ops, waiting_on="lock_acquire (retry)")
        self._submit(iso, c, lambda: self._relock(iso))

    async def send(self, name: str, method: str, route: str, body: bytes, *, key: str | None = None) -> int:
        """Commit an inbound message for ``name``'s tree's ``http_listen(method, route)`` and wake
        the listener (what the HTTP ingress does for a request).

        Messages wait in the inbox until a flow of the tree listens there, and are delivered once
        each, in arrival order per (tree, method, route); a repeated ``key`` lands once. Returns
        the message id."""
        self._check()
        if not isinstance(body, bytes):
            raise TypeError(f"message body must be bytes, not {type(body).__name__}")
        try:
            put = await self.put_message(name, method.upper(), route, body, None, key)
        except LookupError as e:
            if isinstance(e, KeyError):
                raise
            raise ValueError(str(e)) from None
        return put.mid

    async def put_message(self, name: str, method: str, route: str, body: bytes, headers: str | None,
                          key: str | None) -> InboxPut:
        """File a message through the group-commit writer; once durable, wake the tree's listener.
        Raises KeyError (no such isolate), LookupError (its tree has ended) or RuntimeError (the
        engine stopped)."""
        iso = self.by_name.get(name)
        if iso is not None and iso.active:
            iid, root = iso.id, iso.root_id
        else:
            row = await self._db(self.store.get_isolate, name)
            if row is None:
                raise KeyError(f"no isolate named {name!r}")
            iid, root = row.id, row.root_id if row.root_id is not None else row.id
        if self.failure is not None or not self.started:
            raise RuntimeError("the engine is not running")
        put = InboxPut(iid, method, route, body, headers, key, self.ingress_settings.dedupe_seconds)
        try:
            await asyncio.shield(self.writer.submit_wait(Commit(iid, "", None, 0, ops=[put], row=False)))
        except CommitRejected as e:
            raise RuntimeError(f"the store refused the message: {e}") from None
        except Exception as e:
            self._halt(e)
            raise RuntimeError(f"the engine stopped after a store failure: {e}") from None
        if put.gone:
            raise LookupError(f"isolate {name!r} has finished, and nothing in its tree listens any more")
        fault_point("after_inbox_insert_before_202")
        if not put.duplicate:
            self._offer((root, method, route), put.mid, body)
        return put

    # -- http_listen: listeners and takes -----------------------------------------------

    async def _inbox_next(self, iso: Iso, method: str, route: str) -> tuple[int, bytes] | None:
        """The next message for ``iso``'s http_listen(method, route): the oldest of its tree's
        inbox that no other listener's step in flight has taken. ``iso`` is registered as a
        listener of that key first, so a message committed during the look wakes it again."""
        key = (iso.root_id, method, route)
        self._listeners.setdefault(key, {})[iso.id] = iso
        self._listening.setdefault(iso.id, set()).add(key)
        while True:
            takes = self._takes.get(key)
            skip: tuple[int, ...] = ()
            if takes:
                for mid, holder in list(takes.items()):
                    h = self.by_id.get(holder)
                    if h is None or not h.active:        # its step will never land
                        self._untake(mid)
                # its own too: a take of this isolate's is released before it listens again, so
                # one still held means a second look of the same listen is on the way
                skip = tuple(takes)
            msg: tuple[int, bytes] | None = await self._db(self.store.inbox_peek, iso.root_id, method, route, skip)
            if msg is None:
                return None
            if msg[0] in self._take_key:
                continue                # taken by another look while this one was on the way
            self._takes.setdefault(key, {})[msg[0]] = iso.id
            self._take_key[msg[0]] = key
            listening = self._listeners.get(key)
            if listening is not None:
                listening.pop(iso.id, None)
            return msg

    def _untake(self, mid: int) -> tuple[int, str, str] | None:
        key = self._take_key.pop(mid, None)
        if key is not None:
            takes = self._takes.get(key)
            if takes is not None:
                takes.pop(mid, None)
                if not takes:
                    del self._takes[key]
        return key

    def _offer(self, key: tuple[int, str, str], mid: int, body: bytes) -> None:
        """Message ``mid`` for ``key`` was just committed. A listener of the tree with no look in
        flight has looked since every older message was committed, and found none free: it gets
        this one at once, without another read of the inbox. Otherwise the listeners look."""
        listening = self._listeners.get(key)
        if listening and mid not in self._take_key:
            for iid, iso in list(listening.items()):
                w = iso.wait
                if not iso.active or w is None or w.won[0] or iso.listen != "waiting":
                    continue
                case = next((c for c, m, r in w.routes if (m, r) == key[1:]), None)
                if case is None:
                    continue
                self._takes.setdefault(key, {})[mid] = iso.id
                self._take_key[mid] = key
                del listening[iid]
                self._win(iso, w, [case, body] if w.select else body, [InboxTake(mid)])
                return
        self._wake_listeners(key)

    def _wake_listeners(self, key: tuple[int, str, str]) -> None:
        """A message for ``key`` was committed (or given back): each isolate of the tree
        listening there looks again; the first to take it gets it."""
        listening = self._listeners.get(key)
        if not listening:
            return
        for iid, iso in list(listening.items()):
            w = iso.wait
            if not iso.active or w is None or w.won[0]:
                del listening[iid]           # ended, or its wait is over
            elif any((m, r) == key[1:] for _, m, r in w.routes):
                self._look(iso, w)           # a look in flight is told to look again
        if not listening:
            del self._listeners[key]

    def _unlisten(self, iso: Iso) -> None:
        for key in self._listening.pop(iso.id, ()):
            listening = self._listeners.get(key)
            if listening is not None:
                listening.pop(iso.id, None)
                if not listening:
                    del self._listeners[key]

    def shared_view(self) -> tuple[dict[int, list[int]], dict[int, int | None], dict[int, int]]:
        """Queues, locks and wait groups as memory holds them (see SharedObjects.view)."""
        return self.shared.view()

    # -- stepping -------------------------------------------------------------------

    async def _worker(self) -> None:
        while True:
            iso, value, ops = await self.ready.get()
            try:
                self._step(iso, value, ops)
            except BaseException:   # an engine bug must not take a worker away from every isolate
                log.exception("worker step of isolate %r", iso.name)

    def _step(self, iso: Iso, value: Any, ops: list[Op]) -> None:
        if self.failure is not None:
            return
        if not iso.active:
            self._unpublish(iso, ops)       # a hand-off to an isolate that ended meanwhile
            return
        try:
            if value is RETRY:
                pending = iso.vm.pending()
                if pending is not None:
                    self._perform(iso, pending[0], pending[1])
            elif value is RELOCK:
                self._relocked(iso, ops)
            else:
                self._advance(iso, value, ops)
        except BaseException as e:
            # submitting the step is the last thing _advance does, so a step that raised
            # committed nothing: its ops are undone, as they are in the store
            self._unpublish(iso, ops)
            self._internal_error(iso, e)

    def _advance(self, iso: Iso, value: Any, ops: list[Op]) -> None:
        """Resume with ``value``, run to the next durable point and submit that step."""
        vm = iso.vm
        if iso.wait is not None:
            self._drop_wait(iso)        # a queue hand-off won its select: withdraw the rest
        if value is not START:
            vm.resume(value)
        iso.status = "running"
        t0 = time.perf_counter()
        self._stepping = (iso, t0)
        try:
            if self._virtual:
                flow_clock.now = self._now
                try:
                    spec, args = vm.run(self.budget)
                finally:
                    del flow_clock.now
            else:
                spec, args = vm.run(self.budget)
        finally:
            self._stepping = None
        took = time.perf_counter() - t0
        if took >= self.slow_step_seconds:
            slow_step(iso, took)
        kind = spec.kind
        if iso.carry:
            ops, iso.carry = iso.carry + ops, []
        if kind == Effect.YIELD:
            # a preemption for fairness, not a durable point: nothing is written, the printed
            # lines stay in the VM (bounded there). The size of the state is checked at the
            # 1st, 2nd, 4th, 8th ... preemption in a row, so a runaway state fails the
            # isolate at a cost linear in its size
            iso.yields += 1
            iso.carry = ops
            if iso.yields & (iso.yields - 1) == 0:
                snap = self._snapshot(iso, ops)
                if snap is None:
                    return
            self.ready.put_nowait((iso, START, []))
            return
        iso.yields = 0
        lines = vm.take_log()
        iso.steps += 1
        iso.log_seq += len(lines)
        if kind == Effect.RETURN:
            try:
                result = self.vm.encode_value(args[0])
            except BaseException as e:
                self._unstorable(iso, ops, lines, f"its result cannot be stored: {type(e).__name__}: {e}")
                return
            self._end(iso, "done", result=result, log=lines, ops=ops)
            return
        if kind == Effect.FAULT:
            f = args[0]
            # a fault of the flow's own code: deterministic, so nothing to retry; the step's
            # shared ops happened before it, in program order, and commit with it
            self._end(iso, "failed", error=error_json(f.message, f.frames, "fault", f.exc_type), log=lines, ops=ops)
            return
        snap = self._snapshot(iso, ops, lines)
        if snap is None:
            return
        wake_at = None
        waiting_on = kind
        status = "running"
        if kind == Effect.SLEEP:
            wake_at = self._now() + max(0.0, float(args[0])) * self.time_scale
            status = "sleeping"
        elif kind in BLOCKING:
            status = "waiting"
            waiting_on = describe(kind, args, spec.extra)
            seconds = deadline(spec, args)
            if seconds is not None:     # stored with the step, so the deadline outlives a restart
                wake_at = self._now() + max(0.0, seconds) * self.time_scale
        iso.wake_at = wake_at
        iso.status = status
        c = Commit(iso.id, status, snap, iso.steps, wake_at=wake_at, waiting_on=waiting_on,
                   children=iso.children, log=lines, log_seq=iso.log_seq, ops=ops)

        def perform() -> None:      # the snapshot pending at the effect is durable: do it
            if iso.active:
                self._perform_safely(iso, spec, args)
        self._submit(iso, c, perform)

    def _snapshot(self, iso: Iso, ops: list[Op], lines: list[str] | None = None) -> bytes | None:
        """The isolate's state, or None when it cannot or may not be stored (then the isolate
        has failed, keeping its last good snapshot)."""
        try:
            snap: bytes = self.vm.encode_snapshot(iso.program.hash, iso.vm.export_state())
        except BaseException as e:
            self._unstorable(iso, ops, lines, f"its state cannot be stored: {type(e).__name__}: {e}")
            return None
        if len(snap) > self.max_snapshot_bytes:
            self._unstorable(iso, ops, lines, f"its snapshot is {len(snap)} bytes, over the limit of "
                                              f"{self.max_snapshot_bytes} (max_snapshot_bytes)", "MemoryError")
            return None
        return snap

    def _unstorable(self, iso: Iso, ops: list[Op], lines: list[str] | None, why: str,
                    exc_type: str = "ValueError") -> None:
        """The step cannot be stored: it never happened. Its ops are undone and the isolate
        fails, keeping its last good snapshot for retry."""
        frames = frames_of(iso)
        iso.carry = []
        if lines:
            iso.log_seq -= len(lines)
        self._unpublish(iso, ops)
        self._fail(iso, why, frames, kind="value", keep_snapshot=True, exc_type=exc_type)

    def _submit(self, iso: Iso, c: Commit, then: Callable[[], None],
                fut: "asyncio.Future[None] | None" = None) -> None:
        """Submit ``iso``'s commit ``c``. Once it is durable, publish its ops and call ``then``;
        a commit the store refuses fails its isolate; any other failure stops the engine.
        ``fut``, if given, is resolved in every case."""
        def landed(exc: BaseException | None) -> None:
            if exc is None:
                self.metrics.steps += 1
                self._publish(iso, c.ops)
                then()
            elif isinstance(exc, CommitRejected):
                self._rejected(iso, c, exc)
            else:
                self._halt(exc)
            if fut is not None:
                fut.set_result(None)
        self.writer.submit(c, landed)

    def _publish(self, iso: Iso, ops: list[Op]) -> None:
        for w in self.shared.settle(iso, ops):
            self.ready.put_nowait(w)
        for op in ops:
            if type(op) is IsolateNew:
                child = self.by_id.get(op.row.id)
                if child is not None and child.active:
                    events.emit(events.ISOLATE, logging.INFO, "spawned", isolate=child.name, flow=child.flow,
                                id=child.id, parent=iso.name)
                    self.ready.put_nowait((child, START, []))
            elif type(op) is InboxTake:
                self._untake(op.mid)

    def _unpublish(self, iso: Iso, ops: list[Op]) -> None:
        if not ops:
            return
        for w in self.shared.rollback(iso, ops):
            self.ready.put_nowait(w)
        for op in ops:
            if type(op) is IsolateNew:
                child = self.by_id.pop(op.row.id, None)
                if child is not None:
                    child.active = False
                    self.by_name.pop(child.name, None)
                    self._forget_kid(child)
            elif type(op) is InboxTake:
                key = self._untake(op.mid)     # not taken after all: another listener may have it
                if key is not None:
                    self._wake_listeners(key)

    def _rejected(self, iso: Iso, c: Commit, exc: CommitRejected) -> None:
        """The store refused one commit's values: that isolate alone fails, keeping its last
        good snapshot; what the step changed is undone."""
        self._unpublish(iso, c.ops)
        if c.log:
            iso.log_seq -= len(c.log)
        if iso.active:
            self._fail(iso, f"the store refused its step: {exc}", frames_of(iso), kind="value", keep_snapshot=True)
        elif c.status in TERMINAL and not c.keep_snapshot:
            # its end was refused (a result too large for the store): end it again, bare
            self._end(iso, "failed", error=error_json(f"the store refused its end: {exc}", kind="value",
                                                     held=sorted(iso.held)), keep_snapshot=True)
        elif iso.held:
            # a release that did not land, of an isolate already ending: let go again
            self._end(iso, iso.status, keep_snapshot=True)
        else:
            log.error("isolate %r: its failure could not be stored either: %s", iso.name, exc)

    def _end(self, iso: Iso, status: str, *, result: bytes | None = None, error: str | None = None,
             log: list[str] | None = None, ops: list[Op] | None = None,
             keep_snapshot: bool = False) -> "asyncio.Future[None]":
        """The one way an isolate ends (done, failed, cancelled): its locks are let go in the
        same commit and handed on once it is durable."""
        self._deactivate(iso)
        iso.status = status
        c = Commit(iso.id, status, None, iso.steps, result=result, error=error, children=iso.children,
                   log=log or [], log_seq=iso.log_seq, ops=list(ops or []) + self.shared.release_all(iso),
                   keep_snapshot=keep_snapshot)
        # resolved however the commit ends: only cancel awaits it; the isolate's fate is in its row
        fut = self.loop.create_future()
        self._submit(iso, c, lambda: self._finish(iso, c), fut)
        return fut

    def _finish(self, iso: Iso, c: Commit) -> None:
        """The terminal row is durable: wake waiters (they read it from the store) and forget the isolate."""
        finished = self.metrics.finished
        finished[c.status] = finished.get(c.status, 0) + 1
        if c.status == "failed":
            events.emit(events.ISOLATE, logging.WARNING, "failed", isolate=iso.name, flow=iso.flow, step=iso.steps,
                        retryable=c.keep_snapshot, **events.failure_fields(c.error))
        else:
            events.emit(events.ISOLATE, logging.INFO, c.status, isolate=iso.name, flow=iso.flow, step=iso.steps)
        for f in iso.waiters:
            if not f.done():
                f.set_result(None)
        iso.waiters.clear()
        iso.vm = None
        self._forget_kid(iso)
        if self.by_name.get(iso.name) is iso:
            del self.by_name[iso.name]
        if self.by_id.get(iso.id) is iso:
            del self.by_id[iso.id]
        if c.collected is not None:     # the store deleted the tree's objects with this commit
            self.shared.collect(c.collected)
        if iso.children and not c.keep_snapshot:
            fault_point("parent_ended_before_children")
            self._end_children(iso)

    def _end_children(self, parent: Iso) -> None:
        """``parent`` has ended for good: its attached children, and theirs, are cancelled.
        (A failure kept for retry leaves them running; cancelling it later ends them here.)
        Those running here stop now; failed ones that kept a snapshot are looked up in the
        store. After a crash before their commits, ``_start`` finds them again."""
        victims = [c for c in self._descendants_in_memory(parent) if c.active]
        for v in victims:
            self._deactivate(v)
        for v in victims:
            self._end(v, "cancelled")
        if self.started and self.failure is None:
            self._effect_task(self._end_failed_children(parent.id))

    async def _end_failed_children(self, parent_id: int | None) -> None:
        """Cancel the failed (kept for retry) attached children of ``parent_id`` (of every
        ended parent when None). A store fault here stops the engine, as anywhere."""
        try:
            for row in await self._db(self.store.orphans, parent_id):
                if row.status == "failed":
                    await self._cancel_failed(row)
        except StoreError as e:
            self._halt(e)

    def _forget_kid(self, iso: Iso) -> None:
        if iso.parent_id is not None:
            siblings = self.kids.get(iso.parent_id)
            if siblings is not None:
                siblings.discard(iso)
                if not siblings:
                    del self.kids[iso.parent_id]

    def _fail(self, iso: Iso, message: str, frames: Any = None, kind: str = "fault",
              keep_snapshot: bool = False, exc_type: str = "") -> None:
        # a failure that keeps the last good snapshot can be retried; the locks held there are
        # recorded, let go now, and taken back by the retry
        held = sorted(iso.held | set(iso.relock)) if keep_snapshot else []
        self._end(iso, "failed", error=error_json(message, frames, kind, exc_type, held=held),
                  keep_snapshot=keep_snapshot)

    def _deactivate(self, iso: Iso) -> None:
        if not iso.active:
            return
        iso.active = False
        if iso.handle is not None:
            iso.handle.cancel()
            iso.handle = None
        if iso.task is not None:
            iso.task.cancel()
            iso.task = None
        carried, iso.carry = iso.carry, []
        self._unpublish(iso, carried)
        if iso.wait is not None:
            self._drop_wait(iso)
        self._unlisten(iso)

    def _perform_safely(self, iso: Iso, spec: Any, args: Any) -> None:
        try:
            self._perform(iso, spec, args)
        except BaseException as e:
            self._internal_error(iso, e, f" in {spec.kind}")

    def _internal_error(self, iso: Iso, e: BaseException, where: str = "") -> None:
        """An engine bug (or a user exception from an unexpected place) while stepping an
        isolate fails that isolate alone, never the others."""
        log.error("isolate %r: internal error%s", iso.name, where, exc_info=e)
        if iso.active:
            self._fail(iso, f"internal error{where}: {type(e).__name__}: {e}", kind="internal", keep_snapshot=True,
                       exc_type=type(e).__name__)

    def _copy(self, value: Any, program: Any) -> Any:
        """A copy through the value codec: what crosses an isolate's boundary is never shared."""
        return self.vm.decode_value(self.vm.encode_value(value), program)



class InFlight:
    """A count of calls under way off the loop, and a future for when none is."""
    __slots__ = ("n", "_quiet")

    def __init__(self) -> None:
        self.n = 0
        self._quiet: asyncio.Future[None] | None = None

    def done(self) -> None:
        self.n -= 1
        if not self.n and self._quiet is not None:
            if not self._quiet.done():
                self._quiet.set_result(None)
            self._quiet = None

    def quiet(self) -> "asyncio.Future[None] | None":
        if not self.n:
            return None
        if self._quiet is None:
            self._quiet = asyncio.get_running_loop().create_future()
        return self._quiet


def held_in(error: str | None) -> list[int]:
    """The locks a failed (or retried) isolate's snapshot holds, from its error column."""
    try:
        return sorted(int(lid) for lid in json.loads(error or "{}").get("held") or [])
    except (ValueError, TypeError, AttributeError):
        return []

