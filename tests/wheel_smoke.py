"""Smoke test of an installed deepslate, run against each built wheel: by cibuildwheel on every
platform (``python {project}/tests/wheel_smoke.py``) and by tests/test_wheel.py in a clean venv.

It compiles a flow, runs it on a SQLite store to its result, then reopens the store and gets the
same result back from it. Prints one line starting ``deepslate smoke ok`` or exits non-zero."""
import os
import sys
import tempfile

import deepslate
from deepslate import flow, impure, new_sqlite, sleep, spawn_workers


@impure
def double(n: int) -> int:
    return 2 * n


@flow
async def smoke(n: int) -> list[int]:
    out: list[int] = []
    for i in range(n):
        out.append(double(i))
        sleep(0.01)
    return out


def run(path: str) -> tuple[object, bool]:
    platform, _ = new_sqlite(path, "127.0.0.1:0")
    spawn, wait, _cancel, stop = spawn_workers(2, platform, [smoke])
    try:
        _, exists = spawn("s", "smoke", {"n": 3})
        return wait("s", timeout=60), exists
    finally:
        stop()


def main() -> int:
    # Windows cannot remove a directory while anything still holds the database open
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as d:
        path = os.path.join(d, "smoke.db")
        first, existed = run(path)
        again, exists = run(path)
    want = [0, 2, 4]
    if first != want or again != want or existed or not exists:
        print(f"deepslate smoke FAILED: first run {first!r} (existed {existed}), "
              f"reopened {again!r} (exists {exists}), want {want!r}", file=sys.stderr)
        return 1
    print(f"deepslate smoke ok: {os.path.dirname(deepslate.__file__)} on Python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
