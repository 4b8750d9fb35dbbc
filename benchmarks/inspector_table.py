"""The inspector over a store of 100 000 isolates: list and detail latency over real HTTP.

    .venv/bin/python benchmarks/inspector_table.py [--isolates N] [--requests R] [--store PATH]

The store is filled through the store's own commit path (``commit_batch``, 5 000 isolates per
transaction) with snapshots the interpreter made for four flows (benchmarks/inspectorflows.py),
in six statuses, with logs, results and errors; then the rows' ``updated_at`` are spread over
the last day (one UPDATE: a filled store would otherwise hold a few batch times only). An
inspector serves it from its own thread (as ``deepslate inspector`` does) and this process
asks it over HTTP, one request at a time: p50 / p95 / p99 per kind of request.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
import urllib.parse
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import inspectorflows as flows  # noqa: E402
from deepslate import _vm  # noqa: E402
from deepslate.program import serial  # noqa: E402
from deepslate.inspector import Inspector, StoreRequestActions  # noqa: E402
from deepslate.inspector.api import encode_cursor  # noqa: E402
from deepslate.store.base import Commit, IsolateRow, ProgramPut  # noqa: E402
from deepslate.store.sqlite import SQLiteStore  # noqa: E402

BATCH = 5000
# (status, share): most isolates wait for something, a third have finished
STATUSES = [("sleeping", 0.40), ("waiting", 0.20), ("running", 0.05), ("done", 0.30), ("failed", 0.03),
            ("cancelled", 0.02)]


def _snapshots(rng: random.Random) -> dict[str, list[tuple[bytes, Any]]]:
    """A few real snapshots per flow, each with the effect it stopped at."""
    made: dict[str, list[tuple[bytes, Any]]] = {}
    for fl, argsets in (
            (flows.counter, [[i] for i in (0, 7, 1000)]),
            (flows.order, [["ann", [flows.Line("tea", 2, 350)] * k] for k in (1, 3, 8)]),
            (flows.digest, [[["alpha", "beta", "gamma", "delta"][:k], 5] for k in (1, 2, 4)]),
            (flows.reminder, [["bob", 5.0], ["<carol>", 3600.0]])):
        p = fl.program
        out = made.setdefault(fl.name, [])
        for args in argsets:
            vm = _vm.VM(p, p.entry, tuple(args))
            eff = vm.run()
            for _ in range(rng.randrange(0, 4) if eff[0].kind == "sleep" else 0):
                vm.resume(None)
                eff = vm.run()
            out.append((_vm.encode_snapshot(p.hash, vm.export_state()), eff))
    return made


def fill(path: str, n: int, seed: int = 1) -> dict[str, list[str]]:
    """Fill a new store at ``path`` with ``n`` isolates; returns some names per status."""
    rng = random.Random(seed)
    snaps = _snapshots(rng)
    programs = {fl.name: fl.program for fl in (flows.counter, flows.order, flows.digest, flows.reminder)}
    store = SQLiteStore(path, synchronous="NORMAL")
    epoch = store.claim("bench")
    put = [ProgramPut(p.hash, serial.program_to_bytes(p)) for p in programs.values()]
    names: dict[str, list[str]] = {}
    statuses, weights = zip(*STATUSES)
    now = time.time()
    commits: list[Commit] = []
    for i in range(1, n + 1):
        fname = rng.choice(list(programs))
        status = rng.choices(statuses, weights)[0]
        name = f"{fname}-{i:06d}"
        snap, eff = rng.choice(snaps[fname])
        kind = eff[0].kind
        c = Commit(i, status, snap, rng.randrange(1, 5000))
        if status in ("sleeping", "waiting"):
            c.wake_at = now + rng.uniform(1, 86400)
            c.waiting_on = "sleep" if kind == "sleep" else "http_listen POST /paid"
            c.status = "sleeping" if kind == "sleep" else "waiting"
        elif status == "done":
            c.snapshot, c.result = None, _vm.encode_value({"total": i, "note": "ok"})
        elif status == "failed":
            c.error = json.dumps({"message": "ZeroDivisionError: division by zero", "kind": "fault",
                                  "exc_type": "ZeroDivisionError", "frames": [[fname, "inspectorflows.py", 30, 9]]})
        elif status == "cancelled":
            c.snapshot = None
        c.log = [f"reminded {name} ({k})" for k in range(rng.randrange(0, 3))]
        c.log_seq = len(c.log)
        c.create = IsolateRow(i, name, fname, programs[fname].hash, root_id=i, snapshot=snap)
        if put:
            c.ops, put = put, []
        commits.append(c)
        names.setdefault(c.status, []).append(name)
        if len(commits) == BATCH:
            store.commit_batch("bench", epoch, commits)
            commits = []
    if commits:
        store.commit_batch("bench", epoch, commits)
    store.close()
    db = sqlite3.connect(path)
    db.execute("UPDATE isolates SET updated_at = created_at - (abs(random()) % 86400000) / 1000.0")
    db.commit()
    db.close()
    return names


class Client:
    """Sequential GETs over one kept-alive HTTP connection."""

    def __init__(self, url: str):
        parts = urllib.parse.urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)

    def get(self, path: str) -> tuple[float, Any]:
        t = time.perf_counter()
        self.conn.request("GET", path)
        r = self.conn.getresponse()
        body = r.read()
        dt = time.perf_counter() - t
        if r.status != 200:
            raise RuntimeError(f"GET {path}: {r.status} {body[:200]!r}")
        return dt, json.loads(body)

    def close(self) -> None:
        self.conn.close()


def serve(path: str) -> Inspector:
    """The inspector over the store, with no engine here (as ``deepslate inspector`` serves it)."""
    return Inspector(SQLiteStore(path, readonly=True), StoreRequestActions(path), lambda: None, "127.0.0.1:0")


def deep_cursor(path: str, depth: int) -> str:
    store = SQLiteStore(path, readonly=True)
    try:
        row = store.page_isolates(limit=depth)[-1]
    finally:
        store.close()
    return encode_cursor(row)


def cases(path: str, names: dict[str, list[str]], rng: random.Random, n: int) -> dict[str, list[str]]:
    """Request paths per kind of page."""
    total = sum(len(v) for v in names.values())
    deep = deep_cursor(path, total // 2)
    detail = [rng.choice(v) for v in names.values() for _ in range(n)]
    rng.shuffle(detail)
    return {
        "list, first page": ["/api/isolates"] * n,
        "list, status=failed": ["/api/isolates?status=failed"] * n,
        "list, flow=order": ["/api/isolates?flow=order"] * n,
        f"list, keyset page at {total // 2}": [f"/api/isolates?cursor={deep}"] * n,
        "list, name search (a few match)": [f"/api/isolates?q=order-0{rng.randrange(10, 99)}" for _ in range(n)],
        "list, name search (none match)": ["/api/isolates?q=nobody"] * n,
        "detail": ["/api/isolates/" + urllib.parse.quote(name, safe="") for name in detail[:n]],
    }


def measure(url: str, paths: list[str]) -> list[float]:
    c = Client(url)
    try:
        c.get(paths[0])          # the first one warms the connection and the page cache
        return [c.get(p)[0] for p in paths]
    finally:
        c.close()


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--isolates", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=200, help="requests per kind (default: %(default)s)")
    ap.add_argument("--store", help="keep the store here (default: a temporary directory)")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="deepslate-inspector-bench-")
    path = args.store or os.path.join(tmp, "inspector.db")
    t = time.perf_counter()
    names = fill(path, args.isolates)
    print(f"filled {args.isolates} isolates in {time.perf_counter() - t:.1f} s "
          f"({os.path.getsize(path) / 1e6:.0f} MB): "
          + ", ".join(f"{k} {len(v)}" for k, v in sorted(names.items())))
    ins = serve(path)
    try:
        print(f"{'request':<40} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
        for what, paths in cases(path, names, random.Random(2), args.requests).items():
            ts = measure(ins.url, paths)
            print(f"{what:<40} {pct(ts, .5) * 1e3:>8.1f} {pct(ts, .95) * 1e3:>8.1f} {pct(ts, .99) * 1e3:>8.1f}")
    finally:
        ins.stop()
        if not args.store:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
