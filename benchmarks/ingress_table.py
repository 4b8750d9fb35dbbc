"""HTTP ingress figures on SQLite (synchronous=FULL: every acknowledged request is fsynced).

    .venv/bin/python benchmarks/ingress_table.py [--quick]

- acknowledged requests per second: C concurrent clients post to 100 isolates that listen in
  a loop; a request counts once it is answered 202 (its message committed). Median of 3.
- POST -> flow resumed, p50/p99: S senders, each to its own isolate, post one message at a
  time; the flow's next step after http_listen calls an async @impure that notes the time.
  That call runs only once the step that took the message is durable, so the figure holds
  two commits: the message's and the listener's step. The clients run in this process's
  main thread, the engine in its own (spawn_workers), sharing the GIL and the machine's
  two cores.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import aiohttp

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import ingressflows  # noqa: E402
from deepslate import new_sqlite, spawn_workers  # noqa: E402


def _engine(path: str, isolates: int, flow: str):
    platform, _ = new_sqlite(path, "127.0.0.1:0")
    spawn, wait, cancel, stop = spawn_workers(4, platform, [ingressflows.sink, ingressflows.stamped_sink])
    for i in range(isolates):
        spawn(f"i{i}", flow, {})
    return platform.engine.ingress_url, stop


async def _throughput(url: str, isolates: int, clients: int, total: int) -> float:
    todo = iter(range(total))

    async def client(s: aiohttp.ClientSession) -> None:
        for n in todo:
            async with s.post(f"{url}/i{n % isolates}/in", data=b"m%d" % n) as r:
                assert r.status == 202, r.status

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients)) as s:
        t = time.perf_counter()
        await asyncio.gather(*[client(s) for _ in range(clients)])
        return total / (time.perf_counter() - t)


def throughput(tmp: str, clients: int, total: int, isolates: int = 100) -> float:
    url, stop = _engine(os.path.join(tmp, f"t{clients}-{time.monotonic_ns()}.db"), isolates, "sink")
    try:
        return asyncio.run(_throughput(url, isolates, clients, total))
    finally:
        stop()


async def _latency(url: str, senders: int, each: int) -> list[float]:
    out: list[float] = []

    async def sender(i: int, s: aiohttp.ClientSession) -> None:
        for n in range(each):
            body = b"s%d-%d" % (i, n)
            fut = asyncio.get_running_loop().create_future()
            ingressflows.WAITING[body] = (asyncio.get_running_loop(), fut)
            t = time.perf_counter()
            async with s.post(f"{url}/i{i}/in", data=body) as r:
                assert r.status == 202, r.status
            out.append(await fut - t)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=senders)) as s:
        await asyncio.gather(*[sender(i, s) for i in range(senders)])
    return out


def latency(tmp: str, senders: int, each: int) -> tuple[float, float]:
    url, stop = _engine(os.path.join(tmp, f"l{senders}-{time.monotonic_ns()}.db"), senders, "stamped_sink")
    try:
        d = sorted(asyncio.run(_latency(url, senders, each)))
    finally:
        stop()
    return d[len(d) // 2], d[min(len(d) - 1, int(len(d) * 0.99))]


def open_loop(tmp: str, isolates: int, rate: float, seconds: float) -> tuple[float, float, float]:
    """p50, p99 and max of POST -> flow resumed, posted at a steady rate from another process."""
    url, stop = _engine(os.path.join(tmp, f"o{rate}-{time.monotonic_ns()}.db"), isolates, "stamped_sink")
    try:
        out = subprocess.run([sys.executable, os.path.join(HERE, "ingress_client.py"), url, str(isolates),
                              str(rate), str(seconds)], capture_output=True, text=True, check=True)
        sent = json.loads(out.stdout)
        deadline = time.monotonic() + 10
        while len(ingressflows.STAMPS) < len(sent) and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop()
    assert all(status == 202 for _, _, status in sent)
    d = sorted(ingressflows.STAMPS.pop(body.encode()) - t for body, t, _ in sent)
    ingressflows.STAMPS.clear()
    return d[len(d) // 2], d[min(len(d) - 1, int(len(d) * 0.99))], d[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller workloads")
    a = ap.parse_args()
    total = 2000 if a.quick else 10000
    each = 50 if a.quick else 200
    with tempfile.TemporaryDirectory() as tmp:
        print("| ingress on SQLite (FULL) | figure |")
        print("|---|---|")
        for clients in (1, 10, 50):
            rates = [throughput(tmp, clients, total // (5 if clients == 1 else 1)) for _ in range(3)]
            print(f"| acknowledged requests/s, {clients} concurrent clients | {statistics.median(rates):,.0f} |",
                  flush=True)
        for senders in (1, 10):
            p50, p99 = latency(tmp, senders, each)
            print(f"| POST -> flow resumed, {senders} sender(s): p50 / p99 | "
                  f"{p50 * 1e3:.2f} ms / {p99 * 1e3:.2f} ms |", flush=True)
        for rate in (100, 500, 1000):
            p50, p99, top = open_loop(tmp, 20, rate, 2.0 if a.quick else 5.0)
            print(f"| POST -> flow resumed, {rate} posts/s from another process: p50 / p99 / max | "
                  f"{p50 * 1e3:.2f} ms / {p99 * 1e3:.2f} ms / {top * 1e3:.2f} ms |", flush=True)


if __name__ == "__main__":
    main()
