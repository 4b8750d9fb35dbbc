"""Queues, locks and wait groups: the one place an item or a lock changes hands.

A state machine with no event loop and no store. The engine asks it to carry out an
isolate's pending operation; it answers with a ``Go`` (resume with this value and commit
these store ops with the step) or None (the isolate waits here). What another isolate
could observe (an item to take, a free lock, a counter at zero) is published only once
the commit that makes it durable has landed: the engine reports every commit's fate with
``settle`` (durable) or ``rollback`` (refused, or never submitted because its isolate
ended first), and both return the isolates to wake. So no isolate commits a step that
depends on another isolate's step that may still fail, and memory and store agree on every
change of hands.

Until then a change is a reservation: a put counts against the queue's capacity, an
acquired lock is held, an item handed to a getter is out of its queue, a counter holds the
pending deltas. A rollback undoes exactly the reservation.
"""
from __future__ import annotations

import bisect
import collections
from typing import Any, Callable, NamedTuple

from ..store.base import (LockNew, LockSet, Op, QueueNew, QueuePut, QueueTake, SharedState, StoreError, WgAdd,
                          WgNew)
from .isolate import RELOCK, Iso

INT64 = 1 << 63
RETRY = object()      # wake value: perform the pending effect again (a putter that may find room)


class Go(NamedTuple):
    """Resume the isolate with ``value``; its step commits ``ops``."""
    value: Any
    ops: list[Op]


class Wake(NamedTuple):
    iso: Iso
    value: Any
    ops: list[Op]


class Refused(Exception):
    """An operation the isolate may not do (release a lock it does not hold, a counter below
    zero or out of range): a fault of that isolate."""


class _Queue:
    __slots__ = ("id", "capacity", "elem", "root", "items", "putting", "getters", "putters")

    def __init__(self, id: int, capacity: int, elem: str, root: int | None):
        self.id = id
        self.capacity = capacity
        self.elem = elem
        self.root = root
        self.items: list[tuple[int, bytes]] = []          # durable and not handed out, by seq
        self.putting = 0                                  # puts whose commit is in flight
        self.getters: collections.deque[tuple[Iso, int, list[bool]]] = collections.deque()  # (iso, index, served)
        self.putters: collections.deque[Iso] = collections.deque()


class _Lock:
    __slots__ = ("holder", "releasing", "waiters")

    def __init__(self, holder: int | None):
        self.holder = holder               # the isolate it belongs to (its acquire may be in flight)
        self.releasing = False             # a release is in flight: nobody may take it yet
        self.waiters: collections.deque[Iso] = collections.deque()


class _WaitGroup:
    __slots__ = ("count", "durable", "waiters")

    def __init__(self, count: int):
        self.count = count                 # with the deltas in flight
        self.durable = count
        self.waiters: list[Iso] = []


