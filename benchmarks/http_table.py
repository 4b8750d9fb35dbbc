"""http_request overhead: requests per second through flows against bare aiohttp calls to
the same local server.

    .venv/bin/python benchmarks/http_table.py [--quick] [--synchronous FULL|NORMAL]

The server is an aiohttp app answering b"ok" on 127.0.0.1, in its own process so that it
takes the same share of the machine in every row. Rows, each the median of three runs:
bare aiohttp with one shared session (the floor), bare aiohttp with a new session per call
(what http_request did before the engine kept one), and flows, where every http_request
is a durable point: its answer is committed with the flow's next snapshot (one SQLite
transaction per group commit, fsynced with synchronous=FULL). ``c`` is the number of
requests in flight: concurrent bare calls, or isolates each making its share in a loop.
The ratio is flows / bare shared session at the same c.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import benchflows  # noqa: E402
from deepslate import HttpPolicy  # noqa: E402
from deepslate.runtime import Engine  # noqa: E402
from deepslate.store import SQLiteStore  # noqa: E402

SERVER = """
import sys
from aiohttp import web

async def ok(request):
    return web.Response(body=b"ok")

app = web.Application()
app.router.add_get("/ok", ok)

async def main():
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(site._server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()

import asyncio
asyncio.run(main())
"""


class Server:
    """The upstream in its own process."""

    def __init__(self) -> None:
        self.p = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
        self.url = f"http://127.0.0.1:{int(self.p.stdout.readline())}/ok"

    def close(self) -> None:
        self.p.kill()
        self.p.wait()


async def bare(url: str, total: int, c: int, shared: bool = True) -> float:
    """Requests per second of ``total`` GETs, ``c`` at a time."""
    import aiohttp
    session = aiohttp.ClientSession() if shared else None

    async def one() -> None:
        if session is not None:
            async with session.get(url) as r:
                assert await r.read() == b"ok"
            return
        async with aiohttp.ClientSession() as s, s.get(url) as r:
            assert await r.read() == b"ok"

    async def lane(n: int) -> None:
        for _ in range(n):
            await one()
    t = time.perf_counter()
    await asyncio.gather(*(lane(total // c) for _ in range(c)))
    dt = time.perf_counter() - t
    if session is not None:
        await session.close()
    return (total // c) * c / dt


async def flows(url: str, path: str, total: int, c: int, synchronous: str = "FULL") -> float:
    """Requests per second of ``c`` isolates each making ``total // c`` http_request calls."""
    eng = await Engine(SQLiteStore(path, synchronous=synchronous), [benchflows.requests], 4,
                       http_policy=HttpPolicy(retries=0)).start()
    n = total // c
    t = time.perf_counter()
    await asyncio.gather(*(eng.spawn(f"r{i}", "requests", {"url": url, "n": n}) for i in range(c)))
    done = await asyncio.gather(*(eng.wait(f"r{i}") for i in range(c)))
    dt = time.perf_counter() - t
    await eng.stop()
    eng.store.close()
    assert done == [n] * c, done
    return n * c / dt


def measure(url: str, tmp: str, total: int, c: int, synchronous: str) -> dict[str, float]:
    runs = range(3)
    return {
        "shared": statistics.median(asyncio.run(bare(url, total, c)) for _ in runs),
        "per_call": statistics.median(asyncio.run(bare(url, total, c, shared=False)) for _ in runs),
        "flows": statistics.median(asyncio.run(flows(url, os.path.join(tmp, f"h{c}-{r}.db"), total, c, synchronous))
                                   for r in runs),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer requests")
    ap.add_argument("--synchronous", default="FULL", choices=["FULL", "NORMAL"], help="the store's fsync mode")
    a = ap.parse_args()
    total = 600 if a.quick else 3000
    tmp = tempfile.mkdtemp(prefix="deepslate-http-bench-")
    server = Server()
    rows = []
    try:
        for c in (1, 50):
            m = measure(server.url, tmp, total, c, a.synchronous)
            rows.append((f"bare aiohttp, shared session, c={c}", f"{m['shared']:,.0f}", ""))
            rows.append((f"bare aiohttp, session per call, c={c}", f"{m['per_call']:,.0f}",
                         f"{m['per_call'] / m['shared']:.2f}"))
            rows.append((f"http_request in flows, c={c}", f"{m['flows']:,.0f}", f"{m['flows'] / m['shared']:.2f}"))
    finally:
        server.close()
        shutil.rmtree(tmp, ignore_errors=True)
    title = f"{total} GETs, synchronous={a.synchronous}"
    w = max(len(title), *(len(r[0]) for r in rows))
    print(f"{title:<{w}}  {'req/s':>10}  {'ratio':>6}")
    print("-" * (w + 20))
    for r in rows:
        print(f"{r[0]:<{w}}  {r[1]:>10}  {r[2]:>6}")


if __name__ == "__main__":
    main()
