"""Runtime figures in one run: deepslate on SQLite and on PostgreSQL, beside DBOS Transact on SQLite.

    .venv/bin/python benchmarks/runtime_table.py [--quick] [--big] [--dbos-python PATH] [--pg URL | --no-pg]

Columns: durable steps per second with 1, 100 and 1000 concurrent isolates (median of three
runs; DBOS one run, it takes much longer), and with 100 isolates whose each step is an
@impure call returning a list (the engine copies it into the flow); single-isolate
step latency p50/p99; time to resume an isolate parked after N steps and the bytes it
occupies, for N = 100, 10 000 (and 1 000 000 with --big). A resume is timed from opening
the store to the isolate's next step being durable (median of 5, each on a fresh copy):
it includes the fsyncs of the lease claim and of that step, which dominate on a busy
disk; the row below it is the CPU part alone (read, decode, restore the VM). DBOS runs in its own processes
(benchmarks/dbos_side.py) with the Python given by --dbos-python or $DEEPSLATE_DBOS_PYTHON,
or this one when it can import dbos; without one its column says so.

The PostgreSQL column runs the throughput, latency and spawn rows on the server at --pg
(default $DEEPSLATE_TEST_PG, else postgresql://postgres@127.0.0.1:5432/postgres), each run in a
schema of its own, dropped after; the server keeps its settings (synchronous_commit on: each
batch is flushed to its WAL before it counts). Spawns per second: 2 000 isolates spawned at
once (each spawn is durable before it returns), each running a flow that returns at once.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import benchflows  # noqa: E402
from deepslate.runtime import Engine  # noqa: E402
from deepslate.store import SQLiteStore, Store  # noqa: E402

FLOWS = [benchflows.steps, benchflows.stamped, benchflows.park, benchflows.fetched]
PG_DEFAULT = os.environ.get("DEEPSLATE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


class Where:
    """Fresh stores of one kind: an SQLite file in ``tmp`` per call, or a PostgreSQL schema."""

    def __init__(self, tmp: str, pg_url: str | None = None):
        self.tmp, self.pg_url = tmp, pg_url
        self.made: list[str] = []

    def fresh(self, tag: str) -> Callable[[], Store]:
        """A maker of the store named ``tag`` (call it again: the same store, reopened)."""
        if self.pg_url is None:
            path = os.path.join(self.tmp, f"{tag}.db")
            return lambda: SQLiteStore(path)
        from deepslate.store import PostgresStore
        schema = f"bench_{os.getpid()}_{len(self.made)}"
        self.made.append(schema)
        url = self.pg_url
        return lambda: PostgresStore(url, schema=schema)

    def drop(self) -> None:
        if self.pg_url is None or not self.made:
            return
        import psycopg
        with psycopg.connect(self.pg_url, autocommit=True) as conn:
            for schema in self.made:
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


async def throughput(make: Callable[[], Store], isolates: int, steps: int, flow: str = "steps") -> float:
    """Durable steps per second of ``isolates`` running ``flow(steps)`` (``steps``: a sleep(0)
    per step; ``fetched``: an @impure call returning a 10-item list, which is copied)."""
    eng = await Engine(make(), FLOWS, 4).start()
    t = time.perf_counter()
    await asyncio.gather(*(eng.spawn(f"t{i}", flow, {"n": steps}) for i in range(isolates)))
    await asyncio.gather(*(eng.wait(f"t{i}") for i in range(isolates)))
    dt = time.perf_counter() - t
    await eng.stop()
    eng.store.close()
    return isolates * steps / dt


async def spawns(make: Callable[[], Store], n: int) -> float:
    """Spawns per second: ``n`` spawns at once, each durable before it returns."""
    eng = await Engine(make(), FLOWS, 4).start()
    t = time.perf_counter()
    await asyncio.gather(*(eng.spawn(f"s{i}", "steps", {"n": 0}) for i in range(n)))
    dt = time.perf_counter() - t
    await asyncio.gather(*(eng.wait(f"s{i}") for i in range(n)))
    await eng.stop()
    eng.store.close()
    return n / dt


async def latency(make: Callable[[], Store], steps: int) -> tuple[float, float]:
    benchflows.STAMPS.clear()
    eng = await Engine(make(), FLOWS, 1).start()
    await eng.spawn("lat", "stamped", {"n": steps})
    await eng.wait("lat")
    await eng.stop()
    eng.store.close()
    d = sorted(b - a for a, b in zip(benchflows.STAMPS, benchflows.STAMPS[1:]))
    return d[len(d) // 2], d[int(len(d) * 0.99)]


async def build_parked(path: str, n: int) -> None:
    """Run park(n) until it sleeps for an hour after n steps (synchronous=NORMAL: the build is
    not what is measured), then close the store, which checkpoints and removes the WAL."""
    eng = await Engine(SQLiteStore(path, synchronous="NORMAL"), FLOWS, 1).start()
    await eng.spawn("p", "park", {"n": n})
    while True:
        r = eng.store.get_isolate("p")
        if r.wake_at is not None and r.steps > n:
            break
        await asyncio.sleep(0.05)
    await eng.stop()
    eng.store.close()


async def resume_once(path: str) -> tuple[float, int, int]:
    db = sqlite3.connect(path)
    db.execute("UPDATE isolates SET wake_at = 0 WHERE name = 'p'")     # the timer is overdue now
    db.commit()
    db.close()
    t = time.perf_counter()
    eng = await Engine(SQLiteStore(path), FLOWS, 1).start()
    await eng.wait("p")
    dt = time.perf_counter() - t
    row = eng.store.get_isolate("p")
    await eng.stop()
    eng.store.close()
    return dt, row.steps, SQLiteStore(path).storage_bytes(row.id)


def restore_cost(path: str, trials: int = 200) -> float:
    """Median seconds to rebuild the parked isolate's VM from its stored row (read, decode,
    VM.from_state): the part of a resume that is not the disk's fsync."""
    from deepslate import _vm
    store = SQLiteStore(path, readonly=True)
    program = benchflows.park.program
    times = []
    for _ in range(trials):
        t = time.perf_counter()
        row = store.get_isolate("p")
        vm = _vm.VM.from_state(program, _vm.decode_snapshot(row.snapshot, program))
        vm.pending()
        times.append(time.perf_counter() - t)
    store.close()
    return statistics.median(times)


