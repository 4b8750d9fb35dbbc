"""Flows for tests/runtime/test_engine_sim.py: an op-code interpreter driven by its arguments.

A spawned ``sim`` isolate makes its tree's shared objects (queues, locks, wait groups), starts
one ``kid`` child per program in ``kids`` and runs its own program; a kid may start grandkids
(op SPAWN) running one of ``subs``. Every program is a flat ``list[int]`` of (op, arg) pairs,
so the seed that generated the arguments decides the whole workload.

Every effect that matters to the invariants is witnessed outside the store, in the module-level
``RUNS[run].log`` (an append-only list shared by every engine of the process, so it survives
restarts): queue items put and taken, lock enter/exit, every run of an @impure function with its
idempotency key. An @impure's behaviour is decided by its arguments (``mode``), never by chance.
"""
import asyncio
import threading
from dataclasses import dataclass

from deepslate import DSError, dpslio, flow, idempotency_key, impure, pure, sleep

# op codes: a program is [op, arg, op, arg, ...]
PUT, GET, PUTS, SEL, PGB, LOCK, UNLOCK, PULSE, WGWAIT, SLEEP, WORK, MUST, HANG, SPAWN, POISON, PURE, BLOCK = range(17)
NAMES = ["PUT", "GET", "PUTS", "SEL", "PGB", "LOCK", "UNLOCK", "PULSE", "WGWAIT", "SLEEP", "WORK", "MUST", "HANG",
         "SPAWN", "POISON", "PURE", "BLOCK"]

MOD = 1000000007
DSERR = 1000                # what a flow mixes in when an @impure gave it a DSError
HANG_TIMEOUT = 0.1          # @impure(timeout=...) of hang
HANG_CAP = 0.5              # a hung call returns by itself after this long (real seconds)
RETRIES_WORK = 2
RETRIES_MUST = 1
BIG = 9223372036854775808   # 2**63: one past SQLite's INTEGER
HUGE = 400000               # items of the list poison 3 keeps across a durable point

# WORK modes (-> int | DSError): 0 ok, 1 fails on its first attempt then ok, 2 ValueError always,
# 3.. a BaseException always. MUST modes (-> int): 0 ok, 1.. raises until the test "fixes" it.
WORK_EXC = {2: ValueError, 3: SystemExit, 4: KeyboardInterrupt, 5: asyncio.CancelledError, 6: None}
MUST_EXC = {1: ValueError, 2: SystemExit, 3: KeyboardInterrupt, 4: asyncio.CancelledError, 5: None}


class Doom(BaseException):
    """A BaseException subclass that is none of Python's own."""


class Run:
    """What one seeded run witnesses outside the store."""

    def __init__(self, tag: str):
        self.tag = tag
        self.log: list[tuple] = []
        self.mu = threading.Lock()
        self.release = threading.Event()     # set at the end: hung calls return
        self.fixed: set[str] = set()         # isolates whose MUST calls succeed from now on
        self.attempts: dict[str, int] = {}   # idempotency key -> runs so far


RUNS: dict[str, Run] = {}


def _log(run: str, *ev) -> Run | None:
    r = RUNS.get(run)
    if r is not None:
        with r.mu:
            r.log.append(ev)
    return r


def _exc(table: dict, mode: int, what: str) -> BaseException:
    cls = table.get(mode)
    if cls is None:
        return Doom(what)
    return cls(what)


def work_value(k: int) -> int:
    return k * 3 + 1


def must_value(k: int) -> int:
    return k * 5 + 2


def mix_value(a: int, b: int) -> int:
    return (a * 31 + b + 7) % MOD


# -- @impure: every run is witnessed -----------------------------------------------------------

@impure
def note(run: str, me: str, kind: str, v: int) -> None:
    # kind: put / get (a queue item), enter / exit (v: lock number), poison (v: kind)
    _log(run, kind, me, v, idempotency_key())


@impure(retries=RETRIES_WORK, backoff=0.001)
def work(run: str, me: str, k: int, mode: int) -> int | DSError:
    key = idempotency_key()
    r = RUNS.get(run)
    n = 0
    if r is not None:
        with r.mu:
            n = r.attempts[key] = r.attempts.get(key, 0) + 1
            r.log.append(("call", "work", me, k, key, n))
    if mode == 0 or (mode == 1 and n > 1):
        return work_value(k)
    if mode == 1:
        raise ValueError(f"transient failure of work {me} {k}")
    raise _exc(WORK_EXC, mode, f"work {me} {k} mode {mode}")


