"""Real processes, SIGKILLed at random moments and restarted on the same store (steps, a queue
pipeline between isolates, a lock several isolates contend for).

The flows' @impure effects append to a file outside the store, so the test sees
what really ran: every step happened (none lost), no effect ran more than once
plus the number of kills, the results are right, and items passed through a
queue between isolates are neither lost nor duplicated. DEEPSLATE_CRASH_KILLS
raises the number of kills (default 20) for a heavier run.
"""
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
KILLS = int(os.environ.get("DEEPSLATE_CRASH_KILLS", "20"))
sys.path.insert(0, HERE)
import worker  # noqa: E402

pytestmark = pytest.mark.timeout(600)


class Zygote:
    """worker.py in zygote mode: each fork() is a new worker process, SIGKILLed by the test."""

    def __init__(self, store, effects, mode):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
        self.p = subprocess.Popen([sys.executable, WORKER, "zygote", store, effects, mode], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        assert self.p.stdout.readline().strip() == "ZYGOTE", self.p.stderr.read()

    def fork(self):
        self.p.stdin.write("fork\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        assert line.startswith("PID "), line + self.p.stderr.read()
        return int(line.split()[1])

    def lines_until_exit(self):
        """The worker's output lines and its exit status."""
        out = []
        while True:
            line = self.p.stdout.readline()
            assert line, self.p.stderr.read()
            if line.startswith("EXIT "):
                return out, int(line.split()[1])
            out.append(line.rstrip("\n"))

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=30)


def kill_at_random(z, rng):
    pid = z.fork()
    if rng.random() < 0.25:
        time.sleep(rng.uniform(0.0, 0.05))         # during start-up and recovery
    else:
        line = z.p.stdout.readline()
        assert line.startswith("READY"), line + z.p.stderr.read()
        time.sleep(rng.uniform(0.0, 0.15))         # while steps commit
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass                                       # it finished on its own
    out, status = z.lines_until_exit()
    assert status in (-signal.SIGKILL, 0), "\n".join(out)
    return status


def kill_many(store, effects, mode, rng):
    z = Zygote(store, effects, mode)
    kills = 0
    try:
        for _ in range(2 * KILLS):
            kills += kill_at_random(z, rng) == -signal.SIGKILL
            if kills == KILLS:
                break
    finally:
        z.close()
    assert kills == KILLS, f"the flows finished after {kills} kills; give the worker more work"
    return kills


def run_to_end(store, effects, mode):
    """A last worker, a fresh interpreter this time, runs everything to its end."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    p = subprocess.Popen([sys.executable, WORKER, store, effects, mode], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    result = [ln for ln in out.splitlines() if ln.startswith("RESULT ")]
    assert result, out + err
    return json.loads(result[0][len("RESULT "):])


def read_effects(path):
    with open(path) as f:
        return [tuple(line.split()) for line in f if line.strip()]


def test_steps_survive_sigkill(tmp_path):
    rng = random.Random(int(os.environ.get("DEEPSLATE_CRASH_SEED", "4")))
    store, effects = str(tmp_path / "s.db"), str(tmp_path / "effects.txt")
    kills = kill_many(store, effects, "steps", rng)
    results = run_to_end(store, effects, "steps")
    n = worker.STEPS
    assert results == {f"s{i}": sum(range(n)) for i in range(worker.ISOLATES)}
    lines = read_effects(effects)
    runs = collections.Counter((who, int(i)) for who, i, _ in lines)
    keys = collections.defaultdict(set)
    for who, i, key in lines:
        keys[(who, int(i))].add(key)
    expected = {(f"s{k}", i) for k in range(worker.ISOLATES) for i in range(n)}
    print(f"steps: {kills} kills, {len(lines) - len(expected)} effects re-ran")
    assert set(runs) == expected                               # no step lost
    assert max(runs.values()) <= 1 + kills                     # at most once plus the kills
    assert len(lines) - len(expected) <= kills * worker.ISOLATES
    assert all(len(k) == 1 for k in keys.values())             # a re-run sees the same idempotency key
    assert len({next(iter(k)) for k in keys.values()}) == len(expected)
    db = sqlite3.connect(store)
    assert db.execute("SELECT DISTINCT status FROM isolates").fetchall() == [("done",)]
    db.close()


def test_queue_items_survive_sigkill(tmp_path):
    rng = random.Random(int(os.environ.get("DEEPSLATE_CRASH_SEED", "7")))
    store, effects = str(tmp_path / "s.db"), str(tmp_path / "effects.txt")
    kills = kill_many(store, effects, "queue", rng)
    results = run_to_end(store, effects, "queue")
    assert results["pipe"] == worker.ITEMS
    lines = read_effects(effects)
    got = collections.Counter(int(i) for _, i, _ in lines)
    print(f"queue: {kills} kills, {len(lines) - worker.ITEMS} effects re-ran")
    assert set(got) == set(range(worker.ITEMS))                # no item lost
    assert max(got.values()) <= 1 + kills                      # re-runs only from kills
    per_consumer = collections.defaultdict(set)
    for who, i, _ in lines:
        per_consumer[who].add(int(i))
    # each item went to exactly one consumer (its take committed once), each took its share
    assert sum(len(s) for s in per_consumer.values()) == worker.ITEMS
    assert sorted(len(s) for s in per_consumer.values()) == [worker.ITEMS // worker.CONSUMERS] * worker.CONSUMERS
    db = sqlite3.connect(store)
    assert db.execute("SELECT count(*) FROM queue_items").fetchone()[0] == 0
    assert db.execute("SELECT DISTINCT status FROM isolates").fetchall() == [("done",)]
    db.close()


def test_lock_holds_across_sigkill(tmp_path):
    rng = random.Random(int(os.environ.get("DEEPSLATE_CRASH_SEED", "9")))
    store, effects = str(tmp_path / "s.db"), str(tmp_path / "effects.txt")
    kills = kill_many(store, effects, "lock", rng)
    results = run_to_end(store, effects, "lock")
    assert results["lock"] == worker.ROUNDS * worker.HOLDERS
    lines = read_effects(effects)
    inside = None                         # the worker whose critical section is open
    for who_phase, i, _ in lines:
        who, phase = who_phase.split(":")
        if phase == "enter":
            # a re-run after a kill repeats the holder's own lines; nobody else may come in
            assert inside in (None, (who, i)), f"{who} entered round {i} while {inside} held the lock"
            inside = (who, i)
        else:
            assert inside in (None, (who, i)), f"{who} left round {i} while {inside} held the lock"
            inside = None
    done = collections.Counter((w, int(i)) for w, i, _ in lines)
    expected = {(f"w{w}:{p}", i) for w in range(worker.HOLDERS) for p in ("enter", "leave")
                for i in range(worker.ROUNDS)}
    assert set(done) == expected
    assert max(done.values()) <= 1 + kills
    print(f"lock: {kills} kills, {len(lines) - len(expected)} effects re-ran")
