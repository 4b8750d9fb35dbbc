"""An engine in a process of its own, for the tests of the operator commands run from another.

usage: opsworker.py STORE
Runs opsflows with: ``beat`` and ``t`` (tickers), ``l`` and ``l2`` (listeners of one message on
POST /numbers) and ``c`` (a charge whose first call fails, kept for retry). Prints
``READY <epoch>`` once ``c`` has failed, then answers lines on stdin:
``wait NAME`` -> ``RESULT <json>``; ``health`` -> ``HEALTH <json>`` (engine failure, epoch,
status of ``beat``, steps committed); ``hold SECONDS`` -> ``HELD`` once the engine's event loop
is held (blocked) for that long, as a stuck engine would be. Stops when stdin closes."""
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "flowmods"))

import opsflows as F  # noqa: E402
from deepslate import FlowFailed, new_sqlite, spawn_workers  # noqa: E402

FLOWS = [v for v in vars(F).values() if hasattr(v, "program") and hasattr(v, "name")]


def main(store: str) -> None:
    platform, _ = new_sqlite(store, "127.0.0.1:0")
    workers = spawn_workers(2, platform, FLOWS)
    F.FAILS["c"] = 1
    for name, flow, args in (("beat", "ticker", {}), ("t", "ticker", {}), ("l", "listener", {"n": 1}),
                             ("l2", "listener", {"n": 1}), ("c", "charge", {"key": "c"})):
        workers.spawn(name, flow, args)
    try:
        workers.wait("c", timeout=30)
    except FlowFailed:
        pass
    eng = platform.engine
    print(f"READY {eng.epoch}", flush=True)
    for line in sys.stdin:
        cmd, _, arg = line.strip().partition(" ")
        if cmd == "wait":
            value = workers.wait(arg, timeout=30)
            print("RESULT " + json.dumps([v.decode() for v in value] if isinstance(value, list) else value),
                  flush=True)
        elif cmd == "hold":
            held = threading.Event()

            def hold(seconds: float) -> None:
                held.set()
                time.sleep(seconds)
            platform.runner.loop.call_soon_threadsafe(hold, float(arg))
            held.wait(10)
            print("HELD", flush=True)
        elif cmd == "health":
            beat = workers.status("beat")
            print("HEALTH " + json.dumps({"failure": repr(eng.failure) if eng.failure else None, "epoch": eng.epoch,
                                          "beat": beat, "steps": eng.steps_committed}), flush=True)
    workers.stop()


if __name__ == "__main__":
    main(sys.argv[1])
