"""A seeded randomized engine test (RELIABILITY target 18 in spirit, issue 7).

One seed decides the whole workload: how many isolate trees, their programs (op codes run by
``simflows.interp``: queue put/get, select, a bounded queue, locks, wait groups, sleeps,
children, @impure calls that succeed, fail, hang or raise any exception type, poison values),
and what the driver does while they run (cancels, retries of failed isolates, 0-2 engine
restarts on the same store, SQLite or PostgreSQL). The async scheduling is not deterministic; the workload is,
and so is every invariant checked after the run:

- the engine never halted because of an isolate fault (``eng.failure is None``);
- nothing is stuck: after quiescence no isolate is running/sleeping without progress, and every
  waiting isolate waits on something really unavailable in the store (an empty queue, a lock
  held by a live isolate, a wait group above zero);
- every bystander tree (no cancel, no poison, no failing @impure) finished ``done`` with the
  results a plain Python model of the interpreter computes; so does every tree that ended all
  ``done`` (a retried one, a survived poison);
- lock exclusion, from the enter/exit log the @impure ``note`` keeps outside the store;
- queue items: none consumed twice, none both consumed and still stored, none lost from a live
  tree beyond what its cancelled isolates may have taken with them; ended trees' objects deleted;
- @impure runs: idempotency keys never shared by two calls, runs per key bounded by retries,
  restarts and driver retries;
- memory and store agree: ``eng.shared_view()`` (when the engine has it) equals the store's
  committed state, ``eng.status`` equals the stored terminal status, and a last restart on the
  same file changes nothing.

Each tree gets a profile: ``clean`` (a bystander), ``hardfail`` (a MUST @impure raising
ValueError, SystemExit, KeyboardInterrupt or a BaseException subclass: the isolate fails, the
driver retries it, "fixing" the cause for two thirds of the names), ``baseexc`` (the same from
an ``-> int | DSError`` @impure), ``cancelexc`` (an @impure raising asyncio.CancelledError),
``poison`` (one of simflows.poison's kinds: a lone surrogate printed or queued, 2**63 in a wait
group or as a queue capacity, a snapshot over max_snapshot_bytes, a @pure raising SystemExit or
a BaseException subclass), ``blocked`` (one isolate waits forever on a queue, a full queue, a
lock or a wait group nobody will serve: blocked, not stuck) or ``cancel`` (the driver cancels one
of its isolates).

Sizes: DEEPSLATE_SIM_SEEDS seeds (default 20, about 1.5 s each when the engine is healthy; a
seed with a stuck isolate waits 3 s more per quiescence), from DEEPSLATE_SIM_SEED (default 1815),
on SQLite, and the first DEEPSLATE_SIM_PG_SEEDS of them (default 8, about 2.5 s each) on PostgreSQL;
one pytest item per seed; nightly e.g. DEEPSLATE_SIM_SEEDS=2000. Reproduce a failing seed S with
``DEEPSLATE_SIM_SEED=S DEEPSLATE_SIM_SEEDS=1 pytest tests/runtime/test_engine_sim.py`` (the
workload is the same; the interleaving may differ, so a race may need a few runs).
DEEPSLATE_SIM_POISON (comma-separated kinds 0-6, or "none") and DEEPSLATE_SIM_PROFILES
(comma-separated profile names; ``clean`` always stays) narrow the workload to chase one bug at
a time; they change what a seed generates, so reproduce with the same settings.
"""
from __future__ import annotations

import asyncio
import inspect
import json
import os
import random
import re
import sys
import traceback
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Any

import pytest

from deepslate import Engine

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "flowmods"))
import simflows as sf  # noqa: E402
from simflows import (BLOCK, GET, HANG, LOCK, MUST, PGB, POISON, PULSE, PURE, PUT, PUTS, SEL,  # noqa: E402
                      SLEEP, SPAWN, UNLOCK, WGWAIT, WORK)

SEEDS = int(os.environ.get("DEEPSLATE_SIM_SEEDS", "20"))
PG_SEEDS = int(os.environ.get("DEEPSLATE_SIM_PG_SEEDS", "8"))
BASE = int(os.environ.get("DEEPSLATE_SIM_SEED", "1815"))
_P = os.environ.get("DEEPSLATE_SIM_POISON", "")
POISONS = [] if _P == "none" else [int(x) for x in _P.split(",") if x.strip()] or list(range(sf.POISON_KINDS))
PROFILE_WEIGHTS = {"clean": 50, "hardfail": 12, "baseexc": 6, "cancelexc": 4, "poison": 14, "cancel": 14,
                   "blocked": 5}
_F = [p.strip() for p in os.environ.get("DEEPSLATE_SIM_PROFILES", "").split(",") if p.strip()]
if _F:
    PROFILE_WEIGHTS = {p: w for p, w in PROFILE_WEIGHTS.items() if p in _F or p == "clean"}
if not POISONS:
    PROFILE_WEIGHTS.pop("poison", None)

