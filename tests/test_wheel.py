"""The manylinux wheel that ``scripts/wheel`` builds (from the sdist, repaired by auditwheel) installs
into a clean venv without the index and runs the README's counter example there.

The dependency wheels are kept in ``DEEPSLATE_WHEEL_DEPS`` (default ``build/wheel-deps``): the
first run fills it from the index, later runs install offline. About 30 s, most of it compiling
the interpreter core."""
import os
import pathlib
import re
import subprocess
import sys
import tarfile
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "wheel"
INSPECTOR_PAGE = ("index.html", "app.js", "app.css")

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"),
                       reason="auditwheel repairs Linux wheels; cibuildwheel covers the rest"),
    # a first run also makes the tools venv and compiles psycopg-c for the dependency wheels
    pytest.mark.timeout(600),
]


def clean_env() -> dict[str, str]:
    # without this the tests' PYTHONPATH would import deepslate from src/, not from the wheel
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


def run(args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, env=clean_env(), **kw)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    deps = pathlib.Path(os.environ.get("DEEPSLATE_WHEEL_DEPS", ROOT / "build" / "wheel-deps"))
    env = clean_env() | {"PYTHON": sys.executable}
    p = subprocess.run([str(SCRIPT), "--out", str(out), "--deps", str(deps)],
                       capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    sdist, wheel = (pathlib.Path(line) for line in p.stdout.split())
    return sdist, wheel, deps, p.stderr


def test_sdist_holds_what_a_build_needs(built):
    sdist, _, _, _ = built
    names = {n.split("/", 1)[1] for n in tarfile.open(sdist).getnames() if "/" in n}
    for need in ("setup.py", "pyproject.toml", "README.md",
                 "src/deepslate/_vm.pyx", "src/deepslate/_vm.pxd", "src/deepslate/_vm.pyi",
                 "src/deepslate/_snapshot.pyx", "src/deepslate/_snapshot.pxd",
                 "src/deepslate/_snapshot.pyi", "src/deepslate/_opcodes.pxd",
                 "src/deepslate/py.typed", "src/deepslate/store/migrations/sqlite_0001.sql",
                 *(f"src/deepslate/inspector/static/{f}" for f in INSPECTOR_PAGE)):
        assert need in names, need
    # generated C would be compiled instead of an edited .pyx; Cython's annotation pages are not shipped
    assert not [n for n in names if n.endswith((".c", ".so")) or n.endswith(".html") and "/inspector/" not in n]


def test_wheel_is_manylinux_and_complete(built):
    _, wheel, _, show = built
    assert re.search(r"-cp3\d+-cp3\d+-.*manylinux_2_\d+_\w+\.whl$", wheel.name), wheel.name
    assert "is consistent with the following platform tag" in show, show
    names = set(zipfile.ZipFile(wheel).namelist())
    for need in ("deepslate/py.typed", "deepslate/_vm.pyi", "deepslate/_snapshot.pyi",
                 "deepslate/_vm.pxd", "deepslate/store/migrations/sqlite_0001.sql",
                 *(f"deepslate/inspector/static/{f}" for f in INSPECTOR_PAGE)):
        assert need in names, need
    assert [n for n in names if re.fullmatch(r"deepslate/_vm\..*\.so", n)], names
    assert not [n for n in names if n.endswith((".pyx", ".c")) or n.endswith(".html") and "/inspector/" not in n]


SERVE_INSTALLED = """
import sys, urllib.request
from deepslate.inspector import Inspector, StoreRequestActions
from deepslate.store import SQLiteStore
ins = Inspector(SQLiteStore(sys.argv[1], readonly=True), StoreRequestActions(sys.argv[1]), lambda: None, "127.0.0.1:0")
try:
    page = urllib.request.urlopen(ins.url + "/").read().decode()
    script = urllib.request.urlopen(ins.url + "/app.js").read()
    listed = urllib.request.urlopen(ins.url + "/api/isolates").read().decode()
finally:
    ins.stop()
print('src="/app.js"' in page, len(script) > 1000, '"my-counter"' in listed)
"""


def test_wheel_installs_offline_and_runs_the_counter(built, tmp_path):
    _, wheel, deps, _ = built
    venv = tmp_path / "venv"
    p = run([sys.executable, "-m", "venv", str(venv)])
    assert p.returncode == 0, p.stderr
    py = venv / "bin" / "python"
    p = run([str(py), "-m", "pip", "install", "-q", "--no-index", "--find-links", str(deps),
             str(wheel)], timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr

    # from outside the tree, so only the installed copy can be imported
    p = run([str(py), "-c", "import deepslate, deepslate._vm; print(deepslate.__file__)"],
            cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert pathlib.Path(p.stdout.strip()).is_relative_to(venv), p.stdout

    counter = [str(py), str(ROOT / "examples" / "counter.py"), "--store", str(tmp_path / "c.db"),
               "--listen", "127.0.0.1:0", "--seconds", "2.5"]
    first = run(counter, cwd=tmp_path, timeout=60)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "my-counter: id 1, new" in first.stdout, first.stdout
    counts = [int(c) for c in re.findall(r"count = (\d+)", first.stdout)]
    assert counts and counts[-1] >= 1, first.stdout

    second = run(counter, cwd=tmp_path, timeout=60)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "my-counter: id 1, resumed" in second.stdout, second.stdout
    again = [int(c) for c in re.findall(r"count = (\d+)", second.stdout)]
    assert again and again[0] >= counts[-1] and again[-1] > counts[-1], (first.stdout, second.stdout)

    # the inspector serves its page and the counter's store from the installed package
    p = run([str(py), "-c", SERVE_INSTALLED, str(tmp_path / "c.db")], cwd=tmp_path, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.split() == ["True", "True", "True"], p.stdout

    # what cibuildwheel runs against each wheel it builds
    p = run([str(py), str(ROOT / "tests" / "wheel_smoke.py")], cwd=tmp_path, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.startswith(f"deepslate smoke ok: {venv}"), p.stdout

    # the console script the wheel declares
    p = run([str(venv / "bin" / "deepslate"), "dis", f"{ROOT / 'examples' / 'counter.py'}:counter"],
            cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("flow counter()"), p.stdout


@pytest.mark.parametrize("args, message", [
    (["--frobnicate"], "unknown argument: --frobnicate"),
    (["--out"], "--out needs a directory"),
    (["--deps"], "--deps needs a directory"),
])
def test_bad_arguments_are_named(args, message):
    p = run([str(SCRIPT), *args], timeout=30)
    assert p.returncode != 0
    assert message in p.stderr, p.stderr
