"""A worker for the deadline and child-lifetime crash tests (tests/crash/test_deadline_crash.py).

usage: deadlineworker.py wait STORE     spawn "l" (http_listen with a 1 s timeout) and "c" (a select
                                         over a queue, a route and a 1 s timeout), print READY once
                                         both wait with their deadline stored, then idle
usage: deadlineworker.py parent STORE   spawn "p", which starts an attached child that sleeps an
                                         hour and a detached one that sleeps 0.5 s, and returns;
                                         run with DEEPSLATE_FAULTS=parent_ended_before_children:1:exit
                                         it dies as p's end is durable and before its child's
usage: deadlineworker.py resume STORE   start on the store and print RESULT <json>: what every
                                         isolate of the store ended with
"""
import asyncio
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "runtime", "flowmods"))

import deadlineflows as F  # noqa: E402

from deepslate import DSError, Engine, FlowCancelled  # noqa: E402
from deepslate.store import SQLiteStore  # noqa: E402

FLOWS = [v for v in vars(F).values() if hasattr(v, "program") and hasattr(v, "name")]


async def until(cond) -> None:
    while not cond():
        await asyncio.sleep(0.01)


def waiting(store: SQLiteStore, name: str, what: str) -> bool:
    r = store.get_isolate(name)
    return r is not None and r.status == "waiting" and r.waiting_on.startswith(what) and \
        (r.wake_at is not None or what == "http_listen POST /go")


async def main(mode: str, path: str) -> None:
    store = SQLiteStore(path)
    eng = await Engine(store, FLOWS, 2).start()
    if mode == "wait":
        await eng.spawn("l", "listen_once", {"timeout": 1.0})
        await eng.spawn("c", "chooser", {"timeout": 1.0, "then_get": False, "then_listen": False})
        await until(lambda: waiting(store, "c", "http_listen POST /go"))
        await eng.send("c", "POST", "/go", b"")
        await until(lambda: waiting(store, "l", "http_listen") and waiting(store, "c", "select"))
        print("READY", flush=True)
        await asyncio.sleep(3600)
    elif mode == "parent":
        await eng.spawn("p", "parent_returns", {"pause": 0.5})
        await eng.wait("p", timeout=30)
        print("PARENT DONE", flush=True)    # not reached when the fault point is armed
        await asyncio.sleep(3600)
    else:
        out = {}
        for r in store.list_isolates(limit=1000):
            if r.name == "c":
                await eng.send("c/1", "POST", "/feed", b"")     # so c's child can finish and c return
            try:
                v = await eng.wait(r.name, timeout=30)
                out[r.name] = [v.kind, v.message] if isinstance(v, DSError) else v
            except FlowCancelled:
                out[r.name] = "cancelled"
        print("RESULT " + json.dumps(out, sort_keys=True), flush=True)
        await eng.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
