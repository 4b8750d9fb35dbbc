"""A worker for the overdue-timer test: sleeping isolates on SQLite.

usage: timerworker.py spawn STORE EFFECTS SLEEPS.json   spawn one isolate per entry of the
                                                          JSON list of seconds, print READY, idle
usage: timerworker.py resume STORE EFFECTS N             restart on the store, print RESULT <json>
                                                          when all N isolates finished
The flow's @impure ``woke`` appends ``name time key pid`` when the isolate's sleep is over
(after the post-sleep step was committed). In resume mode the worker prints the time its first
line ran (MAIN), the time deepslate was imported and the flow compiled (IMPORTED) and the time
the engine had loaded every isolate (STARTED); then it waits until all N isolates have logged a
wake-up before it asks the engine for results, so the test's own bookkeeping does not compete
with the start-up it measures."""
import time

MAIN = time.time()

import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

from deepslate import flow, idempotency_key, impure, new_sqlite, sleep, spawn_workers  # noqa: E402


@impure
def woke(path: str, who: str) -> float:
    t = time.time()
    with open(path, "a") as f:
        f.write(f"{who} {t!r} {idempotency_key()} {os.getpid()}\n")
    return t


@flow
async def nap(path: str, who: str, secs: float) -> float:
    sleep(secs)
    return woke(path, who)


IMPORTED = time.time()         # deepslate imported and the flow compiled


def wait_woken(path: str, n: int, timeout: float) -> None:
    """Until n isolates have logged a wake-up (here or before the kill); reads only new bytes."""
    names: set[str] = set()
    buf = ""
    deadline = time.time() + timeout
    with open(path, "a+") as f:
        f.seek(0)
        while len(names) < n and time.time() < deadline:
            buf += f.read()
            *lines, buf = buf.split("\n")
            names.update(line.split(" ", 1)[0] for line in lines if line)
            time.sleep(0.02)


def main(cmd: str, store: str, effects: str, arg: str) -> None:
    platform, _ = new_sqlite(store, synchronous="NORMAL", listen_addr="127.0.0.1:0")
    spawn, wait, cancel, stop = spawn_workers(4, platform, [nap])
    eng, call = platform.engine, platform.runner.call
    if cmd == "spawn":
        with open(arg) as f:
            sleeps = json.load(f)

        async def all_of_them() -> None:
            await asyncio.gather(*(eng.spawn(f"t{i}", "nap", {"path": effects, "who": f"t{i}", "secs": s})
                                   for i, s in enumerate(sleeps)))
        call(all_of_them())
        print("READY", flush=True)
        time.sleep(3600)                    # until the test kills this process
    else:
        n = int(arg)
        print(f"MAIN {MAIN!r}", flush=True)
        print(f"IMPORTED {IMPORTED!r}", flush=True)
        print(f"STARTED {time.time()!r}", flush=True)
        wait_woken(effects, n, 120)
        results = {f"t{i}": wait(f"t{i}", timeout=60) for i in range(n)}
        stop()
        print("RESULT " + json.dumps(results), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:5])
