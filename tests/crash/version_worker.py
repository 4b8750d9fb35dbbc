"""A worker for the code-version test: runs the flow module of one deployment.

usage: version_worker.py FLOWDIR STORE EFFECTS SPAWN WAIT SECS
Imports pinned_flows from FLOWDIR (version_h1 or version_h2), prints HASH <program hash>,
spawns the comma-separated SPAWN names (an existing name is left as it is) with a sleep of
SECS, prints READY, then RESULT <json> once every WAIT and SPAWN isolate finished."""
import asyncio
import json
import sys

from deepslate import new_sqlite, spawn_workers


def main(flowdir: str, store: str, effects: str, spawn_names: str, wait_names: str, secs: str) -> None:
    sys.path.insert(0, flowdir)
    import pinned_flows
    print("HASH " + pinned_flows.pinned.program.hash.hex(), flush=True)
    platform, _ = new_sqlite(store, listen_addr="127.0.0.1:0")
    spawn, wait, cancel, stop = spawn_workers(4, platform, [pinned_flows.pinned])
    names = [n for n in spawn_names.split(",") if n]
    eng = platform.engine

    async def spawn_all() -> None:      # at once: each isolate's sleep must outlast the spawning
        await asyncio.gather(*(eng.spawn(n, "pinned", {"path": effects, "who": n, "secs": float(secs)})
                               for n in names))
    platform.runner.call(spawn_all())
    print("READY", flush=True)
    results = {n: wait(n, timeout=60) for n in [w for w in wait_names.split(",") if w] + names}
    stop()
    print("RESULT " + json.dumps(results), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:7])
