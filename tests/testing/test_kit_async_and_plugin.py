"""AsyncEnv on the test's own loop, and the pytest plugin's fixtures (run in a pytest of their own)."""
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

import kitflows
from kitflows import DAY
from deepslate import testing
from test_kit_time import START

pytestmark = pytest.mark.timeout(120)
SRC = str(pathlib.Path(testing.__file__).resolve().parent.parent)


async def test_async_env_on_the_callers_loop():
    async with testing.AsyncEnv([kitflows.year, kitflows.ticks], start=START) as env:
        await env.spawn("y", kitflows.year, who="cy")
        await env.send("y", "POST", "/approve", b"")
        assert await env.wait("y") == 12
        await env.spawn("t", kitflows.ticks, n=2)
        await env.advance(days=1)
        assert (await env.locals("t"))["seen"] == [START + 361 * DAY]
        await env.crash_and_restart()
        assert await env.wait("t") == [START + 361 * DAY, START + 362 * DAY]
        assert await env.log("y") == ["approved", f"cy: 12 months in {360 * DAY} s"]


async def test_async_env_removes_its_directory():
    env = testing.AsyncEnv([kitflows.sleeper])
    async with env:
        path = pathlib.Path(env.path)
        assert path.exists()
    assert not path.parent.exists()


async def test_async_env_keeps_a_given_path(tmp_path):
    async with testing.AsyncEnv([kitflows.sleeper], path=str(tmp_path / "kept.db")) as env:
        await env.spawn("s", kitflows.sleeper, seconds=1.0)
        await env.wait("s")
    assert (tmp_path / "kept.db").exists()


def run_pytest(tmp_path, body):
    (tmp_path / "test_user.py").write_text(textwrap.dedent(body))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([SRC, str(tmp_path)]))
    # no -p: the plugin comes from the package's pytest11 entry point, as it does for users
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=100)


def test_the_plugin_gives_sync_and_async_fixtures(tmp_path):
    out = run_pytest(tmp_path, '''
        import pytest
        from deepslate import flow, http_listen, sleep, DSError

        @flow
        async def trial(days: int) -> str:
            sleep(days * 86400.0)
            ok: bytes | DSError = http_listen("POST", "/convert")
            return "converted"

        def test_sync(deepslate_env):
            env = deepslate_env([trial])
            env.spawn("t", trial, days=14)
            env.send("t", "POST", "/convert")
            assert env.wait("t") == "converted"

        @pytest.mark.asyncio
        async def test_async(deepslate_async_env):
            env = await deepslate_async_env([trial], start=0.0)
            await env.spawn("t", trial, days=14)
            await env.send("t", "POST", "/convert")
            assert await env.wait("t") == "converted"
            assert env.now() == 14 * 86400.0
    ''')
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 passed" in out.stdout


def test_a_stuck_flow_fails_its_test_with_the_reason(tmp_path):
    out = run_pytest(tmp_path, '''
        from deepslate import flow, http_listen, DSError

        @flow
        async def waits() -> str:
            ok: bytes | DSError = http_listen("POST", "/never")
            return "no"

        def test_stuck(deepslate_env):
            env = deepslate_env([waits])
            env.spawn("w", waits)
            env.wait("w")
    ''')
    assert out.returncode == 1
    assert "Stuck: isolate 'w' can never finish" in out.stdout
    assert "'w' waiting on http_listen POST /never" in out.stdout
