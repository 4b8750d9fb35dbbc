"""A worker for test_http_checkpoint.py.

usage: checkpointworker.py STORE URL OUT
Spawns (or finds, after a restart) isolate "c" running fetch_once(URL, OUT), prints READY,
then RESULT <hex of the body> once it is done. DEEPSLATE_FAULTS arms fault points."""
import sys

import checkpointflows as cf
from deepslate import new_sqlite, spawn_workers


def main(store: str, url: str, out: str) -> None:
    platform, _ = new_sqlite(store)
    spawn, wait, cancel, stop = spawn_workers(2, platform, [cf.fetch_once])
    spawn("c", "fetch_once", {"url": url, "out": out})
    print("READY", flush=True)
    r = wait("c", timeout=60)
    print("RESULT " + (r.hex() if isinstance(r, bytes) else repr(r)), flush=True)
    stop()


if __name__ == "__main__":
    main(*sys.argv[1:])
