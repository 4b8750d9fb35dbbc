"""Idempotency-key stability across SIGKILLs (RELIABILITY target 3).

A worker whose flows alternate an ``http_request`` to a recording aiohttp server on
127.0.0.1 and an @impure call is SIGKILLed at random moments (the harness of
test_crash.py, DEEPSLATE_CRASH_KILLS kills, seed from DEEPSLATE_CRASH_SEED) and
restarted, then run to its end. Across the whole history: exactly one distinct key per
@impure call_index, every resend of an http_request carries the same Idempotency-Key
header, and no two calls share a key.
"""
import collections
import os
import random
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import worker  # noqa: E402
from pointharness import Recorder  # noqa: E402
from test_crash import kill_many, read_effects, run_to_end  # noqa: E402

pytestmark = pytest.mark.timeout(600)


def test_keys_stable_across_sigkills(tmp_path, monkeypatch):
    seed = int(os.environ.get("DEEPSLATE_CRASH_SEED", "11"))
    rng = random.Random(seed)
    rec = Recorder()
    monkeypatch.setenv("DEEPSLATE_CRASH_URL", rec.url)
    store, effects = str(tmp_path / "s.db"), str(tmp_path / "effects.txt")
    try:
        kills = kill_many(store, effects, "http", rng)
        results = run_to_end(store, effects, "http")
    finally:
        rec.close()
    n = worker.HTTP_STEPS
    names = [f"h{i}" for i in range(worker.HTTP_ISOLATES)]
    assert results == {h: sum(range(n)) for h in names}, f"seed {seed}"
    want = {(h, i) for h in names for i in range(n)}

    # @impure: one key per call_index, whatever the number of re-runs
    impure_keys = collections.defaultdict(set)
    for who, i, key in read_effects(effects):
        impure_keys[(who, int(i))].add(key)
    assert set(impure_keys) == want, f"seed {seed}: calls lost"
    split = {c: k for c, k in impure_keys.items() if len(k) != 1}
    assert not split, f"seed {seed}: {len(split)} @impure calls saw more than one key, e.g. {list(split.items())[:3]}"

    # http_request: the same Idempotency-Key header on every resend
    headers = collections.defaultdict(list)
    for who, i, key in rec.seen:
        headers[(who, i)].append(key)
    assert set(headers) == want, f"seed {seed}: requests never reached the server"
    assert all(k[0] for k in headers.values()), "a request without an Idempotency-Key header"
    split = {c: k for c, k in headers.items() if len(set(k)) != 1}
    assert not split, f"seed {seed}: resends with different Idempotency-Keys, e.g. {list(split.items())[:3]}"
    resent = sum(len(k) - 1 for k in headers.values())
    assert max(len(k) for k in headers.values()) <= 1 + kills

    every = [next(iter(k)) for k in impure_keys.values()] + [k[0] for k in headers.values()]
    assert len(set(every)) == len(every), f"seed {seed}: two calls share a key"
    print(f"idempotency keys: {kills} kills, {len(want)} http calls ({resent} resends), {len(every)} keys stable")