TERMINAL = ("done", "failed", "cancelled")
FATAL_POISONS = (1, 2, 4, 5)     # simflows.poison kinds that are faults in flow code: nothing to retry
FLOWS = [sf.sim, sf.kid, sf.interp, sf.poison, sf.block]
MAX_SNAPSHOT = 1_000_000
STABLE = 0.3          # s without any change, nothing running or sleeping: quiescent
STUCK = 3.0           # s without any change while something is running or sleeping: stuck
LIMIT = 30.0          # s at most per quiescence wait
VALUE_BASE = 100000   # item values are tree * VALUE_BASE + n: the tree is known from the value

pytestmark = pytest.mark.timeout(180)


# -- the workload ----------------------------------------------------------------------------

@dataclass
class Tree:
    idx: int
    name: str
    profile: str
    ops: list[int]
    kids: list[list[int]]
    subs: list[list[int]]
    qcap: int
    cancel: str | None = None
    # name -> program, for every isolate the tree makes in a crash-free run
    programs: dict[str, list[int]] = field(default_factory=dict)

    @property
    def bystander(self) -> bool:
        return self.profile == "clean"

    def args(self, run: str) -> dict[str, Any]:
        return {"run": run, "me": self.name, "ops": self.ops, "kids": self.kids, "subs": self.subs,
                "qcap": self.qcap}


class Gen:
    def __init__(self, rng: random.Random, tree: int):
        self.rng = rng
        self.n = 0
        self.tree = tree
        self.subs: list[list[int]] = []

    def value(self) -> int:
        self.n += 1
        return self.tree * VALUE_BASE + self.n

    def inner(self) -> list[int]:
        """What may run inside a critical section: nothing that blocks on another isolate."""
        rng = self.rng
        out: list[int] = []
        for _ in range(rng.randint(0, 2)):
            op = rng.choices([SLEEP, WORK, MUST, HANG, PURE], [3, 3, 1, 0.5, 2])[0]
            out += [op, self.arg(op)]
        return out

    def arg(self, op: int) -> int:
        rng = self.rng
        if op == SLEEP:
            return rng.randint(0, 50)
        if op == WORK:
            return rng.choices([0, 1, 2], [6, 2, 2])[0]
        if op == PURE:
            return rng.randint(0, 10**6)
        return 0

    def program(self, length: int, spawn: bool) -> list[int]:
        rng = self.rng
        ops: list[int] = []
        oq = osel = 0
        for _ in range(length):
            choices = [PUT, GET, PUTS, SEL, PGB, LOCK, PULSE, WGWAIT, SLEEP, WORK, MUST, HANG, SPAWN, PURE]
            weights = [3, 3 if oq else 0, 2, 2 if osel else 0, 1.5, 3, 1, 0.7, 1, 1.5, 0.7, 0.3,
                       0.8 if spawn else 0, 1]
            op = rng.choices(choices, weights)[0]
            if op in (PUT, PUTS, PGB):
                ops += [op, self.value()]
                oq += op == PUT
                osel += op == PUTS
            elif op in (GET, SEL):
                ops += [op, 0]
                oq -= op == GET
                osel -= op == SEL
            elif op == LOCK:
                lk = 0 if rng.random() < 0.7 else 1
                ops += [LOCK, lk] + self.inner() + [UNLOCK, lk]
            elif op == SPAWN:
                self.subs.append([])
                i = len(self.subs) - 1
                self.subs[i] = self.program(rng.randint(2, 6), spawn=False)
                ops += [SPAWN, i]
            else:
                ops += [op, self.arg(op)]
        # Balanced: every program takes as many items from each pool (q; qa+qb) as it puts, and
        # at no point more than it has put so far. So a crash-free run cannot deadlock: if every
        # unfinished isolate waited on an empty pool, each would have put more than it took, and
        # the pool could not be empty. Lock sections hold nothing that blocks, PULSE never blocks
        # between its add and done, and PGB takes right after it puts on the bounded queue.
        ops += [GET, 0] * oq + [SEL, 0] * osel
        return ops


