"""Real processes, SIGKILLed and restarted on the same store (RELIABILITY targets 1, 3, 17 and
20; DESIGN §2). steps (sleeps and @impure calls) and exchange (a queue) run on SQLite and on
PostgreSQL (``any_store``), the others on SQLite.

The flows' @impure effects append to a log outside the store, so the test sees what really
ran, and every invariant is checked on the whole history of the run:

- counter (targets 1 and 3): one 10 000-step flow; each step's @impure appends (isolate,
  call_index, idempotency_key, nonce, kept) and returns a random nonce. The worker is killed
  200 times, each time 0-3 ms after the log reaches a call index drawn from the seed (or,
  when a restarted worker is already past it, its first new call): kills land before, inside
  and after commits. Pass: the count is 10 000, every call ran once or twice, duplicates <=
  kills, one key per call and no key shared, and the result the flow kept for every call is
  the nonce of that call's last run (the committed one); no isolate failed.
- steps: three isolates, kills at random moments, some of them during start-up and recovery.
- exchange (target 17): 25 producer and 25 consumer isolates pass 10 000 items through one
  bounded durable queue, 20 kills at points in the consumers' log: the consumed multiset is
  the produced one (0 lost, 0 duplicated).
- lock (target 17): 8 isolates take one lock in turn, each holder logs enter and leave; 20
  kills: never two holders inside at once. A lock held by an isolate that fails or is
  cancelled goes to the next waiter (in process, real SQLite, with a restart in between).
- code versions (target 20): 100 isolates mid-run on program H1 are killed, the worker
  restarts with changed flow source H2: they finish on H1 with H1's results, new spawns run
  H2, every stored snapshot names the program its row runs.

Harness: a zygote forks each worker (no interpreter start-up per kill). A restarted worker
is killed only after it logs a call not seen before, so one call is never cut by two kills
in a row. A SIGKILL can cut the dying worker's last log line; it is marked TORN and left out
(that run never returned, so nothing of it was committed).

Knobs (defaults are the fast sizes; the nightly job raises them):
DEEPSLATE_CRASH_SEED (each test has its own default), DEEPSLATE_CRASH_COUNTER_KILLS (200;
nightly 1000), DEEPSLATE_CRASH_COUNTER_STEPS (10 000), DEEPSLATE_CRASH_KILLS (20, for steps,
exchange, lock and test_idempotency_keys.py; nightly 200), DEEPSLATE_CRASH_ITEMS (10 000),
DEEPSLATE_VERSION_ISOLATES (100).
"""
import asyncio
import collections
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "worker.py")
VERSION_WORKER = os.path.join(HERE, "version_worker.py")
KILLS = int(os.environ.get("DEEPSLATE_CRASH_KILLS", "20"))
COUNTER_KILLS = int(os.environ.get("DEEPSLATE_CRASH_COUNTER_KILLS", "200"))
VERSION_ISOLATES = int(os.environ.get("DEEPSLATE_VERSION_ISOLATES", "100"))
STUCK = 60.0       # a step takes about a millisecond and a restart a tenth of a second
sys.path.insert(0, HERE)
import crashflows  # noqa: E402
import worker  # noqa: E402

pytestmark = pytest.mark.timeout(600)


def _env():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    env.pop("DEEPSLATE_FAULTS", None)
    return env


class Zygote:
    """worker.py in zygote mode: each fork() is a new worker process, SIGKILLed by the test."""

    def __init__(self, store, effects, mode):
        # stderr to a file: a pipe nobody reads would block a worker that logs a lot (beside the
        # effects log: the store may be a PostgreSQL schema)
        self.err_path = effects + ".stderr"
        self.err = open(self.err_path, "w")
        self.p = subprocess.Popen([sys.executable, WORKER, "zygote", store, effects, mode], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=self.err, text=True, env=_env())
        assert self.p.stdout.readline().strip() == "ZYGOTE", self.stderr()

    def stderr(self):
        self.err.flush()
        with open(self.err_path) as f:
            return f.read()[-4000:]

    def fork(self):
        self.p.stdin.write("fork\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        assert line.startswith("PID "), line + self.stderr()
        return int(line.split()[1])

    def lines_until_exit(self):
        """The worker's output lines and its exit status."""
        out = []
        while True:
            line = self.p.stdout.readline()
            assert line, self.stderr()
            if line.startswith("EXIT "):
                return out, int(line.split()[1])
            if line.strip():
                out.append(line.rstrip("\n"))

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=30)
        self.err.close()


