"""A worker for the power-loss test: counter flows on SQLite with the default synchronous=FULL.

usage: powerworker.py run STORE ACKS ISOLATES STEPS PAD GAP DELAY
  Spawns ISOLATES counters of STEPS steps one by one, GAP s apart, each carrying a PAD-byte
  string in its state; each @impure call works DELAY s. Prints READY once the store is open
  (with its synchronous and journal_mode settings) and RESULT <json> when all finished.
  Appends ``spawn NAME`` to ACKS once spawn() has returned (the isolate is committed) and
  ``done NAME`` once wait() has returned its result; the flows append ``ack NAME I`` when
  call I runs (the step pending at it is committed).
usage: powerworker.py fill STORE COUNT SIZE
  Runs COUNT isolates that each keep a SIZE-byte result, to grow a store (nightly size)."""
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import powerflows  # noqa: E402
from deepslate import new_sqlite, spawn_workers  # noqa: E402


def log(path: str, line: str) -> None:
    with open(path, "a") as f:
        f.write(line + "\n")


def run(store: str, acks: str, isolates: str, steps: str, pad: str, gap: str, delay: str) -> None:
    powerflows.ACKS.update(path=acks, delay=float(delay))
    platform, _ = new_sqlite(store, listen_addr="127.0.0.1:0")
    db = platform.store.db
    print("READY", db.execute("PRAGMA synchronous").fetchone()[0], db.execute("PRAGMA journal_mode").fetchone()[0],
          flush=True)
    spawn, wait, cancel, stop = spawn_workers(4, platform, [powerflows.counter])
    names = [f"p{k}" for k in range(int(isolates))]
    results = {}

    def finish(name: str) -> None:
        results[name] = wait(name, timeout=300)
        log(acks, f"done {name}")

    waiters = []
    for k, name in enumerate(names):
        if k:
            time.sleep(float(gap))
        spawn(name, "counter", {"who": name, "n": int(steps), "pad": "x" * int(pad)})
        log(acks, f"spawn {name}")
        waiters.append(threading.Thread(target=finish, args=(name,)))
        waiters[-1].start()
    for t in waiters:
        t.join()
    stop()
    print("RESULT " + json.dumps(results), flush=True)


def fill(store: str, count: str, size: str) -> None:
    platform, _ = new_sqlite(store, listen_addr="127.0.0.1:0")
    spawn, wait, cancel, stop = spawn_workers(4, platform, [powerflows.keep])
    for k in range(int(count)):
        spawn(f"big{k}", "keep", {"pad": f"{k:08d}" + "y" * (int(size) - 8)})
        if k % 16 == 15:
            wait(f"big{k}", timeout=600)           # keep the backlog (and memory) small
    for k in range(int(count)):
        wait(f"big{k}", timeout=600)
    stop()
    print("FILLED", flush=True)


if __name__ == "__main__":
    {"run": run, "fill": fill}[sys.argv[1]](*sys.argv[2:])
