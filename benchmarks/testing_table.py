"""The testing kit's virtual time, measured: a flow that sleeps 30 days twelve times, with an
approval (http_listen) after the sixth sleep, run to completion under ``deepslate.testing``.

    .venv/bin/python benchmarks/testing_table.py [--rounds 20]

Prints the real time of the whole run (open the Env, spawn, send the approval, wait, close)
and of the flow alone (spawn to result), for the sync ``Env`` and the ``AsyncEnv``; and the
cost of a flow's ``now()`` on the real clock, which now reads the thread's flow clock."""
import argparse
import asyncio
import statistics
import sys
import time
import timeit

from deepslate import DSError, flow, http_listen, now, sleep, testing
from deepslate._builtins import b_now

DAY = 86400.0


@flow
async def subscription(customer: str) -> int:
    months: int = 0
    while months < 12:
        if months == 6:
            ok: bytes | DSError = http_listen("POST", "/approve")
        sleep(30 * DAY)
        months = months + 1
    return months


def sync_round() -> tuple[float, float]:
    t0 = time.perf_counter()
    with testing.Env([subscription]) as env:
        t1 = time.perf_counter()
        env.spawn("sub", subscription, customer="ann")
        env.send("sub", "POST", "/approve", b"{}")
        assert env.wait("sub") == 12
        t2 = time.perf_counter()
        assert env.isolate("sub").status == "done"
    return time.perf_counter() - t0, t2 - t1


async def async_round() -> tuple[float, float]:
    t0 = time.perf_counter()
    async with testing.AsyncEnv([subscription]) as env:
        t1 = time.perf_counter()
        start = env.now()
        await env.spawn("sub", subscription, customer="ann")
        await env.send("sub", "POST", "/approve", b"{}")
        assert await env.wait("sub") == 12
        t2 = time.perf_counter()
        assert env.now() - start == 360 * DAY
    return time.perf_counter() - t0, t2 - t1


def line(label: str, xs: list[float]) -> str:
    xs = sorted(xs)
    return (f"{label:<38} median {statistics.median(xs) * 1e3:7.1f} ms   min {xs[0] * 1e3:7.1f} ms   "
            f"max {xs[-1] * 1e3:7.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=20)
    a = ap.parse_args()
    sync = [sync_round() for _ in range(a.rounds)]
    asy = [asyncio.run(async_round()) for _ in range(a.rounds)]
    print(f"360 days of sleeps (12 x 30 days) with an approval in the middle, {a.rounds} rounds, "
          f"Python {sys.version.split()[0]}")
    print(line("Env: open, run, close", [s[0] for s in sync]))
    print(line("Env: spawn to result", [s[1] for s in sync]))
    print(line("AsyncEnv: open, run, close", [s[0] for s in asy]))
    print(line("AsyncEnv: spawn to result", [s[1] for s in asy]))
    n = 1_000_000
    direct = min(timeit.repeat(time.time, number=n, repeat=5)) / n
    flowclock = min(timeit.repeat(b_now, number=n, repeat=5)) / n
    print(f"now() on the real clock: {flowclock * 1e9:.0f} ns a call (time.time itself: {direct * 1e9:.0f} ns)")


if __name__ == "__main__":
    main()