def inject(rng: random.Random, progs: list[list[int]], pair: list[int]) -> None:
    """Insert one (op, arg) at a random op boundary of one of ``progs`` (maybe in a lock section)."""
    p = rng.choice(progs)
    at = 2 * rng.randint(0, len(p) // 2)
    p[at:at] = pair


def make_tree(rng: random.Random, idx: int) -> Tree:
    profile = rng.choices(list(PROFILE_WEIGHTS), list(PROFILE_WEIGHTS.values()))[0]
    g = Gen(rng, idx)
    name = f"t{idx}"
    ops = g.program(rng.randint(2, 8), spawn=False)
    kids = [g.program(rng.randint(2, 9), spawn=True) for _ in range(rng.choices([0, 1, 2, 3], [2, 3, 3, 2])[0])]
    top = [ops] + kids
    if profile == "hardfail":         # MUST raising ValueError, SystemExit, KeyboardInterrupt, Doom
        inject(rng, top, [MUST, rng.choice([1, 2, 3, 5])])
    elif profile == "baseexc":        # WORK (-> int | DSError) raising SystemExit, KeyboardInterrupt, Doom
        inject(rng, top, [WORK, rng.choice([3, 4, 6])])
    elif profile == "cancelexc":      # an @impure raising asyncio.CancelledError
        inject(rng, top, [MUST, 4] if rng.random() < 0.5 else [WORK, 5])
    elif profile == "poison":
        inject(rng, top, [POISON, rng.choice(POISONS)])
    elif profile == "blocked":        # waits forever on something nobody provides: legitimately blocked
        inject(rng, top, [BLOCK, rng.randrange(sf.BLOCK_KINDS)])
    t = Tree(idx, name, profile, ops, kids, g.subs, rng.randint(1, 2))
    t.programs[name] = ops
    for i, kp in enumerate(kids):
        kn = f"{name}/{i + 1}"
        t.programs[kn] = kp
        j = 0
        for k in range(0, len(kp), 2):
            if kp[k] == SPAWN:
                j += 1
                t.programs[f"{kn}/{j}"] = g.subs[kp[k + 1]]
    if profile == "cancel":
        t.cancel = rng.choice(sorted(t.programs))
    return t


@dataclass
class Plan:
    trees: list[Tree]
    actions: list[tuple[Any, ...]]
    restarts: int


def make_plan(seed: int) -> Plan:
    rng = random.Random(seed)
    trees = [make_tree(rng, i + 1) for i in range(rng.randint(10, 18))]
    actions: list[tuple[Any, ...]] = []
    for t in rng.sample(trees, len(trees)):
        actions.append(("spawn", t))
        if rng.random() < 0.4:
            actions.append(("pause", rng.uniform(0.0, 0.03)))
    for t in trees:
        if t.cancel is not None:
            at = next(i for i, a in enumerate(actions) if a[0] == "spawn" and a[1] is t) + 1
            at = rng.randint(at, len(actions))
            actions[at:at] = [("pause", rng.uniform(0.0, 0.05)), ("cancel", t.cancel)]
    restarts = rng.choice([0, 0, 1, 1, 2])
    for _ in range(restarts):
        at = rng.randint(1, len(actions))
        actions[at:at] = [("pause", rng.uniform(0.0, 0.1)), ("restart",)]
    for _ in range(2):
        at = rng.randint(len(actions) // 2, len(actions))
        actions[at:at] = [("pause", rng.uniform(0.0, 0.1)), ("retry",)]
    return Plan(trees, actions, restarts)


# -- the model: results of a crash-free run ----------------------------------------------------

def model_acc(ops: list[int]) -> int | None:
    """simflows.interp's acc, with every MUST succeeding (mode 0, or fixed and retried)."""
    acc = 1
    for i in range(0, len(ops), 2):
        op, arg, k = ops[i], ops[i + 1], i // 2
        if op == WORK:
            acc = sf.mix_value(acc, sf.work_value(k) if arg in (0, 1) else sf.DSERR)
        elif op == MUST:
            acc = sf.mix_value(acc, sf.must_value(k))
        elif op == HANG:
            acc = sf.mix_value(acc, sf.DSERR)
        elif op == POISON:
            pv = sf.POISON_VALUE[arg]
            if pv is None:
                return None
            acc = sf.mix_value(acc, pv)
        elif op == BLOCK:
            return None
        elif op == PURE:
            acc = sf.mix_value(acc, arg)
        acc = sf.mix_value(acc, op)
    return acc


def put_values(ops: list[int]) -> list[int]:
    return [ops[i + 1] for i in range(0, len(ops), 2) if ops[i] in (PUT, PUTS, PGB)]


def model_results(t: Tree) -> dict[str, Any] | None:
    accs = {n: model_acc(p) for n, p in t.programs.items()}
    if any(a is None for a in accs.values()):
        return None
    out: dict[str, Any] = {n: a for n, a in accs.items() if n != t.name}
    values = sorted(v for p in t.programs.values() for v in put_values(p))
    out[t.name] = [sum(accs.values())] + values
    return out


def poisons_of(t: Tree) -> list[int]:
    return [p[i + 1] for p in t.programs.values() for i in range(0, len(p), 2) if p[i] == POISON]


def short(ops: list[int]) -> str:
    return " ".join(f"{sf.NAMES[ops[i]]}:{ops[i + 1]}" for i in range(0, len(ops), 2))


# -- the driver ----------------------------------------------------------------------------------

def tree_of(name: str) -> str:
    return name.split("/")[0]


def under(name: str, top: str) -> bool:
    return name == top or name.startswith(top + "/")


class Sim:
    def __init__(self, seed: int, store: Any):
        self.seed = seed
        self.store = store           # tests/stores.py StoreUnderTest: SQLite or PostgreSQL
        self.plan = make_plan(seed)
        self.trees = {t.name: t for t in self.plan.trees}
        self.tag = f"sim{seed}-{uuid.uuid4().hex[:8]}"
        self.run = sf.Run(self.tag)
        self.violations: list[str] = []
        self.eng: Any = None
        self.reader: Any = None
        self.restarts = 0
        self.retried: dict[str, int] = {}
        self.kw: dict[str, Any] = {}
        self.stuck: set[str] = set()
        if "max_snapshot_bytes" in inspect.signature(Engine).parameters:
            self.kw["max_snapshot_bytes"] = MAX_SNAPSHOT

    def bad(self, msg: str) -> None:
        msg = f"seed {self.seed}: {msg}"
        if msg not in self.violations:
            self.violations.append(msg)

    def faulty(self) -> dict[str, str]:
        """The trees that were given something to fail on, and what."""
        out = {}
        for t in self.plan.trees:
            if t.profile == "poison":
                out[t.name] = f"poison {poisons_of(t)}"
            elif t.profile in ("hardfail", "baseexc", "cancelexc", "blocked"):
                bad = [f"{sf.NAMES[p[i]]}:{p[i + 1]}" for p in t.programs.values() for i in range(0, len(p), 2)
                       if (p[i] == MUST and p[i + 1]) or (p[i] == WORK and p[i + 1] >= 3) or p[i] == BLOCK]
                out[t.name] = f"{t.profile} {bad}"
        return out

    def log(self, *ev: Any) -> None:
        with self.run.mu:
            self.run.log.append(ev)

    def describe(self, name: str) -> str:
        t = self.trees.get(tree_of(name))
        if t is None:
            return name
        extra = f": {self.faulty()[t.name]}" if t.name in self.faulty() else ""
        extra += f", cancel {t.cancel}" if t.cancel else ""
        prog = t.programs.get(name)
        return f"{name} [tree profile {t.profile}{extra}; program {short(prog) if prog else '?'}]"

    async def start(self) -> None:
        self.eng = await Engine(self.store.open(), FLOWS, 2, time_scale=0.01, **self.kw).start()
        if self.reader is None:
            self.reader = self.store.open(**({} if self.store.pg else {"readonly": True}))

    def rows(self) -> dict[str, Any]:
        assert self.reader is not None
        return {r.name: r for r in self.reader.list_isolates(limit=1_000_000) if tree_of(r.name) in self.trees}

    async def quiesce(self) -> tuple[dict[str, Any], dict[str, str | None], float]:
        """Wait until nothing changes: (store rows, memory status of the unfinished, seconds still)."""
        loop = asyncio.get_running_loop()
        t0 = since = loop.time()
        last = None
        while True:
            rows = self.rows()
            mem = {}
            for n, r in rows.items():
                if r.status not in TERMINAL:
                    mem[n] = await self.eng.status(n)
            sig = (sorted((n, r.status, r.steps) for n, r in rows.items()), sorted(mem.items(), key=str))
            now = loop.time()
            if sig != last:
                last, since = sig, now
            busy = any(s in ("running", "sleeping") for s in mem.values())
            if self.eng.failure is not None or now - since >= (STUCK if busy else STABLE) or now - t0 > LIMIT:
                return rows, mem, now - since
            await asyncio.sleep(0.03)

    def fix(self, name: str) -> bool:
        return zlib.crc32(f"{self.seed}:{name}".encode()) % 3 != 0

    async def retry_failed(self) -> int:
        n = 0
        for name, r in self.rows().items():
            if r.status != "failed":
                continue
            if self.fix(name):
                with self.run.mu:
                    self.run.fixed.add(name)
            self.log("retry", name)
            try:
                ok = await self.eng.retry(name)
            except Exception as e:
                if self.eng.failure is not None:
                    return n
                self.bad(f"retry({name!r}) of a failed isolate raised {type(e).__name__}: {e} "
                         f"(after {self.restarts} restarts)")
                continue
            if ok:
                self.retried[name] = self.retried.get(name, 0) + 1
                n += 1
        return n

    async def drive(self) -> None:
        for a in self.plan.actions:
            if self.eng.failure is not None:
                return
            kind = a[0]
            if kind == "spawn":
                t = a[1]
                await self.eng.spawn(t.name, "sim", t.args(self.tag))
            elif kind == "pause":
                await asyncio.sleep(a[1])
            elif kind == "cancel":
                self.log("cancel", a[1])     # before: its effects may be logged while it runs
                try:
                    took = await self.eng.cancel(a[1])
                except KeyError:        # a child not created yet (or never)
                    took = False
                if not took:
                    self.log("uncancel", a[1])
            elif kind == "retry":
                await self.retry_failed()
            elif kind == "restart":
                await self.eng.stop()
                self.restarts += 1
                self.log("restart", self.restarts)
                await self.start()

    async def main(self) -> list[str]:
        sf.RUNS[self.tag] = self.run
        try:
            await self.phases()
        except Exception as e:
            if self.eng is not None and self.eng.failure is not None:
                self.check_failure()
            else:
                self.bad(f"the run raised {type(e).__name__}: {e}\n" + "".join(traceback.format_exception(e)[-8:]))
        finally:
            self.run.release.set()
            if self.eng is not None:
                try:
                    await self.eng.stop()
                except Exception as e:     # pragma: no cover - reported, not raised
                    self.bad(f"Engine.stop raised {type(e).__name__}: {e}")
            if self.reader is not None:
                self.reader.close()
            sf.RUNS.pop(self.tag, None)
        return self.violations

    async def phases(self) -> None:
        await self.start()
        try:
            await self.drive()
        except Exception as e:
            if self.eng.failure is None:
                self.bad(f"engine API raised {type(e).__name__}: {e}\n"
                         + "".join(traceback.format_exception(e)[-6:]))
        rows, mem, still = await self.quiesce()
        if self.eng.failure is None and await self.retry_failed():
            rows, mem, still = await self.quiesce()
        if not self.check_failure():
            return
        await self.check(rows, mem, still)
        self.run.release.set()
        await self.check_restart()

    # -- invariants ------------------------------------------------------------------------

    def check_failure(self) -> bool:
        f = self.eng.failure
        if f is None:
            return True
        self.bad(f"the engine halted on an isolate's fault: {type(f).__name__}: {f} "
                 f"(faulty trees this seed: {self.faulty()})")
        return False

    async def check(self, rows: dict[str, Any], mem: dict[str, str | None], still: float) -> None:
        shared = self.reader.load_shared()
        self.stuck = self.check_stuck(rows, mem, still, shared)
        await self.check_results(rows)
        self.check_locks()
        self.check_items(rows, shared)
        self.check_calls()
        await self.check_store(rows, shared)

    def check_stuck(self, rows: dict[str, Any], mem: dict[str, str | None], still: float, shared: Any,
                    when: str = "") -> set[str]:
        """Isolates that do not progress and are not legitimately blocked; returns their names."""
        stuck = set()
        for n, r in sorted(rows.items()):
            if r.status in TERMINAL:
                continue
            st = mem.get(n) or r.status
            if st in ("running", "sleeping"):
                stuck.add(n)
                self.bad(f"stuck{when}: {self.describe(n)} is {st} in memory, {r.status} in the store "
                         f"(waiting_on {r.waiting_on!r}, {r.steps} steps) with no progress for {still:.1f} s")
                continue
            if r.status in ("running", "sleeping"):
                stuck.add(n)
                self.bad(f"memory and store disagree{when}: {self.describe(n)} is {st} in memory but {r.status} "
                         f"in the store (waiting_on {r.waiting_on!r}, {r.steps} steps) for {still:.1f} s")
            why = self.not_blocked(r, rows, shared)
            if why:
                stuck.add(n)
                self.bad(f"waits for nothing{when}: {self.describe(n)} waits on {r.waiting_on!r} but {why}")
        return stuck

    def not_blocked(self, r: Any, rows: dict[str, Any], shared: Any) -> str:
        """Why a waiting isolate should not be waiting ('' if it legitimately waits)."""
        w = r.waiting_on or ""
        ids = [int(x) for x in re.findall(r"\((\d+)\)", w)]
        by_id = {x.id: x for x in rows.values()}
        if w.startswith(("queue_get", "select")):
            full = [q for q in ids if shared.queues.get(q, (0, "", []))[2]]
            if full:
                return f"queue(s) {full} hold items in the store"
        elif w.startswith("lock_acquire") and ids:
            if ids[0] not in shared.locks:
                return f"Lock({ids[0]}) is not in the store"
            h = shared.locks[ids[0]]
            if h is None:
                return f"Lock({ids[0]}) is free in the store"
            hr = by_id.get(h)       # (h == r.id: it waits for itself, which is the flow's own deadlock)
            if hr is not None and hr.status in TERMINAL:
                return f"Lock({ids[0]})'s holder {hr.name} is {hr.status}"
        elif w.startswith("queue_put") and ids:
            cap, _, items = shared.queues.get(ids[0], (0, "", []))
            if not cap or len(items) < cap:
                return f"Queue({ids[0]}) has room in the store ({len(items)} of {cap or 'unbounded'})"
        elif w.startswith("wg_wait") and ids:
            if shared.waitgroups.get(ids[0], 1) == 0:
                return f"WaitGroup({ids[0]}) is at 0 in the store"
        return ""

    async def check_results(self, rows: dict[str, Any]) -> None:
        for t in self.plan.trees:
            names = sorted(t.programs)
            sts = {n: rows[n].status if n in rows else None for n in names}
            if t.bystander and any(s != "done" for s in sts.values()):
                for n in names:
                    if sts[n] != "done":
                        r = rows.get(n)
                        err = f", error {json.loads(r.error).get('message')!r}" if r is not None and r.error else ""
                        wo = f", waiting_on {r.waiting_on!r}" if r is not None and r.status == "waiting" else ""
                        self.bad(f"bystander not done: {self.describe(n)} is {sts[n]}{err}{wo}")
                continue
            for n in names:
                r = rows.get(n)
                if r is not None and r.status == "failed" and r.error:
                    e = json.loads(r.error)
                    msg = str(e.get("message"))
                    if e.get("kind") == "internal" and t.profile not in ("poison", "baseexc", "cancelexc"):
                        self.bad(f"internal engine error failed {self.describe(n)}: {msg}")
                    if "does not hold" in msg:
                        # every program releases only what it acquired: the engine lost the lock
                        # (a retry resumed a critical section without taking the lock back)
                        self.bad(f"{self.describe(n)} failed releasing a lock its flow acquired: {msg} "
                                 f"(retried: {self.retried.get(n, 0)} times)")
            if any(s != "done" for s in sts.values()):
                continue
            if t.profile == "poison" and 3 in poisons_of(t) and "max_snapshot_bytes" in self.kw:
                self.bad(f"tree {t.name} finished although it kept a list of {sf.HUGE} ints across a durable "
                         f"point (a snapshot over max_snapshot_bytes={MAX_SNAPSHOT})")
                continue
            want = model_results(t)
            if want is None:
                self.bad(f"tree {t.name} ended all done although it runs an op that cannot finish: "
                         f"{self.faulty().get(t.name)}")
                continue
            for n in names:
                try:
                    got = await self.eng.wait(n, 5)
                except Exception as e:
                    self.bad(f"wait({n!r}) of a done isolate raised {type(e).__name__}: {e}")
                    continue
                if got != want[n]:
                    self.bad(f"wrong result: {self.describe(n)} returned {got!r}, a crash-free run returns "
                             f"{want[n]!r}")

    def events(self) -> list[tuple[Any, ...]]:
        with self.run.mu:
            return list(self.run.log)

    def check_locks(self) -> None:
        """Never two holders of one lock, from the enter/exit log kept outside the store.

        An isolate that is cancelled, fails (a doomed MUST, a poison) or is told to stop releases
        what it holds at that point; a cancel stops its descendants too, and a poison that is a fault
        in flow code stops them at some later moment (children end with their parent). A retried one resumes inside its critical section: it must
        take its lock back first (it logs no new enter), so when it leaves, nobody else may hold it."""
        holder: dict[tuple[str, int], str | None] = {}
        ended: set[str] = set()
        cancelled: set[str] = set()
        died_holding: dict[str, set[tuple[str, int]]] = {}
        relock: dict[str, set[tuple[str, int]]] = {}
        seen: set[tuple[Any, ...]] = set()
        late_enters: list[tuple[str, int]] = []
        fatal: set[str] = set()

        def release_all(top: str, tree: bool) -> None:
            for lid, h in holder.items():
                if h is not None and (under(h, top) if tree else h == top):
                    died_holding.setdefault(h, set()).add(lid)
                    holder[lid] = None

        events = self.events()
        # a cancel that found nothing to stop (the isolate not made yet, or already ended) is
        # followed by an uncancel: it stopped nothing, so neither stands in the history
        void: set[int] = set()
        open_cancels: dict[str, list[int]] = {}
        for i, ev in enumerate(events):
            if ev[0] == "cancel":
                open_cancels.setdefault(ev[1], []).append(i)
            elif ev[0] == "uncancel":
                void.update((open_cancels[ev[1]].pop(), i))
        for i, ev in enumerate(events):
            kind = ev[0]
            if i in void:
                continue
            if kind == "cancel":            # ends the isolate and its descendants
                ended.add(ev[1])
                cancelled.add(ev[1])
                release_all(ev[1], True)
            elif kind == "poison" and ev[2] in FATAL_POISONS:
                # a fault in flow code: the isolate ends for good, and its descendants are
                # cancelled once that end is durable, a moment this log does not see: from here
                # on a lock one of them holds may be let go at any time
                ended.add(ev[1])
                release_all(ev[1], False)
                fatal.add(ev[1])
            elif kind in ("doom", "poison"):    # may fail this isolate alone (kept for a retry)
                ended.add(ev[1])
                release_all(ev[1], False)
            elif kind == "retry":
                ended.discard(ev[1])
                relock.setdefault(ev[1], set()).update(died_holding.pop(ev[1], set()))
            elif kind in ("enter", "exit"):
                _, me, lk, key = ev
                if (kind, me, key) in seen:     # a re-run of the same call (a restart)
                    continue
                seen.add((kind, me, key))
                lid = (tree_of(me), lk)
                h = holder.get(lid)
                stopped = any(under(me, c) if c in cancelled else me == c for c in ended)
                if kind == "enter" and any(under(me, c) for c in cancelled):
                    # the call was in flight when its isolate was stopped (a thread cannot be
                    # interrupted): it runs to its end, but the isolate holds nothing any more.
                    # One such call at the most, and the flow must not go on past it
                    if any(m == me for m, _ in late_enters):
                        self.bad(f"lock exclusion: {self.describe(me)} entered lock {lk} twice after it was stopped")
                    late_enters.append((me, lk))
                    continue
                if kind == "exit" and (me, lk) in late_enters:
                    self.bad(f"lock exclusion: {self.describe(me)} left lock {lk} after it was stopped: "
                             "its flow ran on past its cancel")
                below_fatal = any(under(me, f) and me != f for f in fatal)
                if kind == "enter":
                    if h is not None and h != me and not any(under(h, f) for f in fatal):
                        self.bad(f"lock exclusion: {self.describe(me)} entered lock {lk} of tree {lid[0]} "
                                 f"while {h} held it")
                    holder[lid] = me
                elif h == me:
                    holder[lid] = None
                elif stopped or below_fatal:
                    pass                        # a late run from an isolate that was stopped
                elif lid in relock.get(me, ()):
                    relock[me].discard(lid)
                    if h is not None:
                        self.bad(f"lock exclusion: {self.describe(me)} was retried inside its critical section "
                                 f"and ran it on while {h} held lock {lk}: a retry must take back the locks "
                                 "its snapshot holds before it resumes")
                else:
                    self.bad(f"lock exclusion: {self.describe(me)} left lock {lk} of tree {lid[0]} "
                             f"held by {h}")

    def check_items(self, rows: dict[str, Any], shared: Any) -> None:
        from deepslate import _vm
        program = sf.sim.program
        puts: dict[int, set[str]] = {}
        gets: dict[int, set[tuple[str, str]]] = {}
        for ev in self.events():
            if ev[0] == "put":
                puts.setdefault(ev[2], set()).add(ev[3])
            elif ev[0] == "get":
                gets.setdefault(ev[2], set()).add((ev[1], ev[3]))
        stored: dict[int, list[int]] = {}       # value -> queues holding it
        for qid, (_, _, items) in shared.queues.items():
            for _, data in items:
                v = _vm.decode_value(data, program)
                if type(v) is int and v >= VALUE_BASE:
                    stored.setdefault(v, []).append(qid)
        for v, who in sorted(gets.items()):
            if len(who) > 1:
                self.bad(f"queue item {v} (tree t{v // VALUE_BASE}) consumed {len(who)} times: {sorted(who)}")
            if v in stored:
                self.bad(f"queue item {v} consumed by {sorted(who)} and still stored in queue {stored[v]}")
        for v, qs in sorted(stored.items()):
            if len(qs) > 1:
                self.bad(f"queue item {v} stored {len(qs)} times (queues {qs})")
        by_id = {r.id: r for r in rows.values()}
        live_roots = {by_id[root].name for (kind, _), root in shared.roots.items() if kind == "queue" and root in by_id}
        for t in self.plan.trees:
            if t.name not in live_roots:
                continue
            lost = sorted(v for v in puts if v // VALUE_BASE == t.idx and v not in gets and v not in stored)
            cancelled = [n for n, r in rows.items() if tree_of(n) == t.name and r.status == "cancelled"]
            if len(lost) > len(cancelled):
                self.bad(f"queue items lost from live tree {t.name} ({t.profile}): {lost} were put, are not "
                         f"stored and nobody witnessed taking them; only {len(cancelled)} isolates of the tree "
                         f"were cancelled")

    def check_calls(self) -> None:
        ident: dict[str, set[tuple[Any, ...]]] = {}
        runs: dict[str, int] = {}
        owner: dict[str, tuple[str, str]] = {}
        for ev in self.events():
            if ev[0] == "call":
                _, fn, me, k, key, n = ev
                ident.setdefault(key, set()).add(("call", fn, me, k))
                runs[key] = max(runs.get(key, 0), n)
                owner[key] = (fn, me)
            elif ev[0] in ("put", "get", "enter", "exit", "poison"):
                kind, me, v, key = ev
                ident.setdefault(key, set()).add((kind, me, v))
                runs[key] = runs.get(key, 0) + 1
                owner[key] = ("note", me)
        for key, ids in ident.items():
            if len(ids) > 1:
                self.bad(f"idempotency key {key} shared by different calls: {sorted(map(str, ids))}")
        retries = {"work": sf.RETRIES_WORK, "must": sf.RETRIES_MUST, "hang": 0, "note": 0}
        for key, n in runs.items():
            fn, me = owner[key]
            bound = (1 + retries[fn]) * (1 + self.restarts + self.retried.get(me, 0))
            if n > bound:
                self.bad(f"@impure {fn} of {me} ran {n} times under key {key} (at most {bound} with "
                         f"{self.restarts} restarts and {self.retried.get(me, 0)} retries)")

    def projection(self, shared: Any) -> tuple[dict[int, list[int]], dict[int, int | None], dict[int, int]]:
        return ({qid: sorted(s for s, _ in items) for qid, (_, _, items) in shared.queues.items()},
                dict(shared.locks), dict(shared.waitgroups))

    async def check_store(self, rows: dict[str, Any], shared: Any) -> None:
        by_id = {r.id: r for r in rows.values()}
        for lid, h in sorted(shared.locks.items()):
            if h is None:
                continue
            hr = by_id.get(h)
            if hr is None or hr.status in TERMINAL:
                self.bad(f"Lock({lid}) is held in the store by {hr.name + ' (' + hr.status + ')' if hr else h}")
        for wid, c in sorted(shared.waitgroups.items()):
            if c < 0:
                self.bad(f"WaitGroup({wid}) is at {c} in the store")
        roots = {root for (_, _), root in shared.roots.items()}
        for t in self.plan.trees:
            mine = [r for n, r in rows.items() if tree_of(n) == t.name]
            if not mine or t.name not in rows:
                continue
            retryable = [r.name for r in mine if r.status == "failed" and r.snapshot is not None]
            ended = all(r.status in TERMINAL for r in mine) and not retryable
            if ended and rows[t.name].id in roots:
                left = sorted(f"{k}({i})" for (k, i), root in shared.roots.items() if root == rows[t.name].id)
                self.bad(f"tree {t.name} ({t.profile}) ended but its objects are still stored: {left}")
            if not ended and rows[t.name].id not in roots:
                live = sorted(f"{r.name}:{r.status}" for r in mine if r.status not in TERMINAL or r.name in retryable)
                self.bad(f"tree {t.name} ({t.profile}) lost its queues, locks and wait groups while {live} "
                         "can still run")
        for n, r in sorted(rows.items()):
            if r.status in TERMINAL:
                st = await self.eng.status(n)
                if st != r.status:
                    self.bad(f"memory and store disagree: {n} is {st} in memory, {r.status} in the store")
        await self.check_view(shared)

    async def check_view(self, shared: Any, when: str = "") -> None:
        """The engine's memory of queues, locks and wait groups equals the store's (when it can say)."""
        view = getattr(self.eng, "shared_view", None)
        if view is None:
            return
        got = view()
        if inspect.isawaitable(got):
            got = await got
        want = self.projection(shared)
        for label, g, w in zip(("queues", "locks", "wait groups"), got, want):
            g = {k: sorted(v) if isinstance(v, list) else v for k, v in g.items()}
            diff = sorted(k for k in set(g) | set(w) if g.get(k, "absent") != w.get(k, "absent"))
            if diff:
                self.bad(f"shared_view and store disagree on {label}{when}: "
                         + ", ".join(f"{k}: memory {g.get(k, 'absent')} store {w.get(k, 'absent')}"
                                     for k in diff[:8]))

    async def check_restart(self) -> None:
        """Stop and start on the same file: nothing that was quiescent may move."""
        before_rows = self.rows()
        before_shared = self.projection(self.reader.load_shared())
        await self.eng.stop()
        self.restarts += 1
        self.log("restart", self.restarts)
        await self.start()
        rows, mem, still = await self.quiesce()
        if not self.check_failure():
            return
        moved = []
        for n in sorted(set(rows) | set(before_rows)):
            a, b = before_rows.get(n), rows.get(n)
            sa = (a.status, a.steps) if a else None
            sb = (b.status, b.steps) if b else None
            if sa != sb:
                moved.append(n)
                if n in self.stuck or any(under(n, s) for s in self.stuck):
                    continue            # reported as stuck already; a restart may well unstick it
                self.bad(f"a restart moved a quiescent isolate: {self.describe(n)} was {sa} (status, steps), "
                         f"after the restart {sb} (waiting_on {b.waiting_on if b else None!r})")
        shared = self.reader.load_shared()
        after = self.projection(shared)
        if not moved:
            for label, w, g in zip(("queues", "locks", "wait groups"), before_shared, after):
                diff = sorted(k for k in set(g) | set(w) if g.get(k, "absent") != w.get(k, "absent"))
                if diff:
                    self.bad(f"a restart changed stored {label} while no isolate moved: "
                             + ", ".join(f"{k}: {w.get(k, 'absent')} -> {g.get(k, 'absent')}" for k in diff[:8]))
        self.check_stuck(rows, mem, still, shared, when=" after the final restart")
        await self.check_view(shared, when=" after the final restart")


def run_seed(seed: int, store: Any) -> list[str]:
    sim = Sim(seed, store)
    try:
        return asyncio.run(sim.main())
    except BaseException as e:      # SystemExit, KeyboardInterrupt... escaping the event loop
        if isinstance(e, KeyboardInterrupt) and not any(
                t.profile in ("baseexc", "cancelexc", "hardfail", "poison") for t in sim.plan.trees):
            raise                   # a real ^C
        return sim.violations + [f"seed {seed}: {type(e).__name__}({e}) escaped the engine's event loop: "
                                 "an isolate's exception took down the host program "
                                 f"(faulty trees this seed: {sim.faulty()})"]


# PostgreSQL: the first PG_SEEDS of the seeds (a seed takes twice as long there, and the store's
# own semantics are pinned by tests/store); nightly runs as many as on SQLite
CASES = [("sqlite", BASE + k) for k in range(SEEDS)] + [("postgres", BASE + k) for k in range(min(PG_SEEDS, SEEDS))]


@pytest.mark.parametrize("store_kind, seed", CASES, ids=[f"{kind}-{seed}" for kind, seed in CASES])
def test_engine_sim(seed, any_store):
    violations = run_seed(seed, any_store)
    assert not violations, (f"seed {seed}: {len(violations)} invariant violations "
                            f"(reproduce: DEEPSLATE_SIM_SEED={seed} DEEPSLATE_SIM_SEEDS=1 pytest "
                            f"tests/runtime/test_engine_sim.py)\n" + "\n".join(violations))