TORN = "TORN"


def mend(path):
    """End a line a SIGKILL tore, marked TORN, before the next worker appends to the log.

    A write() to a file can stop short at a page boundary when a fatal signal is pending, so
    the dying worker's last line may be cut. Its run never returned, so nothing of it was
    committed; read_effects leaves such lines out (their fields may be cut too)."""
    try:
        with open(path, "rb+") as f:
            if f.seek(0, os.SEEK_END) and (f.seek(-1, os.SEEK_END), f.read(1))[1] != b"\n":
                f.write(b" " + TORN.encode() + b"\n")
                return 1
    except FileNotFoundError:
        pass
    return 0


def calls_logged():
    """Progress as the number of distinct calls (idempotency keys) logged: a re-run of a call
    cut by the last kill is no progress, so the next kill waits for a new call."""
    keys = set()

    def progress(line):
        keys.add(line.split()[2])
        return len(keys)
    return progress


def kill_many(store, effects, mode, rng):
    """KILLS kills at random moments: a quarter during start-up and recovery, the others up to
    150 ms after the worker is running, but never later than its share of the run (kill k by
    the time k+1 of KILLS+1 equal parts of the calls are logged), so work is left for every kill."""
    total = worker.calls(mode)
    z = Zygote(store, effects, mode)
    tail, progress = Tail(effects), calls_logged()
    high, kills = 0, 0
    try:
        while kills < KILLS:
            pid = z.fork()
            if rng.random() < 0.25:
                time.sleep(rng.uniform(0.0, 0.05))         # during start-up and recovery
            else:
                line = z.p.stdout.readline()
                assert line.startswith("READY"), line + z.stderr()
                until = time.monotonic() + rng.uniform(0.0, 0.15)      # while steps commit
                share = total * (kills + 1) // (KILLS + 1)
                while time.monotonic() < until and high < share:
                    for line in tail.read():
                        high = progress(line)
                    time.sleep(0.0005)
            try:
                os.kill(pid, signal.SIGKILL)      # the zygote reaps it, so the pid is still ours
            except ProcessLookupError:
                pass                              # it ended on its own: the assert below says how
            out, status = z.lines_until_exit()
            assert status == -signal.SIGKILL, (f"the worker ended with {status} after {kills} kills, at "
                                               f"{high} of {total} calls\n" + "\n".join(out) + z.stderr())
            kills += 1
            mend(effects)
            for line in tail.read():
                if not line.endswith(TORN):
                    high = progress(line)
    finally:
        tail.close()
        z.close()
    return kills


class Tail:
    """The complete lines appended to a log since the last read."""

    def __init__(self, path):
        self.path, self.fd, self.rest = path, None, b""

    def read(self):
        if self.fd is None:
            try:
                self.fd = os.open(self.path, os.O_RDONLY)
            except FileNotFoundError:
                return []
        chunks = []
        while True:
            b = os.read(self.fd, 1 << 16)
            if not b:
                break
            chunks.append(b)
        if not chunks:
            return []
        data = self.rest + b"".join(chunks)
        *lines, self.rest = data.split(b"\n")
        return [ln.decode() for ln in lines]

    def close(self):
        if self.fd is not None:
            os.close(self.fd)


