"""Shared pieces of the crash-point tests: the zygote client, a recording HTTP server,
and the history checks (RELIABILITY target 1's invariants)."""
import collections
import json
import os
import sqlite3
import subprocess
import sys

from aiohttp import web

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pointworker  # noqa: E402
from threadserver import ThreadServer  # noqa: E402


class PointZygote:
    """pointworker.py: each job is a fresh forked worker."""

    def __init__(self):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
        env.pop("DEEPSLATE_FAULTS", None)
        self.p = subprocess.Popen([sys.executable, os.path.join(HERE, "pointworker.py")], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        line = self.p.stdout.readline()
        assert line.strip() == "ZYGOTE", line + self.p.stderr.read()

    def run(self, **job):
        """Run one job to its end; (exit status, output lines)."""
        self.p.stdin.write(json.dumps(job) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        assert line.startswith("PID "), line
        out = []
        while True:
            line = self.p.stdout.readline()
            assert line, "the zygote died"
            if line.startswith("EXIT "):
                return int(line.split()[1]), out
            out.append(line.rstrip("\n"))

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=30)


class Recorder(ThreadServer):
    """An aiohttp server on 127.0.0.1 that records every request's (who, call, Idempotency-Key)."""

    def __init__(self):
        self.seen = []
        super().__init__("POST", "/rec", self._rec)

    async def _rec(self, request):
        await request.read()
        h = request.headers
        self.seen.append((h.get("X-Who"), int(h.get("X-Call", "-1")), h.get("Idempotency-Key")))
        return web.Response(body=b"ok")


def read_effects(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.split() for line in f if line.strip()]


def check_history(mode, store, effects, results, crashes, recorder=None):
    """Target 1's invariants on the whole history of one scenario."""
    assert results == pointworker.expected(mode), f"{mode}: wrong results {results}"
    lines = read_effects(effects)
    runs = collections.Counter()
    keys = collections.defaultdict(set)
    bodies = collections.defaultdict(set)
    for who, i, key, *extra in lines:
        if mode == "queue":
            who = who.rsplit(".c", 1)[0] + ".c*"
        runs[(who, int(i))] += 1
        keys[(who, int(i))].add(key)
        if extra:
            bodies[(who, int(i))].add(extra[0])
    want = pointworker.expected_calls(mode)
    if mode != "http_listen":       # a resent message after a lost acknowledgement adds a delivery
        assert set(runs) == want, f"{mode}: calls lost {sorted(want - set(runs))} extra {sorted(set(runs) - want)}"
    else:
        assert want <= set(runs), f"{mode}: deliveries lost {sorted(want - set(runs))}"
    assert max(runs.values()) <= 1 + crashes, f"{mode}: an effect ran more often than 1 + {crashes} crashes"
    assert all(len(k) == 1 for k in keys.values()), f"{mode}: a re-run got another idempotency key"
    assert len({next(iter(k)) for k in keys.values()}) == len(keys), f"{mode}: two calls share a key"
    if mode == "queue":
        takers = collections.defaultdict(set)         # (pipeline, item) -> the consumers that took it
        for who, i, *_ in lines:
            takers[(who.rsplit(".c", 1)[0], int(i))].add(who)
        assert all(len(t) == 1 for t in takers.values()), f"queue: an item went to two consumers {takers}"
    if mode == "http_listen":
        check_deliveries(effects, bodies)
    if recorder is not None:
        check_http_keys(recorder.seen, want, crashes, keys)
    db = sqlite3.connect(store)
    try:
        statuses = db.execute("SELECT status, count(*) FROM isolates GROUP BY status").fetchall()
    finally:
        db.close()
    assert statuses == [("done", len(results))], f"{mode}: isolates not all done: {statuses}"


def check_deliveries(effects, bodies):
    """Every acknowledged message was delivered exactly once; a message sent twice (its first
    acknowledgement lost) at most once per send."""
    acked = collections.Counter(tuple(x) for x in read_effects(effects + ".acks"))
    sent = collections.Counter(tuple(x) for x in read_effects(effects + ".sends"))
    delivered = collections.Counter()
    for (who, i), b in bodies.items():
        assert len(b) == 1, f"http_listen: delivery {who} {i} saw different bodies {b}"
        delivered[(who, next(iter(b)))] += 1
    for msg, n in sent.items():
        assert msg in acked, f"http_listen: {msg} never acknowledged"
        assert 1 <= delivered[msg] <= n, f"http_listen: {msg} sent {n} times, delivered {delivered[msg]}"
        if n == 1:
            assert delivered[msg] == 1


def check_http_keys(seen, want, crashes, keys):
    """Every http_request reached the server; every resend carries the same Idempotency-Key,
    one distinct key per call."""
    by_call = collections.defaultdict(list)
    for who, i, key in seen:
        by_call[(who, i)].append(key)
    assert set(by_call) == want, f"http_request: calls missing at the server {sorted(want - set(by_call))}"
    for c, ks in by_call.items():
        assert len(set(ks)) == 1, f"http_request {c}: resends carried different keys {ks}"
        assert ks[0], f"http_request {c}: no Idempotency-Key header"
        assert len(ks) <= 1 + crashes, f"http_request {c}: sent {len(ks)} times with {crashes} crashes"
    assert len({ks[0] for ks in by_call.values()}) == len(by_call), "http_request: two calls share a key"
