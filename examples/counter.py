"""The README's counter: a durable flow that counts up forever, one tick per second.

    .venv/bin/python examples/counter.py [--store counters.db] [--seconds 5]

Stop it (Ctrl+C or --seconds) and run it again: the count goes on where it stopped."""
import argparse
import time

from deepslate import flow, new_sqlite, sleep, spawn_workers
from deepslate.runtime.cli import frames_of
from deepslate.runtime.doors import Platform


@flow
async def counter() -> None:
    count: int = 0
    while True:
        sleep(1.0)
        count = count + 1


def current_count(platform: Platform, name: str) -> int:
    row = platform.store.get_isolate(name)
    if row is None:
        return 0
    frames = frames_of(platform.store, row)
    return int(frames[0]["locals"].get("count", 0)) if frames else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--store", default="counters.db")
    ap.add_argument("--seconds", type=float, default=None, help="stop after this long (default: never)")
    ap.add_argument("--listen", default="127.0.0.1:8765", help="HTTP ingress address (port 0: any free port)")
    a = ap.parse_args()
    platform, _ = new_sqlite(a.store, a.listen)
    spawn, wait, cancel, stop = spawn_workers(4, platform, [counter()])
    id_, exists = spawn("my-counter", "counter", {})
    print(f"my-counter: id {id_}, {'resumed' if exists else 'new'}", flush=True)
    t0 = time.monotonic()
    try:
        while a.seconds is None or time.monotonic() - t0 < a.seconds:
            time.sleep(0.5)
            print(f"count = {current_count(platform, 'my-counter')}", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        stop()


if __name__ == "__main__":
    main()
