"""``deepslate cancel | retry | send | purge STORE ...``: operations on a store from any process.

cancel, retry and send file a request in the store (runtime/requests.py) for the engine that
holds it and wait for its outcome. Exit status: 0 done; 1 the engine answered that it could
not (no such isolate, nothing to retry ...); 2 bad arguments or a store that cannot be opened;
3 filed but not applied yet (no engine holds the store, or none answered in time): the
request stays filed and is applied when an engine gets to it.
"""
from __future__ import annotations

import argparse
import datetime
import os
import re
import sys
import time
from typing import Any

from ..store.base import TERMINAL, StoreError, check_statuses
from ..store import open_store
from .requests import lease_holder, submit, wait_outcome
from .retention import purge_all

DEFAULT_TIMEOUT = 10.0
_AGE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([smhd])\s*$")
_UNIT = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def _when(t: float) -> str:
    return datetime.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("store", help="the store: an SQLite file's path, or a postgres:// URL (?schema=NAME)")
    p.add_argument("name", help="the isolate's name")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                   help="seconds to wait for the engine's answer (default: %(default)s)")


def add_cancel(p: argparse.ArgumentParser) -> None:
    _common(p)
    p.set_defaults(run=lambda a: _request(a, "cancel", {}))


def add_retry(p: argparse.ArgumentParser) -> None:
    _common(p)
    p.add_argument("--failed-at", type=float, default=None,
                   help="retry only the failure of this updated_at (default: the failure the store shows now)")
    p.set_defaults(run=run_retry)


def add_send(p: argparse.ArgumentParser) -> None:
    _common(p)
    p.add_argument("method", help="the http_listen method (GET, POST, PUT, PATCH, DELETE)")
    p.add_argument("route", help="the http_listen route, e.g. /approve")
    p.add_argument("body", nargs="?", default=None, help="the message body; '-' reads it from standard input "
                                                         "(none: an empty body)")
    p.set_defaults(run=run_send)


def run_retry(args: argparse.Namespace) -> int:
    failed_at = args.failed_at
    if failed_at is None:
        # the failure the operator sees now: a request applied twice (a crash between the
        # retry and its outcome, or the command run twice) retries it once
        try:
            store = open_store(args.store, readonly=True)
        except StoreError as e:
            return _fail("retry", str(e), 2)
        try:
            row = store.get_isolate(args.name)
        finally:
            store.close()
        if row is not None and row.status == "failed":
            failed_at = row.updated_at
    return _request(args, "retry", {"failed_at": failed_at})


def run_send(args: argparse.Namespace) -> int:
    body: bytes = b""
    if args.body == "-":
        body = sys.stdin.buffer.read()
    elif args.body is not None:
        body = os.fsencode(args.body)       # the bytes the shell gave, even those not UTF-8
    return _request(args, "send", {"method": args.method, "route": args.route, "body": body})


def _fail(verb: str, message: str, code: int) -> int:
    print(f"deepslate {verb}: {message}", file=sys.stderr)
    return code


def _request(args: argparse.Namespace, verb: str, payload: dict[str, Any]) -> int:
    if not args.timeout >= 0:
        return _fail(verb, f"--timeout must be a number of seconds, at least 0, not {args.timeout}", 2)
    try:
        rid = submit(args.store, verb, args.name, payload)
        holder = lease_holder(args.store)
    except (StoreError, ValueError) as e:
        return _fail(verb, str(e), 2)
    if holder is None:
        return _fail(verb, f"request #{rid} is filed, but no engine holds {args.store} now (none has a live "
                           "lease): it is applied when an engine opens the store", 3)
    try:
        outcome = wait_outcome(args.store, rid, args.timeout)
    except (StoreError, KeyError) as e:
        return _fail(verb, f"request #{rid}: {e}", 2)
    if outcome is None:
        node, until = holder
        return _fail(verb, f"no answer within {args.timeout:g} s from the engine holding {args.store} (node "
                           f"{node!r}, lease until {_when(until)}); request #{rid} stays filed and is applied "
                           "when an engine gets to it", 3)
    if outcome.get("ok"):
        print(outcome.get("message", "done"))
        return 0
    return _fail(verb, str(outcome.get("message", outcome)), 1)


# -- purge ------------------------------------------------------------------------------------

def parse_age(text: str) -> float:
    """Seconds from ``7d``, ``12h``, ``30m`` or ``45s``."""
    m = _AGE.match(text)
    if not m:
        raise ValueError(f"--older-than must be a number with a unit, like 7d, 12h, 30m or 45s, not {text!r}")
    return float(m[1]) * _UNIT[m[2]]


def add_purge(p: argparse.ArgumentParser) -> None:
    p.add_argument("store", help="the store: an SQLite file's path, or a postgres:// URL (?schema=NAME)")
    p.add_argument("--older-than", default="7d", help="ended longer ago than this: 7d, 12h, 30m, 45s "
                                                     "(default: %(default)s)")
    p.add_argument("--status", default=",".join(TERMINAL),
                   help="finished statuses to purge, comma-separated (default: %(default)s)")
    p.add_argument("--dry-run", action="store_true", help="count what would be removed, remove nothing")
    p.set_defaults(run=run_purge)


def run_purge(args: argparse.Namespace) -> int:
    try:
        age = parse_age(args.older_than)
        statuses = check_statuses(args.status)
        store = open_store(args.store)
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
            f"({', '.join(statuses)}, ended before {_when(before)}); with them "
            f"{report.get('log_lines', 0)} log lines, {report.get('inbox', 0)} inbox messages, "
            f"{report.get('inbox_seen', 0)} delivery ids, {report.get('queues', 0)} queues, "
            f"{report.get('locks', 0)} locks, {report.get('waitgroups', 0)} wait groups, "
            f"{report.get('programs', 0)} programs no isolate uses, {report.get('requests', 0)} answered requests")
    print(("would remove " if args.dry_run else "removed ") + what)
    return 0
