"""A worker for the enumerated crash points: a zygote that forks one worker per job.

usage: pointworker.py        (then one JSON job per stdin line)
A job is {"store", "effects", "mode", "faults", "report", "url"}. The zygote has
compiled every flow before it forks; the child arms ``faults`` (DEEPSLATE_FAULTS
syntax), runs ``mode`` to its end and prints RESULT <json>, or STOREERROR <message>
when the engine stopped on a store failure. The zygote then prints EXIT <status>
(137 when a fault point ended the process).
"""
import asyncio
import json
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pointflows as pf  # noqa: E402
from deepslate import new_sqlite, spawn_workers  # noqa: E402
from deepslate import _faults as faults  # noqa: E402
from deepslate.store import StoreError  # noqa: E402

# mode -> (flow, top-level isolates, n, children per isolate)
MODES = {
    "impure": ("impures", 3, 5, 0),
    "sleep": ("sleeper", 3, 4, 0),
    "http_request": ("caller", 3, 4, 0),
    "http_listen": ("listener", 2, 4, 0),
    "queue": ("queues", 2, 6, 2),
    "lock": ("locks", 2, 3, 3),
    "waitgroup": ("waitgroups", 2, 3, 6),
    "create_task": ("tasks", 2, 4, 4),
    "spawn": ("one", 8, 1, 0),
    "return": ("one", 6, 2, 0),
}


def names(mode):
    flow, count, n, kids = MODES[mode]
    tops = [f"{mode}{k}" for k in range(count)]
    return tops, [f"{t}/{c}" for t in tops for c in range(1, kids + 1)]


def expected(mode):
    """Every isolate's result, computed here in plain Python."""
    flow, count, n, kids = MODES[mode]
    tops, children = names(mode)
    want = {}
    for t in tops:
        want[t] = {"impures": sum(range(n)), "sleeper": sum(range(n)), "caller": sum(range(n)), "listener": n,
                   "queues": n, "locks": 3 * n, "waitgroups": sum(range(n)), "tasks": n, "one": n}[flow]
    for c in children:
        want[c] = None
    return want


def expected_calls(mode):
    """(who, call_index) of every @impure call a finished run makes (listener: by delivery)."""
    flow, count, n, kids = MODES[mode]
    tops, _ = names(mode)
    out = set()
    for t in tops:
        if flow in ("impures", "sleeper", "caller", "listener"):
            out |= {(t, i) for i in range(n)}
        elif flow == "queues":
            out |= {(f"{t}.c*", i) for i in range(n)}       # which consumer takes an item varies
        elif flow == "locks":
            out |= {(f"{t}.h{w}", i) for w in range(3) for i in range(n)}
        elif flow == "waitgroups":
            out |= {(w, r) for w in (t, t + ".a", t + ".b") for r in range(n)}
        elif flow == "tasks":
            out |= {(f"{t}.t{i}", 0) for i in range(n)}
        else:
            out.add((t, 0))
    return out


def main(job):
    mode, effects = job["mode"], job["effects"]
    flow, count, n, kids = MODES[mode]
    platform, _ = new_sqlite(job["store"], synchronous="NORMAL", listen_addr="127.0.0.1:0")
    if job.get("slow_commit"):
        # a slow disk: steps pile up while a batch is written, so the next batch holds several
        # isolates (what mid_group_commit needs to be reached)
        inner = platform.store.commit_batch

        def slow(*args):
            time.sleep(job["slow_commit"])
            return inner(*args)
        platform.store.commit_batch = slow
    try:
        spawn, wait, cancel, stop = spawn_workers(4, platform, pf.FLOWS)
    except Exception as e:
        print(f"STARTERROR {type(e).__name__}: {e}", flush=True)
        return 3
    eng, call = platform.engine, platform.runner.call
    if job.get("slow_commit"):
        call(_linger(eng.writer))
    tops, children = names(mode)
    try:
        extra = {"url": job["url"]} if flow == "caller" else {}
        if mode == "spawn" or job.get("slow_commit"):
            # concurrent spawns, so that several of them share a group commit
            async def many():
                return await asyncio.gather(*(eng.spawn(t, flow, {"path": effects, "who": t, "n": n, **extra})
                                              for t in tops))
            call(many())
        else:
            for t in tops:
                spawn(t, flow, {"path": effects, "who": t, "n": n, **extra})
        if mode == "http_listen":
            acks = effects + ".acks"
            acked = set()
            if os.path.exists(acks):
                with open(acks) as f:
                    acked = {tuple(line.split()) for line in f if line.strip()}

            async def send(t, seq):
                with open(effects + ".sends", "a") as f:
                    f.write(f"{t} {seq}\n")
                await eng.send(t, "POST", "/in", str(seq).encode())
                with open(acks, "a") as f:            # the sender's view: this one was acknowledged
                    f.write(f"{t} {seq}\n")

            async def burst(seq):
                await asyncio.gather(*(send(t, seq) for t in tops if (t, str(seq)) not in acked))
            for seq in range(n):
                if job.get("slow_commit"):
                    call(burst(seq))                  # every listener gets one at once: one batch
                else:
                    for t in tops:
                        if (t, str(seq)) not in acked:
                            call(send(t, seq))
        print("READY", flush=True)
        results = {nm: wait(nm, timeout=60) for nm in tops + children}
    except (StoreError, sqlite3.Error) as e:       # the engine stopped on a failed write
        print(f"STOREERROR {type(e).__name__}: {e}", flush=True)
        return 3
    stop()
    print("RESULT " + json.dumps(results), flush=True)
    return 0


class _LingerEvent(asyncio.Event):
    """The writer's wake-up, held back until two steps wait or 50 ms have passed.

    Inbox sends and steps share one database thread, so without it two isolates' steps
    often reach the writer one batch apart and mid_group_commit is never between rows."""

    def __init__(self, writer):
        super().__init__()
        self.writer = writer
        self.timer = None

    def _fire(self):
        self.timer = None
        super().set()

    def set(self):
        if len(self.writer._buf) >= 2 or self.writer._closed:
            if self.timer is not None:
                self.timer.cancel()
            self._fire()
        elif self.timer is None:
            self.timer = asyncio.get_running_loop().call_later(0.05, self._fire)


async def _linger(writer):
    old, writer._wake = writer._wake, _LingerEvent(writer)
    old.set()                       # the writer may be waiting on the old event: move it over


def zygote():
    for f in pf.FLOWS:
        f.program                                                  # compile and link before forking
    print("ZYGOTE", flush=True)
    for line in sys.stdin:
        if not line.strip():
            break
        job = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                faults.configure(job.get("faults"), job.get("report"))
                code = main(job)
            except BaseException:
                import traceback
                traceback.print_exc()
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        print(f"PID {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"EXIT {os.waitstatus_to_exitcode(status)}", flush=True)


if __name__ == "__main__":
    zygote()
