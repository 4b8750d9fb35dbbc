"""One corrupt snapshot must not take down its neighbours (reliability target 16, the NATS lesson).

An Engine on a real SQLite store runs many isolates of one flow. Each first waits on
``http_listen``; the engine is stopped there, the stored snapshot rows of some "victims" are
damaged in the database file (a flipped bit, a truncation, another program's hash under a valid
checksum, random bytes, an empty blob), every isolate gets its message in the inbox, and a new
Engine starts on the store. Each victim must end ``failed`` with a message naming the snapshot
and the decoder's reason; every other isolate must finish with the right result, at a throughput
close to a baseline run of the same store without victims, measured in the same test.

Sizes: ``DEEPSLATE_NEIGHBOURS`` healthy isolates (default 100) of ``DEEPSLATE_NEIGHBOUR_STEPS``
durable steps each (default 300); ``DEEPSLATE_NEIGHBOURS_SEED`` (default 20261130) picks the
victims' damage.
"""
from __future__ import annotations

import asyncio
import os
import random
import re
import sqlite3
import sys
import time

import pytest

from deepslate import DSError, FlowFailed, flow, http_listen, sleep

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "snapshot"))
from snapshot_support import seal, split  # noqa: E402  (the documented header, written by hand)

pytestmark = pytest.mark.timeout(120)

HEALTHY = int(os.environ.get("DEEPSLATE_NEIGHBOURS", "100"))
STEPS = int(os.environ.get("DEEPSLATE_NEIGHBOUR_STEPS", "300"))
SEED = int(os.environ.get("DEEPSLATE_NEIGHBOURS_SEED", "20261130"))
# the loose floor asserted on a shared 2-core machine; RELIABILITY's 90 % is printed as measured
FLOOR = 0.5


@flow
async def worker(n: int) -> int:
    go: bytes | DSError = http_listen("POST", "/go")
    total: int = 0
    for i in range(n):
        sleep(0.0)
        total = total + i * i
    return total


def _reseal_with_hash(snap: bytes, other: bytes) -> bytes:
    """The same body under another program's hash, with a valid length and checksum."""
    parts = split(snap)
    assert parts["magic"] == b"DSNP" and parts["version"] == 1
    return seal(b"DSNP", 1, parts["body"], other)


FORMAT = r"(SnapshotFormatError|TrailingDataError): "


