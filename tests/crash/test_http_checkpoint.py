"""An http_request's answer is checkpointed (DESIGN §2.1): a worker SIGKILLed after the
answer was committed resumes with the same bytes and never calls again; one that died
before that commit calls again, with the same Idempotency-Key, and goes on with the new
answer. The upstream is a real aiohttp server on 127.0.0.1 that counts calls and answers
each with different bytes."""
import os
import signal
import subprocess
import sys
import time

import pytest
from aiohttp import web

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "checkpointworker.py")
sys.path.insert(0, HERE)
from threadserver import ThreadServer  # noqa: E402

pytestmark = pytest.mark.timeout(120)


class CountingUpstream(ThreadServer):
    """Answers call n with b"answer n <nonce>", recording (body, Idempotency-Key)."""

    def __init__(self) -> None:
        self.calls: list[tuple[bytes, str | None]] = []
        super().__init__("GET", "/once", self._answer)

    async def _answer(self, request: web.Request) -> web.Response:
        body = f"answer {len(self.calls) + 1} {os.urandom(8).hex()}".encode()
        self.calls.append((body, request.headers.get("Idempotency-Key")))
        return web.Response(body=body)


@pytest.fixture
def upstream():
    u = CountingUpstream()
    yield u
    u.close()


def worker(store: str, url: str, out: str, faults: str = "") -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([HERE] + sys.path))
    env.pop("DEEPSLATE_FAULTS", None)
    if faults:
        env["DEEPSLATE_FAULTS"] = faults
    return subprocess.Popen([sys.executable, WORKER, store, url, out], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def noted(out: str) -> list[bytes]:
    if not os.path.exists(out):
        return []
    with open(out) as f:
        return [bytes.fromhex(line.strip()) for line in f if line.strip()]


def finish(store: str, url: str, out: str) -> bytes:
    p = worker(store, url, out)
    stdout, stderr = p.communicate(timeout=60)
    assert p.returncode == 0, stderr
    result = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
    assert result, stdout + stderr
    return bytes.fromhex(result[0].split()[1])


def test_an_answer_committed_before_a_sigkill_is_not_asked_again(tmp_path, upstream):
    store, out = str(tmp_path / "s.db"), str(tmp_path / "noted.txt")
    p = worker(store, upstream.url, out)
    try:
        deadline = time.monotonic() + 60
        while not noted(out):                     # the snapshot holding the answer is durable
            assert p.poll() is None, p.communicate()[1]
            assert time.monotonic() < deadline, "the answer was never noted"
            time.sleep(0.002)
        os.kill(p.pid, signal.SIGKILL)
    finally:
        p.kill()
        p.communicate()
    assert p.returncode == -signal.SIGKILL
    assert len(upstream.calls) == 1
    first = upstream.calls[0][0]

    assert finish(store, upstream.url, out) == first
    assert len(upstream.calls) == 1               # the restart did not call again
    assert set(noted(out)) == {first}             # a re-run of the note saw the same bytes


def test_a_crash_before_the_answer_was_committed_asks_again_with_the_same_key(tmp_path, upstream):
    store, out = str(tmp_path / "s.db"), str(tmp_path / "noted.txt")
    # commits: 1 the spawn, 2 the step to http_request, 3 the step holding its answer
    p = worker(store, upstream.url, out, faults="before_commit:3:exit")
    _, stderr = p.communicate(timeout=60)
    assert p.returncode == 137, stderr
    assert len(upstream.calls) == 1 and noted(out) == []       # asked, answer not kept

    result = finish(store, upstream.url, out)
    assert len(upstream.calls) == 2
    assert result == upstream.calls[1][0] != upstream.calls[0][0]
    assert upstream.calls[0][1] == upstream.calls[1][1] and upstream.calls[0][1]
    assert noted(out) == [result]
