"""A worker process for the crash tests: runs flows until done or until it is SIGKILLed.

usage: worker.py STORE EFFECTS MODE     (MODE: steps | queue)
Prints READY once the engine runs, and RESULT <json> when every flow finished."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import crashflows  # noqa: E402
from deepslate import new_sqlite, spawn_workers  # noqa: E402

ISOLATES, STEPS = 3, 1500
ITEMS, CONSUMERS = 900, 3


def main() -> None:
    store, effects, mode = sys.argv[1:4]
    platform, _ = new_sqlite(store)
    spawn, wait, cancel, stop = spawn_workers(4, platform, [crashflows.stepper, crashflows.pipeline])
    if mode == "steps":
        names = [f"s{i}" for i in range(ISOLATES)]
        for n in names:
            spawn(n, "stepper", {"path": effects, "who": n, "n": STEPS})
    else:
        names = ["pipe"]
        spawn("pipe", "pipeline", {"path": effects, "n": ITEMS, "consumers": CONSUMERS})
    print("READY", flush=True)
    results = {n: wait(n, timeout=120) for n in names}
    if mode == "queue":
        results.update({f"pipe/{i}": wait(f"pipe/{i}", timeout=60) for i in range(1, CONSUMERS + 1)})
    stop()
    print("RESULT " + json.dumps(results), flush=True)


if __name__ == "__main__":
    main()
