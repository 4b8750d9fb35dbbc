"""A worker process for the crash tests: runs flows until done or until it is SIGKILLed.

usage: worker.py STORE EFFECTS MODE     (MODE: steps | counter | exchange | lock | http)
STORE: an SQLite file, or a tests/stores.py spec (sqlite:PATH, postgres:SCHEMA).
Prints READY once the engine runs, and RESULT <json> when every flow finished.

usage: worker.py zygote STORE EFFECTS MODE
Imports and compiles everything once, then forks a fresh worker process for each
"fork" line on stdin (printing PID <pid>, then EXIT <status> when it died), so a
test can kill and restart a worker many times without paying for interpreter
start-up each time. No thread, store or engine exists in the zygote before a fork."""
import faulthandler
import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import crashflows  # noqa: E402
from deepslate import new_sqlite, spawn_workers  # noqa: E402
from stores import platform_spec  # noqa: E402

# the work of the randomly timed modes grows with the number of kills, so a run outlasts them
KILLS = int(os.environ.get("DEEPSLATE_CRASH_KILLS", "20"))
ISOLATES, STEPS = 3, 50 * KILLS
COUNTER_STEPS = int(os.environ.get("DEEPSLATE_CRASH_COUNTER_STEPS", "10000"))   # RELIABILITY target 1
ITEMS = int(os.environ.get("DEEPSLATE_CRASH_ITEMS", "10000"))                   # target 17
PRODUCERS, CONSUMERS = 25, 25
ROUNDS, HOLDERS = 2 * KILLS, 8
HTTP_ISOLATES, HTTP_STEPS = 2, 12 * KILLS     # mode http: requests to DEEPSLATE_CRASH_URL
FLOWS = [crashflows.stepper, crashflows.counter, crashflows.exchange, crashflows.locked, crashflows.requester]


def names(mode: str) -> list[str]:
    """The isolates a mode runs, children included."""
    if mode == "steps":
        return [f"s{i}" for i in range(ISOLATES)]
    if mode == "counter":
        return ["c0"]
    if mode == "exchange":
        return ["x"] + [f"x/{i}" for i in range(1, PRODUCERS + CONSUMERS + 1)]
    if mode == "http":
        return [f"h{i}" for i in range(HTTP_ISOLATES)]
    return ["lock"] + [f"lock/{i}" for i in range(1, HOLDERS + 1)]


def calls(mode: str) -> int:
    """The @impure calls a whole run of the randomly killed modes logs."""
    return {"steps": ISOLATES * STEPS, "http": HTTP_ISOLATES * HTTP_STEPS}[mode]


def say(line: str) -> None:
    # one write() per line: print() may write the text and its newline apart, and a worker
    # SIGKILLed in between glued the zygote's next line onto its own
    sys.stdout.flush()
    data = (line + "\n").encode()
    while data:
        data = data[os.write(1, data):]


def main(store: str, effects: str, mode: str) -> None:
    faulthandler.register(signal.SIGUSR1, all_threads=True)    # the test asks a stuck worker where it is
    if store.startswith(("sqlite:", "postgres:")):
        platform = platform_spec(store)
    else:
        platform, _ = new_sqlite(store, listen_addr="127.0.0.1:0")
    spawn, wait, cancel, stop = spawn_workers(4, platform, FLOWS)
    if mode == "steps":
        for n in names(mode):
            spawn(n, "stepper", {"path": effects, "who": n, "n": STEPS})
    elif mode == "counter":
        spawn("c0", "counter", {"path": effects, "who": "c0", "n": COUNTER_STEPS})
    elif mode == "exchange":
        spawn("x", "exchange", {"path": effects, "producers": PRODUCERS, "consumers": CONSUMERS, "n": ITEMS})
    elif mode == "http":
        for n in names(mode):
            spawn(n, "requester", {"path": effects, "who": n, "url": os.environ["DEEPSLATE_CRASH_URL"],
                                   "n": HTTP_STEPS})
    else:
        spawn("lock", "locked", {"path": effects, "n": ROUNDS, "workers": HOLDERS})
    say("READY")
    # a child's row exists once its parent committed create_task: wait for the roots first
    roots = [n for n in names(mode) if "/" not in n]
    results = {n: wait(n, timeout=120) for n in roots}
    results.update({n: wait(n, timeout=120) for n in names(mode) if "/" in n})
    stop()
    say("RESULT " + json.dumps(results))


def zygote(store: str, effects: str, mode: str) -> None:
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    for f in FLOWS:
        f.program                                                  # compile and link before forking
    say("ZYGOTE")
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
        say(f"PID {pid}")
        _, status = os.waitpid(pid, 0)
        # on a line of its own even if a killed worker left a line unfinished
        say(f"\nEXIT {os.waitstatus_to_exitcode(status)}")


if __name__ == "__main__":
    if sys.argv[1] == "zygote":
        zygote(*sys.argv[2:5])
    else:
        main(*sys.argv[1:4])
