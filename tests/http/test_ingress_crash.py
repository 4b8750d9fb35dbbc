"""Acknowledged means delivered, across SIGKILLs: clients post to many isolates while the
serving process is killed and restarted; every 202 is delivered exactly once, in order per
(isolate, route), and posts that got no answer are sent again with the same delivery id
until one is acknowledged, so none is lost and none lands twice.

Sizes: DEEPSLATE_INGRESS_ISOLATES (100) x DEEPSLATE_INGRESS_STEPS (20) posts,
DEEPSLATE_INGRESS_KILLS (5) kills; nightly runs raise them."""
import asyncio
import json
import os
import random
import signal
import subprocess
import sys

import aiohttp
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ISOLATES = int(os.environ.get("DEEPSLATE_INGRESS_ISOLATES", "100"))
STEPS = int(os.environ.get("DEEPSLATE_INGRESS_STEPS", "20"))
KILLS = int(os.environ.get("DEEPSLATE_INGRESS_KILLS", "5"))


class Server:
    """The serving process, restarted after each kill."""

    def __init__(self, store: str):
        self.store = store
        self.p: subprocess.Popen | None = None
        self.url = ""
        self.starts = 0

    def start(self) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), DEEPSLATE_INGRESS_ISOLATES=str(ISOLATES),
                   DEEPSLATE_INGRESS_STEPS=str(STEPS))
        env.pop("DEEPSLATE_FAULTS", None)
        self.p = subprocess.Popen([sys.executable, os.path.join(HERE, "ingressworker.py"), self.store, "crash"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
        line = self.p.stdout.readline()
        assert line.startswith("URL "), f"the server did not start: {line!r}"
        self.url = line.split()[1]
        self.starts += 1

    def kill(self) -> None:
        self.p.send_signal(signal.SIGKILL)
        self.p.wait()
        self.url = ""


@pytest.mark.timeout(120)
def test_acknowledged_posts_survive_sigkill_exactly_once_in_order(tmp_path):
    server = Server(str(tmp_path / "s.db"))
    server.start()
    try:
        stats = asyncio.run(_run(server))
        server.p.stdin.write("results\n")
        server.p.stdin.flush()
        line = server.p.stdout.readline()
        assert line.startswith("RESULTS "), line
        results = json.loads(line[len("RESULTS "):])
    finally:
        if server.p.poll() is None:
            server.p.stdin.close()
            try:
                server.p.wait(30)
            except subprocess.TimeoutExpired:
                server.p.kill()
    print(f"{ISOLATES * STEPS} posts, {server.starts - 1} kills, {stats['retries']} retries, "
          f"{stats['duplicates']} answered as repeats")
    assert server.starts - 1 == KILLS
    for i in range(ISOLATES):
        assert results[f"c{i}"] == [f"{i}:{s}" for s in range(STEPS)], f"c{i}"


async def _run(server: Server) -> dict:
    stats = {"retries": 0, "duplicates": 0}
    done = asyncio.Event()
    left = [ISOLATES]
    rng = random.Random(int(os.environ.get("DEEPSLATE_CRASH_SEED", "3")))

    async def sender(i: int, s: aiohttp.ClientSession) -> None:
        for seq in range(STEPS):
            body = f"{i}:{seq}"
            while True:
                url = server.url
                if not url:
                    await asyncio.sleep(0.02)
                    continue
                try:
                    async with s.post(f"{url}/c{i}/numbers", data=body.encode(),
                                      headers={"Idempotency-Key": body}) as r:
                        if r.status == 202:
                            stats["duplicates"] += (await r.json())["duplicate"]
                            break
                        if r.status == 410:
                            # the isolate has ended, so it took every message, this one too: a
                            # retry of the last post whose 202 the kill cut off (the results below
                            # check it was taken once)
                            assert seq == STEPS - 1, (seq, await r.text())
                            stats["duplicates"] += 1
                            break
                        assert r.status == 503, (r.status, await r.text())   # stopping
                except (aiohttp.ClientError, ConnectionError, asyncio.TimeoutError):
                    pass
                stats["retries"] += 1      # no answer: it may or may not have landed; send it again
                await asyncio.sleep(0.02)
        left[0] -= 1
        if not left[0]:
            done.set()

    async def killer() -> None:
        for _ in range(KILLS):
            await asyncio.sleep(rng.uniform(0.2, 0.8))
            server.kill()
            await asyncio.to_thread(server.start)
        await done.wait()

    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=ISOLATES)) as s:
        await asyncio.gather(killer(), *[sender(i, s) for i in range(ISOLATES)])
    return stats