@impure(retries=RETRIES_MUST, backoff=0.001)
def must(run: str, me: str, k: int, mode: int) -> int:
    key = idempotency_key()
    r = RUNS.get(run)
    fixed = False
    if r is not None:
        with r.mu:
            n = r.attempts[key] = r.attempts.get(key, 0) + 1
            r.log.append(("call", "must", me, k, key, n))
            fixed = me in r.fixed
            if mode != 0 and not fixed:
                r.log.append(("doom", me, k, key))
    if mode == 0 or fixed:
        return must_value(k)
    raise _exc(MUST_EXC, mode, f"must {me} {k} mode {mode}")


@impure(timeout=HANG_TIMEOUT)
def hang(run: str, me: str, k: int) -> int | DSError:
    key = idempotency_key()
    r = RUNS.get(run)
    if r is not None:
        with r.mu:
            r.attempts[key] = r.attempts.get(key, 0) + 1
            r.log.append(("call", "hang", me, k, key, r.attempts[key]))
        r.release.wait(HANG_CAP)
    return k


# -- @pure ---------------------------------------------------------------------------------------

@pure
def mix(a: int, b: int) -> int:
    return mix_value(a, b)


@pure
def results_expected(kids: list[list[int]]) -> int:
    return len(kids) + sum(1 for p in kids for i in range(0, len(p), 2) if p[i] == SPAWN)


@pure
def sorted_ints(xs: list[int]) -> list[int]:
    return sorted(xs)


@pure
def surrogate() -> str:
    return b"\xff".decode("utf-8", "surrogateescape")


@pure
def huge(n: int) -> list[int]:
    return list(range(n))


@pure
def boom(k: int) -> int:
    raise SystemExit(k)


@pure
def doom(k: int) -> int:
    raise Doom(f"doom {k}")


# -- flows ---------------------------------------------------------------------------------------

@dataclass
class Env:
    run: str
    q: dpslio.Queue[int]
    qa: dpslio.Queue[int]
    qb: dpslio.Queue[int]
    qc: dpslio.Queue[int]
    res: dpslio.Queue[list[int]]
    mu1: dpslio.Lock
    mu2: dpslio.Lock
    pw: dpslio.WaitGroup
    done: dpslio.WaitGroup


@flow
async def sim(run: str, me: str, ops: list[int], kids: list[list[int]], subs: list[list[int]],
              qcap: int) -> list[int]:
    q: dpslio.Queue[int] = dpslio.Queue[int]()
    qa: dpslio.Queue[int] = dpslio.Queue[int]()
    qb: dpslio.Queue[int] = dpslio.Queue[int]()
    qc: dpslio.Queue[int] = dpslio.Queue[int](qcap)
    res: dpslio.Queue[list[int]] = dpslio.Queue[list[int]]()
    mu1: dpslio.Lock = dpslio.Lock()
    mu2: dpslio.Lock = dpslio.Lock()
    pw: dpslio.WaitGroup = dpslio.WaitGroup()
    done: dpslio.WaitGroup = dpslio.WaitGroup()
    env: Env = Env(run, q, qa, qb, qc, res, mu1, mu2, pw, done)
    n: int = results_expected(kids)
    done.add(len(kids))
    top: dpslio.WaitGroup = dpslio.WaitGroup()        # counted down by the children, not waited on
    top.add(len(kids))
    for i, kp in enumerate(kids):
        dpslio.create_task(kid(env, me + "/" + str(i + 1), kp, subs, top))
    mine: list[int] = interp(env, me, ops, subs)
    await done.wait()
    total: int = mine[0]
    got: list[int] = []
    for j in range(1, len(mine)):
        got.append(mine[j])
    for i in range(n):
        r: list[int] = await res.get()
        total = total + r[0]
        for j in range(1, len(r)):
            got.append(r[j])
    out: list[int] = [total]
    out += sorted_ints(got)
    return out


@flow
async def kid(env: Env, me: str, ops: list[int], subs: list[list[int]], up: dpslio.WaitGroup) -> int:
    r: list[int] = interp(env, me, ops, subs)
    await env.res.put(r)
    await env.done.done()
    await up.done()
    return r[0]