def _gone(pid):
    """The worker exited (a zombie counts: the zygote reaps it at once)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):
        return True


def kill_at_marks(store, effects, mode, marks, progress, rng, seed):
    """One worker per mark, SIGKILLed 0-3 ms after its log shows progress >= the mark.

    ``progress(line)`` maps each new log line to a number that grows along the run (a call
    index, a line count). A restarted worker must first make progress past everything logged
    before it started, so no call is cut by two kills in a row. Returns the number of kills."""
    z = Zygote(store, effects, mode)
    tail = Tail(effects)
    high, kills = -1, 0
    try:
        for mark in marks:
            goal = max(mark, high + 1)
            pid = z.fork()
            stuck_at = time.monotonic() + STUCK
            polls = 0
            while True:
                for line in tail.read():
                    high = max(high, progress(line))     # the worker is alive: no line is torn yet
                    stuck_at = time.monotonic() + STUCK
                if high >= goal:
                    time.sleep(rng.uniform(0.0, 0.003))
                    os.kill(pid, signal.SIGKILL)     # the zygote reaps it, so the pid is still ours
                    break
                polls += 1
                if polls % 200 == 0:
                    if _gone(pid):
                        break
                    if time.monotonic() > stuck_at:
                        os.kill(pid, signal.SIGUSR1)     # its threads' stacks, to its stderr
                        time.sleep(1.0)
                        os.kill(pid, signal.SIGKILL)
                        z.lines_until_exit()
                        raise AssertionError(f"seed {seed}: the worker logged nothing for {STUCK} s "
                                             f"(kill {kills + 1}, progress {high}, goal {goal})\n{z.stderr()}")
                time.sleep(0.0002)
            out, status = z.lines_until_exit()
            assert status == -signal.SIGKILL, (f"seed {seed}: the worker ended with {status} before progress "
                                               f"{goal} (at {high})\n" + "\n".join(out) + z.stderr())
            kills += 1
            mend(effects)
            for line in tail.read():                 # what it wrote between the last poll and its death
                if not line.endswith(TORN):
                    high = max(high, progress(line))
    finally:
        tail.close()
        z.close()
    return kills


def run_to_end(store, effects, mode):
    """A last worker, a fresh interpreter this time, runs everything to its end."""
    p = subprocess.Popen([sys.executable, WORKER, store, effects, mode], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=_env())
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    result = [ln for ln in out.splitlines() if ln.startswith("RESULT ")]
    assert result, out + err
    return json.loads(result[0][len("RESULT "):])


def read_effects(path, torn=None):
    """The log's lines as tuples of fields, without the lines kills tore (counted in ``torn``)."""
    out = []
    with open(path) as f:
        for line in f:
            fields = tuple(line.split())
            if fields and fields[-1] == TORN:
                if torn is not None:
                    torn.append(line)
            elif fields:
                out.append(fields)
    return out


def read_store(store):
    # read-only: a look must never create or change the store
    return sqlite3.connect(f"file:{store}?mode=ro", uri=True)


def statuses(store):
    """Isolates by status, of an SQLite file or a tests/stores.py StoreUnderTest."""
    if not isinstance(store, str):
        return collections.Counter(s for (s,) in store.sql("SELECT status FROM isolates"))
    db = read_store(store)
    try:
        return collections.Counter(s for (s,) in db.execute("SELECT status FROM isolates"))
    finally:
        db.close()


def test_counter_survives_200_random_kills(tmp_path):
    seed = int(os.environ.get("DEEPSLATE_CRASH_SEED", "1"))
    rng = random.Random(seed)
    n, kills_wanted = worker.COUNTER_STEPS, COUNTER_KILLS
    store, effects = str(tmp_path / "s.db"), str(tmp_path / "effects.txt")
    # leave room at the end: a kill must find the flow still running
    marks = sorted(rng.sample(range(n - 100), kills_wanted))
    t0 = time.monotonic()
    kills = kill_at_marks(store, effects, "counter", marks, lambda line: int(line.split()[1]), rng, seed)
    killed_in = time.monotonic() - t0
    result = run_to_end(store, effects, "counter")["c0"]

    runs = collections.defaultdict(list)             # call_index -> its runs (key, nonce, kept)
    torn = []
    for who, i, key, nonce, prev in read_effects(effects, torn):
        assert who == "c0", f"seed {seed}: a line from {who}"
        runs[int(i)].append((key, int(nonce), int(prev)))
    times = collections.Counter(len(r) for r in runs.values())
    dups = sum(len(r) - 1 for r in runs.values())
    print(f"counter: {n} steps, {kills} kills in {killed_in:.1f} s, {dups} calls ran twice, "
          f"{len(torn)} log lines torn by a kill; seed {seed}")
    assert kills == kills_wanted, f"seed {seed}"
    assert result[0] == n, f"seed {seed}: counter {result[0]}"
    missing = set(range(n)) - set(runs)
    assert not missing, f"seed {seed}: calls never ran: {sorted(missing)[:10]}"
    assert set(runs) == set(range(n)), f"seed {seed}: calls outside the flow's range"
    assert set(times) <= {1, 2}, f"seed {seed}: run counts {dict(times)}"
    assert dups <= kills, f"seed {seed}: {dups} re-runs for {kills} kills"
    split = {i: r for i, r in runs.items() if len({k for k, _, _ in r}) != 1}
    assert not split, f"seed {seed}: calls that saw more than one key: {list(split.items())[:3]}"
    keys = [r[0][0] for r in runs.values()]
    assert len(set(keys)) == n, f"seed {seed}: two calls share an idempotency key"
    # the committed result of a call is its last run's nonce; the next call is handed what the
    # flow kept, so each of its runs shows it
    committed = {i: r[-1][1] for i, r in runs.items()}
    wrong = [(i, committed[i - 1], [p for _, _, p in runs[i]]) for i in range(1, n)
             if any(p != committed[i - 1] for _, _, p in runs[i])]
    assert not wrong, f"seed {seed}: the flow kept a result that was not committed (call, committed, kept): {wrong[:3]}"
    assert all(p == 0 for _, _, p in runs[0]), f"seed {seed}"
    fold = 0
    for i in range(n):
        fold = (fold * 1000003 + committed[i]) % 2305843009213693951
    assert result[1:] == [committed[n - 1], fold], f"seed {seed}: the final result does not fold the committed ones"
    assert statuses(store) == {"done": 1}, f"seed {seed}"


