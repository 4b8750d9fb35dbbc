"""``deepslate demo``, ``deepslate ls STORE`` and ``deepslate show STORE NAME``."""
from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from typing import Any

from ..program.names import name_frames, read_program
from ..store import open_store
from ..store.base import IsolateRow, Store, StoreError
from ..store.sqlite import SQLiteStore
from .detail import describe_isolate


def _when(t: float | None) -> str:
    if not t:
        return "-"
    return datetime.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")


def _open_ro(target: str) -> Store:
    return open_store(target, readonly=True)


def frames_of(store: Any, row: IsolateRow) -> list[dict[str, Any]]:
    """The isolate's frames with named locals, read from the store alone."""
    if row.snapshot is None:
        return []
    return name_frames(read_program(store, row.program_hash), row.snapshot)


# -- ls -------------------------------------------------------------------------

def add_ls(p: argparse.ArgumentParser) -> None:
    p.add_argument("store", help="the store: an SQLite file's path, or a postgres:// URL (?schema=NAME)")
    p.add_argument("--status", help="only isolates with this status")
    p.add_argument("--flow", help="only isolates of this flow")
    p.add_argument("-q", help="only names containing this text")
    p.add_argument("--limit", type=int, default=100)
    p.set_defaults(run=run_ls)


def run_ls(args: argparse.Namespace) -> int:
    try:
        store = _open_ro(args.store)
    except StoreError as e:
        print(f"deepslate ls: {e}", file=sys.stderr)
        return 2
    rows = store.list_isolates(args.status, args.flow, args.q, args.limit)
    print(f"{'NAME':<28} {'FLOW':<16} {'STATUS':<10} {'STEPS':>8}  UPDATED")
    for r in rows:
        print(f"{r.name:<28} {r.flow:<16} {r.status:<10} {r.steps:>8}  {_when(r.updated_at)}")
    counts = store.count_isolates()
    print(f"{sum(counts.values())} isolates: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    store.close()
    return 0


# -- show -----------------------------------------------------------------------

def add_show(p: argparse.ArgumentParser) -> None:
    p.add_argument("store", help="the store: an SQLite file's path, or a postgres:// URL (?schema=NAME)")
    p.add_argument("name", help="isolate name")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run_show)


def _source_line(src: dict[str, Any] | None, line: Any) -> str:
    """The text of ``line`` in a flow's source (as compiled), stripped."""
    if not src or not isinstance(line, int):
        return ""
    lines = src["text"].splitlines()
    at = line - src["firstlineno"]
    return lines[at].strip() if 0 <= at < len(lines) else ""


def run_show(args: argparse.Namespace) -> int:
    try:
        store = _open_ro(args.store)
    except StoreError as e:
        print(f"deepslate show: {e}", file=sys.stderr)
        return 2
    try:
        row = store.get_isolate(args.name)
        if row is None:
            print(f"deepslate show: no isolate named {args.name!r} in {args.store}", file=sys.stderr)
            return 1
        d = describe_isolate(store, row)
    finally:
        store.close()
    if args.json:
        print(json.dumps(d, indent=2, default=str))
        return 0
    for k in ("name", "id", "flow", "status", "program", "steps", "snapshot_bytes", "waiting_on", "parent"):
        print(f"{k + ':':<16}{d[k]}")
    print(f"{'wake_at:':<16}{_when(d['wake_at'])}")
    print(f"{'updated_at:':<16}{_when(d['updated_at'])}")
    if d["children"]:
        print(f"{'children:':<16}{', '.join(d['children'])}")
    if d["result"] is not None or row.status == "done":
        print(f"{'result:':<16}{json.dumps(d['result'])}")
    if d["error"]:
        e = d["error"]
        print(f"{'error:':<16}{e.get('message') if isinstance(e, dict) else e}")
        for fr in (e.get("frames") or []) if isinstance(e, dict) else []:
            print(f"                  at {fr[0]} ({fr[1]}:{fr[2]})")
    for i, f in enumerate(d["frames"]):
        print(f"frame {i}: {f['function']} ({f['filename']}:{f['line']})")
        text = _source_line(d["sources"].get(f["function"]), f["line"])
        if text:
            print(f"    > {text}")
        for name, v in (f["locals"] or {}).items():
            print(f"    {name}: {f['types'].get(name, '?')} = {json.dumps(v)}")
        if "registers" in f:
            print(f"    (program not in the store; raw registers) {json.dumps(f['registers'])}")
    for m in d["inbox"]:
        print(f"inbox #{m['id']}: {m['method']} {m['route']} to {m['isolate']} ({m['bytes']} bytes)")
    if d["log"]:
        print("log:")
        for line in d["log"]:
            # a lone surrogate cannot go to a UTF-8 terminal: show its escape
            print(f"    {line.encode('utf-8', 'backslashreplace').decode('utf-8')}")
    return 0


# -- demo -----------------------------------------------------------------------

def add_demo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", default="deepslate-demo.db", help="SQLite file (default: %(default)s)")
    p.add_argument("--counters", type=int, default=3, help="how many counter isolates (default: %(default)s)")
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--listen", default="127.0.0.1:8765", help="HTTP ingress address (default: %(default)s; "
                                                             "port 0: any free port)")
    p.set_defaults(run=run_demo)


def _count(store: Any, row: IsolateRow) -> Any:
    for f in frames_of(store, row):
        if "count" in (f["locals"] or {}):
            return f["locals"]["count"]
    return "?"


def run_demo(args: argparse.Namespace) -> int:
    from . import demo, new_sqlite, spawn_workers
    if args.counters < 1:
        print("deepslate demo: --counters must be at least 1", file=sys.stderr)
        return 2
    try:
        platform, _ = new_sqlite(args.store, args.listen)
    except (StoreError, ValueError) as e:
        print(f"deepslate demo: {e}", file=sys.stderr)
        return 2
    try:
        spawn, wait, cancel, stop = spawn_workers(4, platform, [demo.counter()])
    except OSError as e:        # the ingress address is taken
        platform.store.close()
        print(f"deepslate demo: {e}", file=sys.stderr)
        return 2
    names = [f"counter-{i}" for i in range(1, args.counters + 1)]
    for n in names:
        spawn(n, "counter", {})
    reader = SQLiteStore(args.store, readonly=True)
    tty = sys.stdout.isatty()
    t0 = time.monotonic()
    try:
        while args.duration is None or time.monotonic() - t0 < args.duration:
            lines = [f"deepslate demo: {len(names)} durable counters in {args.store} "
                     "(Ctrl+C to stop, run again to continue)", ""]
            for n in names:
                row = reader.get_isolate(n)
                if row is not None:
                    lines.append(f"  {n:<12} {row.status:<9} count = {_count(reader, row)!s:<6} steps {row.steps}")
            if tty:
                sys.stdout.write("\x1b[H\x1b[2J" + "\n".join(lines) + "\n")
            else:
                sys.stdout.write("\n".join(lines[2:]) + "\n")
            sys.stdout.flush()
            time.sleep(1.0 if not tty else 0.25)
    except KeyboardInterrupt:
        pass
    finally:
        stop()
        reader.close()
    print("stopped; every count so far is committed")
    return 0