async def resume(path: str, trials: int = 1) -> tuple[float, int, int]:
    """Open the store and run the parked isolate's next step to its end: the median of
    ``trials`` runs, each on a fresh copy of the built store; bytes are measured before."""
    store = SQLiteStore(path)
    size = store.storage_bytes(store.get_isolate("p").id)
    store.close()
    times = []
    steps = 0
    for i in range(trials):
        copy = f"{path}.try{i}"
        shutil.copyfile(path, copy)
        dt, steps, _ = await resume_once(copy)
        times.append(dt)
    return statistics.median(times), steps, size


def dbos_python(arg: str | None) -> str | None:
    for cand in (arg, os.environ.get("DEEPSLATE_DBOS_PYTHON")):
        if cand:
            return cand
    try:
        import dbos  # noqa: F401
        return sys.executable
    except ImportError:
        return None


def dbos(py: str, tmp: str, *args: str) -> dict:
    db = os.path.join(tmp, f"dbos-{'-'.join(args)}.sqlite")
    if args[0] in ("build", "resume"):
        db = os.path.join(tmp, f"dbos-park-{args[1]}.sqlite")
    out = subprocess.run([py, os.path.join(HERE, "dbos_side.py"), args[0], db, *args[1:]],
                         capture_output=True, text=True, timeout=3600)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if args[0] == "build":
        return {}
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"dbos_side {args} failed: {out.stderr[-2000:]}")
    return json.loads(lines[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller workloads, no DBOS N=10 000")
    ap.add_argument("--big", action="store_true", help="also N = 1 000 000 (minutes)")
    ap.add_argument("--dbos-python", help="a Python that can import dbos")
    ap.add_argument("--pg", default=PG_DEFAULT, help="the PostgreSQL server for the PostgreSQL column")
    ap.add_argument("--no-pg", action="store_true", help="leave the PostgreSQL column out")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="deepslate-bench-")
    py = dbos_python(a.dbos_python)
    lite = Where(tmp)
    pg = None if a.no_pg else Where(tmp, a.pg)
    rows: list[tuple[str, str, str, str, str]] = []

    def ratio(x: float, y: float | None) -> str:
        return f"{x / y:.1f}x" if y else "-"

    def both(fn: Callable[[Where, int], float]) -> tuple[float, float | None]:
        """The median of three runs on SQLite (the disk's fsync time varies a lot on a shared
        machine) and of three on PostgreSQL."""
        ours = statistics.median(fn(lite, r) for r in range(3))
        theirs = statistics.median(fn(pg, r) for r in range(3)) if pg else None
        return ours, theirs

    def fmt(x: float | None, unit: str = "") -> str:
        return "n/a" if x is None else f"{x:,.0f}{unit}"

    try:
        shapes = [(1, 2000 if a.quick else 5000, 200), (100, 50 if a.quick else 100, 5),
                  (1000, 10 if a.quick else 20, 2)]
        for k, m, dm in shapes:
            lt, pt = both(lambda w, r: asyncio.run(throughput(w.fresh(f"t{k}-{r}"), k, m)))
            theirs = dbos(py, tmp, "throughput", str(k), str(dm))["steps_per_s"] if py else None
            rows.append((f"durable steps/s, {k} isolate{'s' if k > 1 else ''}", fmt(lt), fmt(pt),
                         fmt(theirs), ratio(lt, theirs)))
        lt, pt = both(lambda w, r: asyncio.run(throughput(w.fresh(f"f-{r}"), 100, 50 if a.quick else 100,
                                                          flow="fetched")))
        rows.append(("durable steps/s, 100 isolates, @impure returning a list", fmt(lt), fmt(pt), "", ""))
        n_spawn = 500 if a.quick else 2000
        lt, pt = both(lambda w, r: asyncio.run(spawns(w.fresh(f"s-{r}"), n_spawn)))
        rows.append((f"spawns/s, {n_spawn:,} at once", fmt(lt), fmt(pt), "", ""))
        n_lat = 500 if a.quick else 2000
        lats = sorted(asyncio.run(latency(lite.fresh(f"lat{r}"), n_lat)) for r in range(3))
        plats = sorted(asyncio.run(latency(pg.fresh(f"lat{r}"), n_lat)) for r in range(3)) if pg else None
        for label, i in (("p50", 0), ("p99", 1)):
            rows.append((f"single-isolate step latency {label}", f"{lats[1][i] * 1e3:.3f} ms",
                         f"{plats[1][i] * 1e3:.3f} ms" if plats else "n/a", "", ""))
        ns = [100, 10_000] + ([1_000_000] if a.big else [])
        for n in ns:
            path = os.path.join(tmp, f"park{n}.db")
            t = time.perf_counter()
            asyncio.run(build_parked(path, n))
            build = time.perf_counter() - t
            restore = restore_cost(path)
            dt, steps, size = asyncio.run(resume(path, 5))
            theirs_t = theirs_b = None
            if py and (n <= 100 or (n <= 10_000 and not a.quick)):
                dbos(py, tmp, "build", str(n))
                d = dbos(py, tmp, "resume", str(n))
                theirs_t, theirs_b = d["resume_s"], d["bytes"]
            rows.append((f"resume after N={n:,} steps", f"{dt * 1e3:.1f} ms", "-",
                         f"{theirs_t * 1e3:,.0f} ms" if theirs_t else "n/a",
                         ratio(theirs_t or 0, dt) if theirs_t else "-"))
            rows.append(("  of which row read + snapshot decode + VM restore", f"{restore * 1e6:.0f} us", "-", "", ""))
            rows.append((f"bytes stored, N={n:,} (isolate / DBOS file)", f"{size:,}", "-",
                         f"{theirs_b:,}" if theirs_b else "n/a", ""))
            print(f"  (built N={n:,} in {build:.1f} s; {steps:,} durable steps committed)", file=sys.stderr)
    finally:
        if pg is not None:
            pg.drop()
    w = max(len(r[0]) for r in rows)
    print(f"{'workload':<{w}}  {'SQLite':>12}  {'PostgreSQL':>12}  {'DBOS (SQLite)':>14}  {'SQLite/DBOS':>11}")
    print("-" * (w + 59))
    for r in rows:
        print(f"{r[0]:<{w}}  {r[1]:>12}  {r[2]:>12}  {r[3]:>14}  {r[4]:>11}")
    if not py:
        print("DBOS Transact: not installed (pip install -e '.[bench]' or pass --dbos-python)")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