@flow
async def interp(env: Env, me: str, ops: list[int], subs: list[list[int]]) -> list[int]:
    acc: int = 1
    out: list[int] = [0]
    nkids: int = 0
    mine: dpslio.WaitGroup = dpslio.WaitGroup()
    i: int = 0
    while i < len(ops):
        op: int = ops[i]
        arg: int = ops[i + 1]
        k: int = i // 2
        i = i + 2
        match op:
            case 0:     # PUT
                await env.q.put(arg)
                note(env.run, me, "put", arg)
            case 1:     # GET
                v: int = await env.q.get()
                note(env.run, me, "get", v)
                out.append(v)
            case 2:     # PUTS: onto qa or qb by parity
                if arg % 2 == 0:
                    await env.qa.put(arg)
                else:
                    await env.qb.put(arg)
                note(env.run, me, "put", arg)
            case 3:     # SEL
                match dpslio.select:
                    case _ if va := await env.qa.get():
                        note(env.run, me, "get", va)
                        out.append(va)
                    case _ if vb := await env.qb.get():
                        note(env.run, me, "get", vb)
                        out.append(vb)
            case 4:     # PGB: put on the bounded queue, then take one
                await env.qc.put(arg)
                note(env.run, me, "put", arg)
                w: int = await env.qc.get()
                note(env.run, me, "get", w)
                out.append(w)
            case 5:     # LOCK
                if arg == 0:
                    await env.mu1.acquire()
                else:
                    await env.mu2.acquire()
                note(env.run, me, "enter", arg)
            case 6:     # UNLOCK
                note(env.run, me, "exit", arg)
                if arg == 0:
                    await env.mu1.release()
                else:
                    await env.mu2.release()
            case 7:     # PULSE
                env.pw.add(1)
                sleep(0.0)
                await env.pw.done()
            case 8:     # WGWAIT
                await env.pw.wait()
            case 9:     # SLEEP
                sleep(arg / 1000.0)
            case 10:    # WORK
                r: int | DSError = work(env.run, me, k, arg)
                if isinstance(r, DSError):
                    acc = mix(acc, DSERR)
                else:
                    acc = mix(acc, r)
            case 11:    # MUST
                m: int = must(env.run, me, k, arg)
                acc = mix(acc, m)
            case 12:    # HANG
                h: int | DSError = hang(env.run, me, k)
                if isinstance(h, DSError):
                    acc = mix(acc, DSERR)
                else:
                    acc = mix(acc, h)
            case 13:    # SPAWN: a child this flow waits for before it returns (else it is cancelled)
                env.done.add(1)
                mine.add(1)
                nkids = nkids + 1
                dpslio.create_task(kid(env, me + "/" + str(nkids), subs[arg], subs, mine))
            case 14:    # POISON
                note(env.run, me, "poison", arg)
                p: int = poison(arg)
                acc = mix(acc, p)
            case 15:    # PURE
                acc = mix(acc, arg)
            case 16:    # BLOCK: wait forever, legitimately
                b: int = block(arg)
                acc = mix(acc, b)
        acc = mix(acc, op)
    await mine.wait()
    out[0] = acc
    return out


@flow
async def poison(kind: int) -> int:
    # each must fail (or be survived by) its own isolate alone
    match kind:
        case 0:     # a log line no UTF-8 store can hold
            s: str = surrogate()
            print(s)
            sleep(0.0)
            return 1
        case 1:     # a wait group counter past int64
            w: dpslio.WaitGroup = dpslio.WaitGroup()
            w.add(BIG)
            return 2
        case 2:     # a queue capacity past int64
            qq: dpslio.Queue[int] = dpslio.Queue[int](BIG)
            await qq.put(1)
            return 3
        case 3:     # a snapshot over max_snapshot_bytes
            big: list[int] = huge(HUGE)
            sleep(0.0)
            return len(big)
        case 4:     # a @pure raising SystemExit
            return boom(kind)
        case 5:     # a @pure raising a BaseException subclass
            return doom(kind)
        case 6:     # a lone surrogate as a queue item
            s2: str = surrogate()
            sq: dpslio.Queue[str] = dpslio.Queue[str]()
            await sq.put(s2)
            t: str = await sq.get()
            return len(t)
    return 0


@flow
async def block(kind: int) -> int:
    # each waits for something nobody will ever provide: blocked, not stuck
    match kind:
        case 0:     # a get on a queue nobody puts to
            q: dpslio.Queue[int] = dpslio.Queue[int]()
            v: int = await q.get()
            return v
        case 1:     # a put on a full queue nobody reads
            q2: dpslio.Queue[int] = dpslio.Queue[int](1)
            await q2.put(1)
            await q2.put(2)
            return 2
        case 2:     # a lock taken twice (waits for itself, or faults)
            mu: dpslio.Lock = dpslio.Lock()
            await mu.acquire()
            await mu.acquire()
            return 3
        case 3:     # a wait group nobody counts down
            wg: dpslio.WaitGroup = dpslio.WaitGroup()
            wg.add(1)
            await wg.wait()
            return 4
    return 0


BLOCK_KINDS = 4
POISON_VALUE = {0: 1, 1: 2, 2: 3, 3: HUGE, 4: None, 5: None, 6: 1}   # what a survived poison returns
POISON_KINDS = len(POISON_VALUE)