def test_steps_survive_sigkill(tmp_path, any_store):
    seed = int(os.environ.get("DEEPSLATE_CRASH_SEED", "4"))
    rng = random.Random(seed)
    store, effects = any_store.spec, str(tmp_path / "effects.txt")
    kills = kill_many(store, effects, "steps", rng)
    results = run_to_end(store, effects, "steps")
    n = worker.STEPS
    assert results == {f"s{i}": sum(range(n)) for i in range(worker.ISOLATES)}, f"seed {seed}"
    lines = read_effects(effects)
    runs = collections.Counter((who, int(i)) for who, i, _ in lines)
    keys = collections.defaultdict(set)
    for who, i, key in lines:
        keys[(who, int(i))].add(key)
    expected = {(f"s{k}", i) for k in range(worker.ISOLATES) for i in range(n)}
    print(f"steps: {kills} kills, {len(lines) - len(expected)} effects re-ran")
    assert set(runs) == expected, f"seed {seed}: steps lost"
    assert max(runs.values()) <= 1 + kills, f"seed {seed}"
    assert len(lines) - len(expected) <= kills * worker.ISOLATES, f"seed {seed}"
    assert all(len(k) == 1 for k in keys.values()), f"seed {seed}: a re-run saw another idempotency key"
    assert len({next(iter(k)) for k in keys.values()}) == len(expected), f"seed {seed}: two calls share a key"
    assert statuses(any_store) == {"done": worker.ISOLATES}, f"seed {seed}"


