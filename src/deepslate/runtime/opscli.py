"""``deepslate purge STORE ...``: delete finished isolates from a store, from any process."""
from __future__ import annotations

import argparse
import datetime
import os
import re
import sys
import time
from typing import Any

from ..store.base import TERMINAL, StoreError, check_statuses
from ..store.sqlite import SQLiteStore
from .retention import purge_all

_AGE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([smhd])\s*$")
_UNIT = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def _when(t: float) -> str:
    return datetime.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")


def _existing(path: str) -> str:
    if not os.path.exists(path):
        raise StoreError(f"no store at {path!r}")
    return path


def _fail(verb: str, message: str, code: int) -> int:
    print(f"deepslate {verb}: {message}", file=sys.stderr)
    return code


# -- purge ------------------------------------------------------------------------------------

def parse_age(text: str) -> float:
    """Seconds from ``7d``, ``12h``, ``30m`` or ``45s``."""
    m = _AGE.match(text)
    if not m:
        raise ValueError(f"--older-than must be a number with a unit, like 7d, 12h, 30m or 45s, not {text!r}")
    return float(m[1]) * _UNIT[m[2]]


def add_purge(p: argparse.ArgumentParser) -> None:
    p.add_argument("store", help="path of the SQLite store")
    p.add_argument("--older-than", default="7d", help="last updated longer ago than this: 7d, 12h, 30m, 45s "
                                                     "(default: %(default)s)")
    p.add_argument("--status", default=",".join(TERMINAL),
                   help="finished statuses to purge, comma-separated (default: %(default)s)")
    p.add_argument("--dry-run", action="store_true", help="count what would be removed, remove nothing")
    p.set_defaults(run=run_purge)


def run_purge(args: argparse.Namespace) -> int:
    try:
        age = parse_age(args.older_than)
        statuses = check_statuses(args.status)
        store = SQLiteStore(_existing(args.store))
    except (StoreError, ValueError) as e:
        return _fail("purge", str(e), 2)
    before = time.time() - age
    try:
        if args.dry_run:
            report: dict[str, Any] = {}
            store.purge(statuses, before, 1 << 62, dry_run=True, report=report)
        else:
            report = purge_all(store, statuses, before)
    except StoreError as e:
        return _fail("purge", str(e), 2)
    finally:
        store.close()
    what = (f"{report.get('isolates', 0)} isolates in {report.get('trees', 0)} trees "
            f"({', '.join(statuses)}, last updated before {_when(before)}); with them "
            f"{report.get('log_lines', 0)} log lines, {report.get('inbox', 0)} inbox messages, "
            f"{report.get('inbox_seen', 0)} delivery ids, {report.get('queues', 0)} queues, "
            f"{report.get('locks', 0)} locks, {report.get('waitgroups', 0)} wait groups, "
            f"{report.get('programs', 0)} programs no isolate uses, {report.get('requests', 0)} answered requests")
    print(("would remove " if args.dry_run else "removed ") + what)
    return 0
