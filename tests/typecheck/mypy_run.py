"""Running mypy --strict as a subprocess, with the project's configuration and this
checkout's sources, and reading its errors as (file, line, message)."""
from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONFIG = ROOT / "pyproject.toml"
ERROR = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+): error: (?P<msg>.*)$", re.M)


def mypy(targets: list[str], cwd: pathlib.Path, cache: pathlib.Path) -> tuple[int, str]:
    """(exit status, output) of ``mypy --strict`` on ``targets``; this checkout's src comes
    first on the search path, so an installed copy of deepslate is not what gets checked."""
    env = dict(os.environ, MYPYPATH=str(ROOT / "src"))
    cmd = [sys.executable, "-m", "mypy", "--config-file", str(CONFIG), "--strict", "--cache-dir", str(cache),
           "--no-error-summary", "--show-error-codes", "--hide-error-context", *targets]
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if r.returncode not in (0, 1):
        raise AssertionError(f"mypy could not run (status {r.returncode}):\n{r.stdout}{r.stderr}")
    return r.returncode, r.stdout


def errors(output: str) -> list[tuple[str, int, str]]:
    return [(m["file"], int(m["line"]), m["msg"]) for m in ERROR.finditer(output)]
