"""scripts/_venv.sh, which lets ./scripts/demo and ./scripts/test skip setting up .venv again: its
stamp follows the contents of what the venv was set up from, not the files' times."""
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the scripts are bash")


@pytest.fixture
def checkout(tmp_path):
    # a real interpreter where the scripts expect the venv's
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").symlink_to(sys.executable)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "setup.py").write_text("# setup\n")
    return tmp_path


def sh(cwd, script, env=None):
    return subprocess.run(["bash", "-c", f"set -euo pipefail; . {ROOT / 'scripts' / '_venv.sh'}; {script}"],
                          cwd=cwd, capture_output=True, text=True, timeout=60,
                          env=(os.environ | (env or {})))


def stamp(cwd, env=None):
    p = sh(cwd, "stamp_of pyproject.toml setup.py", env)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def test_stamp_follows_contents_not_times(checkout):
    first = stamp(checkout)
    assert len(first) == 64
    os.utime(checkout / "setup.py", (1, 1))
    assert stamp(checkout) == first
    (checkout / "setup.py").write_text("# setup, edited\n")
    assert stamp(checkout) != first


def test_stamp_tells_a_debug_build_apart(checkout):
    assert stamp(checkout, {"DEEPSLATE_DEBUG": "1"}) != stamp(checkout, {"DEEPSLATE_DEBUG": ""})


def test_stamp_matches_only_the_written_stamp(checkout):
    want = stamp(checkout)
    assert sh(checkout, f"stamp_matches .venv/.s {want}").returncode == 1      # no stamp yet
    (checkout / ".venv" / ".s").write_text(want + "\n")
    assert sh(checkout, f"stamp_matches .venv/.s {want}").returncode == 0
    assert sh(checkout, f"stamp_matches .venv/.s {'0' * 64}").returncode == 1


def test_stamp_of_a_missing_file_fails_naming_it(checkout):
    p = sh(checkout, "stamp_of pyproject.toml nosuch.pyx")
    assert p.returncode != 0
    assert "nosuch.pyx" in p.stderr, p.stderr


def test_ensure_venv_keeps_an_existing_venv(checkout):
    before = os.readlink(checkout / ".venv" / "bin" / "python")
    assert sh(checkout, "ensure_venv", {"PYTHON": "/nonexistent/python"}).returncode == 0
    assert os.readlink(checkout / ".venv" / "bin" / "python") == before
