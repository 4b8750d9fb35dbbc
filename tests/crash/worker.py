"""A worker process for the crash tests: runs flows until done or until it is SIGKILLed.

usage: worker.py STORE EFFECTS MODE     (MODE: steps | queue | lock | http)
Prints READY once the engine runs, and RESULT <json> when every flow finished.

usage: worker.py zygote STORE EFFECTS MODE
Imports and compiles everything once, then forks a fresh worker process for each
"fork" line on stdin (printing PID <pid>, then EXIT <status> when it died), so a
test can kill and restart a worker many times without paying for interpreter
start-up each time. No thread, store or engine exists in the zygote before a fork."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import crashflows  # noqa: E402
from deepslate import new_sqlite, spawn_workers  # noqa: E402

# the work grows with the number of kills, so a run outlasts them (DEEPSLATE_CRASH_KILLS)
KILLS = int(os.environ.get("DEEPSLATE_CRASH_KILLS", "20"))
ISOLATES, STEPS = 3, 50 * KILLS
ITEMS, CONSUMERS = 90 * KILLS, 3
ROUNDS, HOLDERS = 6 * KILLS, 3
HTTP_ISOLATES, HTTP_STEPS = 2, 12 * KILLS     # mode http: requests to DEEPSLATE_CRASH_URL
FLOWS = [crashflows.stepper, crashflows.pipeline, crashflows.locked, crashflows.requester]


def main(store: str, effects: str, mode: str) -> None:
    platform, _ = new_sqlite(store)
    spawn, wait, cancel, stop = spawn_workers(4, platform, FLOWS)
    if mode == "steps":
        names = [f"s{i}" for i in range(ISOLATES)]
        for n in names:
            spawn(n, "stepper", {"path": effects, "who": n, "n": STEPS})
    elif mode == "queue":
        names = ["pipe"]
        spawn("pipe", "pipeline", {"path": effects, "n": ITEMS, "consumers": CONSUMERS})
    elif mode == "http":
        names = [f"h{i}" for i in range(HTTP_ISOLATES)]
        for n in names:
            spawn(n, "requester", {"path": effects, "who": n, "url": os.environ["DEEPSLATE_CRASH_URL"],
                                   "n": HTTP_STEPS})
    else:
        names = ["lock"]
        spawn("lock", "locked", {"path": effects, "n": ROUNDS, "workers": HOLDERS})
    print("READY", flush=True)
    results = {n: wait(n, timeout=120) for n in names}
    if mode == "queue":
        results.update({f"pipe/{i}": wait(f"pipe/{i}", timeout=60) for i in range(1, CONSUMERS + 1)})
    stop()
    print("RESULT " + json.dumps(results), flush=True)


def zygote(store: str, effects: str, mode: str) -> None:
    for f in FLOWS:
        f.program                                                  # compile and link before forking
    print("ZYGOTE", flush=True)
    for line in sys.stdin:
        if line.strip() != "fork":
            break
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                main(store, effects, mode)
            except BaseException:
                import traceback
                traceback.print_exc()
                code = 1
            finally:
                sys.stdout.flush()
                os._exit(code)
        print(f"PID {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"EXIT {os.waitstatus_to_exitcode(status)}", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "zygote":
        zygote(*sys.argv[2:5])
    else:
        main(*sys.argv[1:4])
