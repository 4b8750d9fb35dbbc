"""A worker for the overdue-timer test: sleeping isolates on SQLite.

usage: timerworker.py spawn STORE EFFECTS SLEEPS.json   spawn one isolate per entry of the
                                                          JSON list of seconds, print READY, idle
usage: timerworker.py resume STORE EFFECTS N             restart on the store, print RESULT <json>
                                                          when all N isolates finished
The flow's @impure ``woke`` appends ``name time key pid`` when the isolate's sleep is over
(after the post-sleep step was committed)."""
import asyncio
import json
import os
import sys
import time

from deepslate import flow, idempotency_key, impure, new_sqlite, sleep, spawn_workers


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


def main(cmd: str, store: str, effects: str, arg: str) -> None:
    platform, _ = new_sqlite(store, synchronous="NORMAL")
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
        time.sleep(600)                     # until the test kills this process
    else:
        print(f"STARTED {time.time()!r}", flush=True)
        results = {f"t{i}": wait(f"t{i}", timeout=60) for i in range(int(arg))}
        stop()
        print("RESULT " + json.dumps(results), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:5])