def test_queue_exchange_survives_sigkill(tmp_path, any_store):
    seed = int(os.environ.get("DEEPSLATE_CRASH_SEED", "7"))
    rng = random.Random(seed)
    n = worker.ITEMS
    store, effects = any_store.spec, str(tmp_path / "effects.txt")
    marks = sorted(rng.sample(range(1, n - n // 20), KILLS))
    kills = kill_at_marks(store, effects, "exchange", marks, calls_logged(), rng, seed)
    results = run_to_end(store, effects, "exchange")
    assert kills == KILLS, f"seed {seed}"
    per = n // worker.PRODUCERS
    assert results["x"] == n, f"seed {seed}"
    producers = [f"x/{i}" for i in range(1, worker.PRODUCERS + 1)]
    consumers = [f"x/{i}" for i in range(worker.PRODUCERS + 1, worker.PRODUCERS + worker.CONSUMERS + 1)]
    assert all(results[p] == per for p in producers), f"seed {seed}"
    produced = collections.Counter(range(n))

    # the log: a consumer's @impure may run again after a kill, always with the same key and item
    lines = read_effects(effects)
    by_key = collections.defaultdict(set)
    for who, v, key in lines:
        by_key[key].add((who, int(v)))
    split = {k: v for k, v in by_key.items() if len(v) != 1}
    assert not split, f"seed {seed}: one take logged with different items: {list(split.items())[:3]}"
    logged = collections.Counter(v for ((_, v),) in by_key.values())
    lost, twice = produced - logged, logged - produced
    print(f"exchange: {n} items, {kills} kills, {len(lines) - len(by_key)} effects re-ran; seed {seed}")
    assert not lost and not twice, (f"seed {seed}: {sum(lost.values())} items lost (e.g. {sorted(lost)[:5]}), "
                                    f"{sum(twice.values())} taken twice (e.g. {sorted(twice)[:5]})")
    # what each consumer kept is what the log says it took
    kept = collections.Counter(v for c in consumers for v in results[c])
    assert kept == produced, f"seed {seed}: the consumers' results are not the produced items"
    for idx, c in enumerate(consumers):
        assert sorted(results[c]) == sorted(v for ((w, v),) in by_key.values() if w == f"c{idx}"), f"seed {seed}"
    assert any_store.sql("SELECT count(*) FROM queue_items") == [(0,)], f"seed {seed}"
    assert statuses(any_store) == {"done": 1 + worker.PRODUCERS + worker.CONSUMERS}, f"seed {seed}"


def test_lock_holds_across_sigkill(tmp_path):
    seed = int(os.environ.get("DEEPSLATE_CRASH_SEED", "9"))
    rng = random.Random(seed)
    store, effects = str(tmp_path / "s.db"), str(tmp_path / "effects.txt")
    total = worker.ROUNDS * worker.HOLDERS * 2
    marks = sorted(rng.sample(range(1, total - total // 10), KILLS))
    kills = kill_at_marks(store, effects, "lock", marks, calls_logged(), rng, seed)
    results = run_to_end(store, effects, "lock")
    assert kills == KILLS, f"seed {seed}"
    assert results["lock"] == worker.ROUNDS * worker.HOLDERS, f"seed {seed}"
    lines = read_effects(effects)
    inside = None                         # the holder whose critical section is open
    for at, (who_phase, i, _) in enumerate(lines):
        who, phase = who_phase.split(":")
        # a re-run after a kill repeats the holder's own lines; nobody else may come in
        assert inside in (None, (who, i)), f"seed {seed}: line {at}: {who} {phase} round {i} while {inside} held the lock"
        inside = (who, i) if phase == "enter" else None
    done = collections.Counter((w, int(i)) for w, i, _ in lines)
    expected = {(f"w{w}:{p}", i) for w in range(worker.HOLDERS) for p in ("enter", "leave")
                for i in range(worker.ROUNDS)}
    assert set(done) == expected, f"seed {seed}"
    # only the holder has a call in flight and each kill waits for a new call, so a kill cuts
    # one call at most and no call twice
    assert max(done.values()) <= 2, f"seed {seed}: an effect ran more than twice"
    assert sum(done.values()) - len(done) <= kills, f"seed {seed}: more re-runs than kills"
    print(f"lock: {kills} kills, {len(lines) - len(expected)} effects re-ran; seed {seed}")
    assert statuses(store) == {"done": 1 + worker.HOLDERS}, f"seed {seed}"


@pytest.mark.parametrize("cancel", [False, True], ids=["failed", "cancelled"])
async def test_lock_of_a_failed_or_cancelled_holder_goes_to_the_next_waiter(tmp_path, cancel):
    from deepslate.runtime import Engine, FlowCancelled, FlowFailed
    from deepslate.store import SQLiteStore

    path, effects = str(tmp_path / "s.db"), str(tmp_path / "effects.txt")
    flows = [crashflows.orphaned_lock]

    async def until_waiting(eng, name):
        for _ in range(2000):
            if await eng.status(name) == "waiting":
                return
            await asyncio.sleep(0.005)
        raise AssertionError(f"{name} never waited for the lock")

    eng = Engine(SQLiteStore(path), flows, 2)
    try:
        await eng.start()
        await eng.spawn("o", "orphaned_lock", {"path": effects, "cancel": cancel})
        await until_waiting(eng, "o/2")                      # the waiter is blocked on the held lock
    finally:
        await eng.stop()
        eng.store.close()
    # a restart in between: the holder and the queue of waiters come back from the store
    eng = Engine(SQLiteStore(path), flows, 2)
    try:
        await eng.start()
        await until_waiting(eng, "o/2")
        holder = (await eng._db(eng.store.get_isolate, "o/1")).id
        assert list((await eng._db(eng.store.load_shared)).locks.values()) == [holder]
        assert not os.path.exists(effects)
        if cancel:
            assert await eng.cancel("o/1")
            with pytest.raises(FlowCancelled):
                await eng.wait("o/1", timeout=10)
        else:
            await eng.send("o/1", "POST", "/go", b"now")
            with pytest.raises(FlowFailed, match="the lock holder fails"):
                await eng.wait("o/1", timeout=10)
        assert await eng.wait("o/2", timeout=10) == 1        # the waiter got the lock
        assert await eng.wait("o", timeout=10) == 1
    finally:
        await eng.stop()
        eng.store.close()
    assert [(who, i) for who, i, _ in read_effects(effects)] == [("waiter", "1")]


def _stored(store):
    """name -> (status, program hash of the row, program hash inside its snapshot or None)."""
    from deepslate._vm import inspect_snapshot
    db = read_store(store)
    try:
        rows = db.execute("SELECT name, status, program_hash, snapshot FROM isolates").fetchall()
    finally:
        db.close()
    return {name: (status, bytes(h).hex(), inspect_snapshot(bytes(s))["program_hash"] if s is not None else None)
            for name, status, h, s in rows}


def test_isolates_finish_on_their_program_after_a_redeploy(tmp_path):
    store, effects = str(tmp_path / "s.db"), str(tmp_path / "effects.txt")
    old = [f"old{i}" for i in range(VERSION_ISOLATES)]
    new = [f"new{i}" for i in range(10)]
    errs, procs = [], []

    def start(version, spawn, wait):
        err = open(str(tmp_path / f"{version}-{len(errs)}.stderr"), "w+")
        errs.append(err)
        # the sleep outlasts the kill, so each isolate is caught mid-run, between two steps
        p = subprocess.Popen([sys.executable, VERSION_WORKER, os.path.join(HERE, f"version_{version}"), store,
                              effects, ",".join(spawn), ",".join(wait), "3.0"], stdout=subprocess.PIPE,
                             stderr=err, text=True, env=_env())
        procs.append(p)
        line = p.stdout.readline()
        assert line.startswith("HASH "), line + stderr(err)
        ready = p.stdout.readline()
        assert ready.startswith("READY"), ready + stderr(err)
        return p, line.split()[1]

    def stderr(err):
        err.flush()
        err.seek(0)
        return err.read()[-4000:]

    def kill_once_sleeping(p, names):
        deadline = time.monotonic() + 60
        while not all(_stored(store).get(w, ("",))[0] == "sleeping" for w in names):
            assert p.poll() is None and time.monotonic() < deadline, f"not all of them slept: {stderr(errs[-1])}"
            time.sleep(0.02)
        p.send_signal(signal.SIGKILL)
        p.communicate(timeout=30)
        mend(effects)
        log = stderr(errs[-1])
        assert "rror" not in log and "Traceback" not in log, log     # no mismatch, no failed load
        return _stored(store)

    try:
        p, h1 = start("h1", old, [])
        rows = kill_once_sleeping(p, old)
        assert {w: rows[w] for w in old} == {w: ("sleeping", h1, h1) for w in old}

        p, h2 = start("h2", new, old)                   # redeployed: same flow name, changed source
        assert h2 != h1
        rows = kill_once_sleeping(p, new)
        assert {w: rows[w] for w in new} == {w: ("sleeping", h2, h2) for w in new}, "a new spawn is not on H2"
        moved = {w: rows[w] for w in old if rows[w][1] != h1 or rows[w][2] not in (h1, None)}
        assert not moved, f"isolates moved off their program: {list(moved.items())[:3]}"

        p, _ = start("h2", new, old)
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0, stderr(errs[-1])
        log = stderr(errs[-1])
        assert "rror" not in log and "Traceback" not in log, log
    finally:
        for q in procs:                  # a worker left running by a failed assertion
            if q.poll() is None:
                q.kill()
                q.communicate(timeout=30)
        for e in errs:
            e.close()
    results = json.loads(next(x for x in out.splitlines() if x.startswith("RESULT "))[len("RESULT "):])
    assert {w: results[w] for w in old} == {w: "h1-end 6" for w in old}, "an old isolate ran other code"
    assert {w: results[w] for w in new} == {w: "h2-end 60" for w in new}
    rows = _stored(store)
    assert {w: rows[w][:2] for w in old + new} == {**{w: ("done", h1) for w in old}, **{w: ("done", h2) for w in new}}
    assert statuses(store) == {"done": len(old) + len(new)}
    tags = collections.defaultdict(set)
    for w, tag, _ in read_effects(effects):
        tags[w].add(tag)
    assert tags == {**{w: {"h1-start", "h1-end"} for w in old}, **{w: {"h2-start", "h2-end"} for w in new}}
    print(f"versions: {len(old)} isolates finished on {h1[:12]} after a redeploy to {h2[:12]}, "
          f"{len(new)} new spawns on it")