def damage(kind: str, snap: bytes, rng: random.Random) -> tuple[bytes, str]:
    """A damaged copy of ``snap`` and a pattern of the message its decoding gives."""
    if kind == "bit-flip":
        bad = bytearray(snap)
        bit = rng.randrange(8 * 40, 8 * len(snap))      # past the magic, version and hash
        bad[bit // 8] ^= 1 << (bit % 8)
        return bytes(bad), "SnapshotFormatError: corrupted snapshot: checksum mismatch"
    if kind == "truncated":
        return snap[:rng.randrange(1, len(snap))], "SnapshotFormatError: truncated snapshot"
    if kind == "wrong-program":
        return _reseal_with_hash(snap, rng.randbytes(32)), "SnapshotProgramError: snapshot belongs to program"
    if kind == "random-bytes":
        return b"DSNP\x01" + rng.randbytes(len(snap)), FORMAT
    assert kind == "empty"
    return b"", "SnapshotFormatError: truncated snapshot"


VICTIM_KINDS = ["bit-flip", "truncated", "wrong-program", "random-bytes", "empty"]


async def _prepare(path: str, victims: int) -> dict[str, str]:
    """Spawn everyone, let each reach http_listen, stop; damage the victims' rows and fill the
    inbox. Returns victim name -> expected message fragment."""
    from deepslate import Engine
    from deepslate.store import SQLiteStore

    eng = Engine(SQLiteStore(path), [worker], 4)
    names = [f"ok{i}" for i in range(HEALTHY)] + [f"victim{i}" for i in range(victims)]
    try:
        await eng.start()
        for name in names:
            await eng.spawn(name, "worker", {"n": STEPS})
        deadline = time.monotonic() + 30
        while _count(path, "waiting") < len(names):
            assert time.monotonic() < deadline, "isolates did not all reach http_listen"
            await asyncio.sleep(0.02)
    finally:
        await eng.stop()
        eng.store.close()
    rng = random.Random(SEED)
    expect = {}
    db = sqlite3.connect(path)
    try:
        with db:
            for i in range(victims):
                name = f"victim{i}"
                (snap,) = db.execute("SELECT snapshot FROM isolates WHERE name = ?", (name,)).fetchone()
                bad, why = damage(VICTIM_KINDS[i % len(VICTIM_KINDS)], bytes(snap), rng)
                db.execute("UPDATE isolates SET snapshot = ? WHERE name = ?", (bad, name))
                expect[name] = why
    finally:
        db.close()
    store = SQLiteStore(path)
    try:
        for name in names:
            store.inbox_put(store.get_isolate(name).id, "POST", "/go", b"go")
    finally:
        store.close()
    return expect


def _count(path: str, status: str) -> int:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT count(*) FROM isolates WHERE status = ?", (status,)).fetchone()[0]
    finally:
        db.close()


async def _run(path: str, expect: dict[str, str]) -> float:
    """Start an engine on the prepared store; check every outcome; the healthy isolates' steps/s."""
    from deepslate import Engine
    from deepslate.store import SQLiteStore

    want = sum(i * i for i in range(STEPS))
    t0 = time.perf_counter()
    eng = Engine(SQLiteStore(path), [worker], 4)
    try:
        await eng.start()
        results = await asyncio.gather(*(eng.wait(f"ok{i}", timeout=60) for i in range(HEALTHY)))
        elapsed = time.perf_counter() - t0
        assert results == [want] * HEALTHY
        for name, why in expect.items():
            with pytest.raises(FlowFailed) as e:
                await eng.wait(name, timeout=10)
            text = str(e.value)
            assert re.search("cannot resume from the stored snapshot: " + why, text), (name, text)
            assert await eng.status(name) == "failed"
    finally:
        await eng.stop()
        eng.store.close()
    assert _count(path, "done") == HEALTHY and _count(path, "failed") == len(expect)
    return HEALTHY * STEPS / elapsed


async def test_a_corrupt_snapshot_fails_only_its_isolate(tmp_path) -> None:
    # alternate baseline and damaged runs and keep the best of each, so that a burst of load
    # from elsewhere on the machine lands on one sample rather than on the ratio
    best = {"baseline": 0.0, "corrupt": 0.0}
    for rep in range(3):
        for which, victims in (("baseline", 0), ("corrupt", len(VICTIM_KINDS))):
            path = str(tmp_path / f"{which}{rep}.db")
            expect = await _prepare(path, victims)
            best[which] = max(best[which], await _run(path, expect))
    ratio = best["corrupt"] / best["baseline"]
    print(f"\nneighbours of {len(VICTIM_KINDS)} corrupt snapshots: {best['corrupt']:.0f} steps/s vs "
          f"baseline {best['baseline']:.0f} steps/s = {ratio:.0%} ({HEALTHY} isolates x {STEPS} steps, "
          f"seed {SEED})")
    assert ratio >= FLOOR, f"neighbours ran at {ratio:.0%} of the baseline throughput (seed {SEED})"


async def test_damage_kinds_give_their_errors() -> None:
    # the expectations above rest on these: each kind of damage meets the decoder's named error
    from deepslate import SnapshotError
    from deepslate._snapshot import decode_snapshot, encode_snapshot

    program = worker.program
    snap = encode_snapshot(program.hash, ([(program.entry, 0, [5] + [None] * (program.codes[0].n_o - 1),
                                            [0] * program.codes[0].n_i, [0.0] * program.codes[0].n_f)],
                                          False, 0))
    rng = random.Random(SEED)
    for kind in VICTIM_KINDS:
        bad, why = damage(kind, snap, rng)
        with pytest.raises(SnapshotError) as e:
            decode_snapshot(bad, program)
        assert re.match(why, f"{type(e.value).__name__}: {e.value}"), (kind, e.value)