class SharedObjects:
    def __init__(self, decode: Callable[[bytes, Any], Any]):
        self.decode = decode               # the copy codec: each getter gets its own value
        self.queues: dict[int, _Queue] = {}
        self.locks: dict[int, _Lock] = {}
        self.wgs: dict[int, _WaitGroup] = {}
        self.trees: dict[int, list[tuple[str, int]]] = {}    # root -> its objects
        self.handed: dict[tuple[int, int], bytes] = {}      # (qid, seq) -> item out to a getter
        self.next_id: dict[str, int] = {}

    def load(self, state: SharedState) -> None:
        self.next_id = dict(state.next_ids)
        roots = state.roots
        for qid, (cap, elem, items) in state.queues.items():
            q = self.queues[qid] = _Queue(qid, cap, elem, roots.get(("queue", qid)))
            q.items.extend(items)
        self.locks = {lid: _Lock(h) for lid, h in state.locks.items()}
        self.wgs = {wid: _WaitGroup(c) for wid, c in state.waitgroups.items()}
        for (kind, oid), root in roots.items():
            self.trees.setdefault(root, []).append((kind, oid))

    def new_id(self, kind: str) -> int:
        n = self.next_id.get(kind, 1)
        self.next_id[kind] = n + 1
        return n

    # -- making objects ---------------------------------------------------------

    def new_queue(self, root: int, capacity: int, elem: str) -> Go:
        if not 0 <= capacity < INT64:
            raise Refused(f"queue capacity {capacity} is out of range (0 to 2**63-1; 0 is unbounded)")
        qid = self.new_id("queue")
        self.queues[qid] = _Queue(qid, capacity, elem, root)
        self.trees.setdefault(root, []).append(("queue", qid))
        return Go(qid, [QueueNew(qid, capacity, elem, root)])

    def new_lock(self, root: int) -> Go:
        lid = self.new_id("lock")
        self.locks[lid] = _Lock(None)
        self.trees.setdefault(root, []).append(("lock", lid))
        return Go(lid, [LockNew(lid, root)])

    def new_waitgroup(self, root: int) -> Go:
        wid = self.new_id("wg")
        self.wgs[wid] = _WaitGroup(0)
        self.trees.setdefault(root, []).append(("wg", wid))
        return Go(wid, [WgNew(wid, root)])

    def collect(self, root: int) -> None:
        """The store deleted the tree's objects with a commit: forget them."""
        for kind, oid in self.trees.pop(root, ()):
            if kind == "queue":
                self.queues.pop(oid, None)
            elif kind == "lock":
                self.locks.pop(oid, None)
            else:
                self.wgs.pop(oid, None)

    def _queue(self, qid: int) -> _Queue:
        q = self.queues.get(qid)
        if q is None:
            raise StoreError(f"Queue({qid}) is not in the store")
        return q

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

    # -- queues ----------------------------------------------------------------

    def put(self, iso: Iso, qid: int, data: bytes) -> Go | None:
        q = self._queue(qid)
        if q.capacity:
            # drop getters served elsewhere (a select) or ended, so the count stays small
            q.getters = collections.deque(e for e in q.getters if e[0].active and not e[2][0])
            # a full queue still takes an item a getter is waiting for (Go's hand-off)
            if len(q.items) + q.putting >= q.capacity + len(q.getters):
                q.putters.append(iso)
                return None
        q.putting += 1
        return Go(None, [QueuePut(qid, self.new_id("seq"), data)])

    def get(self, iso: Iso, qids: list[int], single: bool, cases: list[int] | None = None,
            served: list[bool] | None = None) -> Go | None:
        """``queue_get`` (single) or ``select``: take the first item of the first queue that has
        one, or wait on all of them. A select's value is ``[case, item]``, ``case`` from
        ``cases`` (default: the queue's position). ``served`` is the select's one-shot flag: the
        first hand-off sets it, and whoever else would end the wait (a message, a deadline)
        checks it, so exactly one case wins."""
        qs = [self._queue(qid) for qid in qids]
        if served is None:
            served = [False]
        for i, q in enumerate(qs):
            if q.items:
                seq, data = q.items.pop(0)
                self.handed[q.id, seq] = data
                value = self.decode(data, iso.program)
                served[0] = True
                return Go(value if single else [cases[i] if cases else i, value], [QueueTake(q.id, seq)])
        for i, q in enumerate(qs):
            q.getters.append((iso, -1 if single else cases[i] if cases else i, served))
        return None

    def withdraw(self, iso: Iso, qids: list[int]) -> None:
        """Take back ``iso``'s getter registrations: another case of its select won. An item
        already handed to it stays handed (it won, or its step is undone by ``rollback``)."""
        for qid in set(qids):
            q = self.queues.get(qid)
            if q is not None and q.getters:
                q.getters = collections.deque(e for e in q.getters if e[0] is not iso)

    def _serve(self, q: _Queue, wakes: list[Wake]) -> None:
        while q.items and q.getters:
            g, index, served = q.getters.popleft()
            if served[0] or not g.active:
                continue
            served[0] = True
            seq, data = q.items.pop(0)
            self.handed[q.id, seq] = data
            value = self.decode(data, g.program)
            wakes.append(Wake(g, value if index < 0 else [index, value], [QueueTake(q.id, seq)]))
        self._wake_putter(q, wakes)

    def _wake_putter(self, q: _Queue, wakes: list[Wake]) -> None:
        while q.putters:
            p = q.putters.popleft()
            if p.active:
                wakes.append(Wake(p, RETRY, []))
                return

    # -- locks -----------------------------------------------------------------

    def acquire(self, iso: Iso, lid: int, value: Any = None) -> Go | None:
        lk = self._lock(lid)
        if lk.holder is None and not lk.releasing:
            lk.holder = iso.id
            iso.held.add(lid)
            return Go(value, [LockSet(lid, iso.id)])
        lk.waiters.append(iso)
        return None

    def release(self, iso: Iso, lid: int) -> Go:
        lk = self._lock(lid)
        if lk.holder != iso.id or lid not in iso.held:
            raise Refused(f"release of Lock({lid}), which this isolate does not hold")
        iso.held.discard(lid)
        lk.holder = None
        lk.releasing = True
        return Go(None, [LockSet(lid, None)])

    def release_all(self, iso: Iso) -> list[Op]:
        """An isolate that ends (done, failed, cancelled) lets go of every lock it holds."""
        ops: list[Op] = []
        for lid in sorted(iso.held):
            lk = self.locks.get(lid)
            if lk is not None and lk.holder == iso.id:
                lk.holder = None
                lk.releasing = True
            ops.append(LockSet(lid, None))
        iso.held.clear()
        return ops

    def forget_holder(self, isolate_id: int) -> list[Wake]:
        """The store let go of the locks of an isolate it marked failed outside a step."""
        wakes: list[Wake] = []
        for lid, lk in self.locks.items():
            if lk.holder == isolate_id:
                lk.holder = None
                if not lk.releasing:
                    self._hand_over(lid, lk, wakes)
        return wakes

    def _hand_over(self, lid: int, lk: _Lock, wakes: list[Wake]) -> None:
        while lk.holder is None and lk.waiters:
            w = lk.waiters.popleft()
            if w.active:
                lk.holder = w.id
                w.held.add(lid)
                wakes.append(Wake(w, RELOCK if w.relock else None, [LockSet(lid, w.id)]))

    # -- wait groups -------------------------------------------------------------

    def wg_add(self, iso: Iso, wid: int, n: int) -> Go:
        wg = self._wg(wid)
        if not -INT64 <= n < INT64 or not wg.count + n < INT64:
            raise Refused(f"WaitGroup({wid}) counter out of range: {wg.count} + {n} does not fit in 64 bits")
        if wg.count + n < 0:
            what = "done" if n == -1 else f"add {n}"
            raise Refused(f"negative WaitGroup counter (WaitGroup({wid}) at {wg.count}, {what})")
        wg.count += n
        return Go(None, [WgAdd(wid, n)])

    def wg_wait(self, iso: Iso, wid: int) -> Go | None:
        wg = self._wg(wid)
        if wg.count == 0 and wg.durable == 0:
            return Go(None, [])
        wg.waiters.append(iso)
        return None

    def _wg_zero(self, wg: _WaitGroup, wakes: list[Wake]) -> None:
        if wg.count == 0 and wg.durable == 0:
            wakes.extend(Wake(w, None, []) for w in wg.waiters if w.active)
            wg.waiters.clear()

    # -- the fate of a commit ---------------------------------------------------------

    def settle(self, iso: Iso, ops: list[Op]) -> list[Wake]:
        """``iso``'s commit carrying ``ops`` is durable: publish what it changed."""
        wakes: list[Wake] = []
        for op in ops:
            t = type(op)
            if t is QueuePut:
                q = self.queues.get(op.qid)
                if q is None:
                    continue
                q.putting -= 1
                bisect.insort(q.items, (op.seq, op.data))
                self._serve(q, wakes)
            elif t is QueueTake:
                self.handed.pop((op.qid, op.seq), None)
                q = self.queues.get(op.qid)
                if q is not None:
                    self._wake_putter(q, wakes)
            elif t is LockSet:
                lk = self.locks.get(op.lid)
                if op.holder is None and lk is not None and lk.releasing:
                    lk.releasing = False
                    self._hand_over(op.lid, lk, wakes)
            elif t is WgAdd:
                wg = self.wgs.get(op.wid)
                if wg is not None:
                    wg.durable += op.delta
                    self._wg_zero(wg, wakes)
        return wakes

    def rollback(self, iso: Iso, ops: list[Op]) -> list[Wake]:
        """``iso``'s commit carrying ``ops`` will never be durable: undo its reservations."""
        wakes: list[Wake] = []
        for op in reversed(ops):
            t = type(op)
            if t is QueuePut:
                q = self.queues.get(op.qid)
                if q is not None:
                    q.putting -= 1
                    self._wake_putter(q, wakes)
            elif t is QueueTake:
                data = self.handed.pop((op.qid, op.seq), None)
                q = self.queues.get(op.qid)
                if q is not None and data is not None:
                    bisect.insort(q.items, (op.seq, data))     # back in its place, as in the store
                    self._serve(q, wakes)
            elif t is LockSet:
                lk = self.locks.get(op.lid)
                if lk is None:
                    continue
                if op.holder is None:
                    # a release that did not land: the isolate holds the lock again (its end
                    # releases it through release_all)
                    if lk.releasing and lk.holder is None:
                        lk.releasing = False
                        lk.holder = iso.id
                        iso.held.add(op.lid)
                elif op.lid in iso.held and lk.holder == iso.id:
                    iso.held.discard(op.lid)
                    lk.holder = None
                    if not lk.releasing:
                        self._hand_over(op.lid, lk, wakes)
            elif t is WgAdd:
                wg = self.wgs.get(op.wid)
                if wg is not None:
                    wg.count -= op.delta
                    self._wg_zero(wg, wakes)
            elif t is QueueNew:
                self.queues.pop(op.qid, None)
            elif t is LockNew:
                self.locks.pop(op.lid, None)
            elif t is WgNew:
                self.wgs.pop(op.wid, None)
        return wakes

    def view(self) -> tuple[dict[int, list[int]], dict[int, int | None], dict[int, int]]:
        """The durable state as memory sees it, for tests to hold against the store's:
        (queue -> item seqs, lock -> holder, wait group -> count). Exact only when no commit
        is in flight."""
        queues = {qid: sorted([s for s, _ in q.items] + [s for (h, s) in self.handed if h == qid])
                  for qid, q in self.queues.items()}
        return queues, {lid: lk.holder for lid, lk in self.locks.items()}, \
            {wid: wg.durable for wid, wg in self.wgs.items()}
