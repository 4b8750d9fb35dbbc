"""A process serving the HTTP ingress, for the tests that measure or kill it.

usage: ingressworker.py STORE MODE     (MODE: memory | crash)
Prints ``URL <ingress url>`` once it serves, then runs until SIGKILLed or until stdin closes.
memory: one isolate ``l`` listening on POST /numbers, default settings.
crash:  ISOLATES isolates ``c<i>`` that each take STEPS messages on POST /numbers and return them;
        delivery ids come in the ``Idempotency-Key`` header; a ``results`` line on stdin
        waits for them all and prints ``RESULTS <json>``."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import listenflows as hf  # noqa: E402
from deepslate import Ingress, new_sqlite, spawn_workers  # noqa: E402

ISOLATES = int(os.environ.get("DEEPSLATE_INGRESS_ISOLATES", "100"))
STEPS = int(os.environ.get("DEEPSLATE_INGRESS_STEPS", "20"))


def main(store: str, mode: str) -> None:
    ingress = Ingress(dedupe_header="Idempotency-Key") if mode == "crash" else Ingress()
    platform, _ = new_sqlite(store, "127.0.0.1:0", ingress=ingress)
    spawn, wait, cancel, stop = spawn_workers(2, platform, [hf.listener])
    if mode == "memory":
        spawn("l", "listener", {"n": 1})
    else:
        for i in range(ISOLATES):
            spawn(f"c{i}", "listener", {"n": STEPS})
    os.write(1, f"URL {platform.engine.ingress_url}\n".encode())
    for line in sys.stdin:
        if line.strip() == "results":      # every isolate's list, once all have finished
            out = {f"c{i}": [b.decode() for b in wait(f"c{i}", timeout=60)] for i in range(ISOLATES)}
            os.write(1, f"RESULTS {json.dumps(out)}\n".encode())
    stop()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
