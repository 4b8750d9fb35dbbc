"""A worker for the retry-under-SIGKILL test: a retried isolate takes its lock back.

usage: relockworker.py setup STORE EFFECTS   f takes the lock and fails inside its critical
                                              section (a provider down); g takes the lock and
                                              holds it for a second; f is retried (the
                                              provider is back) and waits for the lock; READY
usage: relockworker.py resume STORE EFFECTS  start on the store, wait for f and g, RESULT <json>

Every enter/exit of the critical section is appended to EFFECTS with its idempotency key,
outside the store; the test SIGKILLs these processes at random points while the lock goes
from g back to f."""
import json
import os
import sys
import time

from deepslate import dpslio, flow, idempotency_key, impure, new_sqlite, sleep, spawn_workers


@impure
def note(path: str, what: str, who: str) -> None:
    with open(path, "a") as f:
        f.write(f"{what} {who} {idempotency_key()}\n")


@impure
def provider(path: str) -> int:
    if os.path.exists(path + ".down"):
        raise ConnectionError("provider down")
    return 7


@flow
async def holder(mu: dpslio.Lock, path: str, who: str, hold: float) -> int:
    await mu.acquire()
    note(path, "enter", who)
    sleep(hold)
    v: int = provider(path)
    note(path, "exit", who)
    await mu.release()
    return v


@flow
async def scene(path: str) -> int:
    mu: dpslio.Lock = dpslio.Lock()
    dpslio.create_task(holder(mu, path, "f", 0.0))
    sleep(0.2)
    dpslio.create_task(holder(mu, path, "g", 1.0))
    sleep(3600.0)
    return 0


def main(phase: str, store: str, effects: str) -> None:
    platform, _ = new_sqlite(store, synchronous="NORMAL", listen_addr="127.0.0.1:0")
    spawn, wait, cancel, stop = spawn_workers(2, platform, [scene])
    eng, call = platform.engine, platform.runner.call
    if phase == "setup":
        open(effects + ".down", "w").close()
        spawn("s", "scene", {"path": effects})
        deadline = time.time() + 10
        while platform.store.get_isolate("s/1") is None and time.time() < deadline:
            time.sleep(0.01)               # the child is made by the parent's first steps
        try:
            wait("s/1", timeout=10)
        except Exception as e:             # noqa: BLE001 - the failure is the point
            print(f"FAILED {type(e).__name__}", flush=True)
        deadline = time.time() + 10
        while "enter g" not in open(effects).read() and time.time() < deadline:
            time.sleep(0.01)
        os.remove(effects + ".down")
        assert call(eng.retry("s/1")) is True
        print("READY", flush=True)
        time.sleep(3600)
    else:
        print("RESULT " + json.dumps({"f": wait("s/1", timeout=60), "g": wait("s/2", timeout=60)}), flush=True)
        stop()


if __name__ == "__main__":
    main(*sys.argv[1:4])
