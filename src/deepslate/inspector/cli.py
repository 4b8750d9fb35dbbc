"""``deepslate inspector STORE --addr HOST:PORT [--token T]``: the inspector for a store, with no
engine in this process. Reads come from the store; actions are filed in its requests table for
the engine that holds it (``StoreRequestActions``)."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Any

from ..runtime.ingress import ListenError
from ..store.base import StoreError
from ..store import open_store
from .actions import StoreRequestActions
from .server import Inspector

TOKEN_ENV = "DEEPSLATE_INSPECTOR_TOKEN"


def add_inspector(p: argparse.ArgumentParser) -> None:
    p.add_argument("store", help="the store: an SQLite file's path, or a postgres:// URL (?schema=NAME)")
    p.add_argument("--addr", default="localhost:8080",
                   help="host:port to serve on (default: %(default)s, loopback only; port 0: any free port)")
    p.add_argument("--token", default=None,
                   help=f"ask every request for this token (default: ${TOKEN_ENV}, else none); "
                        "open /?token=... once in a browser")
    p.set_defaults(run=run_inspector)


def run_inspector(args: argparse.Namespace) -> int:
    token = args.token if args.token is not None else os.environ.get(TOKEN_ENV) or None
    try:
        store = open_store(args.store, readonly=True)
    except StoreError as e:
        print(f"deepslate inspector: {e}", file=sys.stderr)
        return 2
    try:
        ins = Inspector(store, StoreRequestActions(args.store), lambda: None, args.addr, token=token)
    except (ListenError, ValueError) as e:
        store.close()
        print(f"deepslate inspector: {e}", file=sys.stderr)
        return 2
    done = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        done.set()
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    print(f"deepslate inspector: serving {args.store} at {ins.url} (Ctrl+C to stop)", flush=True)
    try:
        while not done.wait(0.5) and ins.running:
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        ins.stop()
    return 0
