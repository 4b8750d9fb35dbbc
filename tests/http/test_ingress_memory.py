"""Refusing many large uploads at once holds memory bounded: 200 concurrent 10 MB bodies,
half with Content-Length and half chunked, against a server process whose peak RSS is read
from /proc. Nothing is buffered past the limit, so the peak grows by far less than the
2 GB the bodies add up to."""
import asyncio
import os
import sqlite3
import subprocess
import sys

import aiohttp
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
UPLOADS, SIZE, CHUNK = 200, 10 << 20, 64 << 10


def peak_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc status")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads peak RSS from /proc")
@pytest.mark.timeout(120)
def test_200_concurrent_10mb_uploads_are_refused_in_bounded_memory(tmp_path):
    store = str(tmp_path / "s.db")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    p = subprocess.Popen([sys.executable, os.path.join(HERE, "ingressworker.py"), store, "memory"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    try:
        line = p.stdout.readline().decode()
        assert line.startswith("URL "), line
        url = line.split()[1] + "/l/numbers"
        before = peak_kib(p.pid)
        statuses = asyncio.run(_upload_all(url))
        after = peak_kib(p.pid)
    finally:
        p.stdin.close()
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    answered = [s for s in statuses if isinstance(s, int)]
    assert answered and all(s == 413 for s in answered), statuses[:10]
    # a refused upload may also see its connection closed while it still sends; most get the 413
    assert len(answered) >= UPLOADS // 2, [s for s in statuses if not isinstance(s, int)][:5]
    growth_mib = (after - before) / 1024
    print(f"peak RSS growth {growth_mib:.1f} MiB for {UPLOADS} x {SIZE >> 20} MiB refused "
          f"({len(answered)} answered 413)")
    assert growth_mib < 200, f"peak RSS grew by {growth_mib:.0f} MiB"
    db = sqlite3.connect(store)
    assert db.execute("SELECT count(*) FROM inbox").fetchone()[0] == 0
    db.close()


async def _upload_all(url: str) -> list:
    block = b"u" * CHUNK

    async def body():
        for _ in range(SIZE // CHUNK):
            yield block

    async def one(i: int, s: aiohttp.ClientSession):
        headers = {"Content-Length": str(SIZE)} if i % 2 else {}      # odd: declared, even: chunked
        try:
            async with s.post(url, data=body(), headers=headers) as r:
                return r.status
        except (aiohttp.ClientError, ConnectionError) as e:
            return type(e).__name__

    conn = aiohttp.TCPConnector(limit=UPLOADS)
    async with aiohttp.ClientSession(connector=conn, timeout=aiohttp.ClientTimeout(total=90)) as s:
        return await asyncio.gather(*[one(i, s) for i in range(UPLOADS)])
