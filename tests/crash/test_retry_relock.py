"""A retried isolate takes back the lock its snapshot holds, across SIGKILLs (issue 7).

f takes the lock and fails inside its critical section; g takes the lock and holds it for a
second; f is retried and must wait for g. The worker is SIGKILLed at random points while the
lock goes from g back to f (g's timer, its release, f's relock commit, f's steps), restarted
each time; the enter/exit log kept outside the store must show g leave before f does."""
import os
import random
import signal
import subprocess
import sys
import time

import pytest

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "relockworker.py")
KILLS = int(os.environ.get("DEEPSLATE_RELOCK_KILLS", "6"))
pytestmark = pytest.mark.timeout(300)


def start(phase, store, effects):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    env.pop("DEEPSLATE_FAULTS", None)
    return subprocess.Popen([sys.executable, WORKER, phase, store, effects], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def test_a_retry_takes_its_lock_back_across_sigkills(tmp_path):
    seed = int(os.environ.get("DEEPSLATE_CRASH_SEED", "7"))
    rng = random.Random(seed)
    store, effects = str(tmp_path / "s.db"), str(tmp_path / "effects.log")
    open(effects, "w").close()
    p = start("setup", store, effects)
    try:
        lines = []
        while not lines or lines[-1] != "READY":
            line = p.stdout.readline()
            assert line, p.stderr.read()[-3000:]
            lines.append(line.strip())
        assert "FAILED FlowFailed" in lines, lines
        time.sleep(rng.uniform(0.0, 0.8))
    finally:
        p.kill()
        p.wait()
    for _ in range(KILLS):                 # kill the resumed worker at random points too
        p = start("resume", store, effects)
        time.sleep(rng.uniform(0.3, 1.5))
        p.send_signal(signal.SIGKILL)
        p.wait()
    p = start("resume", store, effects)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, f"seed {seed}: {err[-3000:]}"
    result = [line for line in out.splitlines() if line.startswith("RESULT ")]
    assert result == ['RESULT {"f": 7, "g": 7}'], f"seed {seed}: {out} {err[-2000:]}"
    # a re-run of the same call (a kill between its run and its commit) has the same key
    seen, log = set(), []
    for line in open(effects).read().splitlines():
        what, who, key = line.split()
        if (what, who, key) not in seen:
            seen.add((what, who, key))
            log.append(f"{what} {who}")
    assert log == ["enter f", "enter g", "exit g", "exit f"], f"seed {seed}: {log}"
