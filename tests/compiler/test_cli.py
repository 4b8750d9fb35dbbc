"""``deepslate check`` and ``deepslate dis`` as a user runs them: real subprocesses."""
from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import driver

ROOT = pathlib.Path(__file__).resolve().parents[2]

BAD = '''\
from deepslate import flow


@flow
async def wrong_type(n: int) -> int:
    x: int = "text"
    return x


@flow
async def uses_exceptions() -> int:
    try:
        return 1
    except ValueError:
        return 2
'''


def deepslate(*args: str, cwd: pathlib.Path = ROOT) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(driver.CORPUS), PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([sys.executable, "-m", "deepslate.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def test_help_lists_check_and_dis() -> None:
    r = deepslate("--help")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "check" in r.stdout and "dis" in r.stdout, r.stdout + r.stderr


def test_check_good_file() -> None:
    path = driver.CORPUS / "algorithms.py"
    r = deepslate("check", str(path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "error" not in (r.stdout + r.stderr).lower()


def test_check_good_module_by_name() -> None:
    r = deepslate("check", "flow_calls")
    assert r.returncode == 0, r.stdout + r.stderr


def test_check_bad_file_prints_every_error(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "bad_flows.py"
    path.write_text(BAD)
    r = deepslate("check", str(path), cwd=tmp_path)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    positions = set(re.findall(r"bad_flows\.py:(\d+):(\d+): ", out))
    assert ("6", "14") in positions, out           # the str assigned to an int, at the literal
    assert ("12", "5") in positions, out           # try/except is not flow code, at the try
    assert '        x: int = "text"\n                 ^^^^^^' in out, out   # source line and caret
    assert "Traceback" not in out


def test_check_missing_file(tmp_path: pathlib.Path) -> None:
    r = deepslate("check", str(tmp_path / "nope.py"))
    assert r.returncode != 0
    assert "nope.py" in r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr


def test_dis_file_flow() -> None:
    path = driver.CORPUS / "while_loops.py"
    r = deepslate("dis", f"{path}:collatz")
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert re.search(r"\bIMOD\b", out), out          # n is an int: the integer modulo
    assert "RETURN" in out
    src = path.read_text().splitlines()
    body_line = next(n for n, line in enumerate(src, 1) if "n = 3 * n + 1" in line)
    assert re.search(rf"\b{body_line}\b", out), out


def test_dis_module_flow() -> None:
    r = deepslate("dis", "flow_calls:fib")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "CALLFLOW" in r.stdout


def test_dis_unknown_flow() -> None:
    r = deepslate("dis", f"{driver.CORPUS / 'while_loops.py'}:no_such_flow")
    assert r.returncode != 0
    assert "no_such_flow" in r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr


def test_dis_needs_a_flow_name() -> None:
    r = deepslate("dis", str(driver.CORPUS / "while_loops.py"))
    assert r.returncode != 0
    assert "Traceback" not in r.stdout + r.stderr
