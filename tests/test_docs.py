"""The documentation is tested: every ```python block of README.md and docs/*.md
is a complete module that imports (so @flow compiles its flows) and links, and
every error example of docs/language.md prints exactly what `deepslate check`
prints for it.

An error example is two ```text blocks: the first starts with ``# NAME.py`` and
is the module, the second starts with ``$ deepslate check NAME.py`` followed by
the expected output. A ```python block whose first line is ``# doc: skip`` is
not run (for a block that would start a server).
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import pathlib
import re
import subprocess
import sys

import pytest

from deepslate import Flow
from deepslate.cli import main as deepslate_main

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LANGUAGE = ROOT / "docs" / "language.md"
FENCE = re.compile(r"^```(\S*)\s*$")
SKIP = "# doc: skip"
CHECK = re.compile(r"^\$ deepslate check (\S+)$")


def blocks(path: pathlib.Path) -> list[tuple[str, int, str]]:
    """(language, line of the first code line, text) of every fenced block."""
    out = []
    lang, start, body = None, 0, []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        m = FENCE.match(line)
        if lang is None and m:
            lang, start, body = m.group(1), n + 1, []
        elif lang is not None and line.strip() == "```":
            out.append((lang, start, "\n".join(body) + "\n"))
            lang = None
        elif lang is not None:
            body.append(line)
    assert lang is None, f"{path.name}: the block opened at line {start - 1} is never closed"
    return out


def python_blocks(paths: list[pathlib.Path] = DOCS) -> list:
    params = []
    for path in paths:
        if not path.exists():
            continue
        for lang, line, text in blocks(path):
            if lang == "python" and not text.startswith(SKIP):
                params.append(pytest.param(path, line, text, id=f"{path.name}:{line}"))
    return params


def error_examples(path: pathlib.Path = LANGUAGE) -> list:
    params = []
    found = blocks(path)
    for i, (lang, line, text) in enumerate(found):
        first = text.splitlines()[0] if text.strip() else ""
        m = CHECK.match(first)
        source_of = re.match(r"^# (\S+\.py)$", first)
        if lang == "text" and source_of:
            following = found[i + 1][2] if i + 1 < len(found) else ""
            assert following.startswith(f"$ deepslate check {source_of.group(1)}\n"), \
                f"language.md:{line}: the example module {source_of.group(1)} has no `$ deepslate check` block after it"
        if lang != "text" or not m:
            continue
        name = m.group(1)
        assert i > 0, f"language.md:{line}: a check output with no module before it"
        src_lang, src_line, src = found[i - 1]
        assert src_lang == "text" and src.startswith(f"# {name}\n"), \
            f"language.md:{line}: the block before `$ deepslate check {name}` must start with `# {name}`"
        expected = text.split("\n", 1)[1]
        params.append(pytest.param(name, src, expected, id=f"language.md:{line}:{name}"))
    return params


@contextlib.contextmanager
def isolated_import(directory: pathlib.Path):
    """Run an import in directory (as cwd and on sys.path) and forget its modules after."""
    before = set(sys.modules)
    cwd = os.getcwd()
    os.chdir(directory)
    sys.path.insert(0, str(directory))
    try:
        yield
    finally:
        os.chdir(cwd)
        with contextlib.suppress(ValueError):
            sys.path.remove(str(directory))
        for name in set(sys.modules) - before:
            mod = sys.modules[name]
            if str(getattr(mod, "__file__", "") or "").startswith(str(directory)):
                del sys.modules[name]


@pytest.mark.parametrize("path,line,text", python_blocks())
def test_python_block_compiles(path: pathlib.Path, line: int, text: str, tmp_path: pathlib.Path) -> None:
    where = f"{path.relative_to(ROOT)}:{line}"
    name = f"docblock_{path.stem.lower()}_{line}"
    file = tmp_path / f"{name}.py"
    file.write_text(text)
    with isolated_import(tmp_path):
        spec = importlib.util.spec_from_file_location(name, file)
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        try:
            spec.loader.exec_module(mod)
            flows = [v for v in vars(mod).values() if isinstance(v, Flow) and v.__module__ == name]
            for f in flows:
                f.program   # links the flows it calls
        except Exception as e:  # noqa: BLE001 - any failure is the block's fault
            pytest.fail(f"the python block at {where} does not compile:\n{type(e).__name__}: {e}")
        finally:
            # a block that starts an engine (the README's) gets it stopped again
            stop = getattr(mod, "stop", None)
            if callable(stop) and getattr(mod, "spawn_workers", None) is not None:
                stop()
        if "@flow" in text:
            assert flows, f"the python block at {where} uses @flow but defines no flow"


@pytest.mark.parametrize("name,source,expected", error_examples())
def test_error_example(name: str, source: str, expected: str, tmp_path: pathlib.Path) -> None:
    (tmp_path / name).write_text(source)
    out = io.StringIO()
    err = io.StringIO()
    with isolated_import(tmp_path), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = deepslate_main(["check", name])
    printed = out.getvalue().replace(f"{tmp_path}{os.sep}", "")
    assert status == 1, f"deepslate check {name} accepted the example:\n{printed}{err.getvalue()}"
    assert printed == expected, f"deepslate check {name} printed:\n{printed}\nthe doc says:\n{expected}"


def test_error_examples_exist() -> None:
    # the reference shows its errors; losing them all would make the test above vacuous
    assert len(error_examples()) >= 5


def test_check_command_prints_the_documented_error(tmp_path: pathlib.Path) -> None:
    """One example through the installed console script, as a user runs it."""
    name, source, expected = error_examples()[0].values
    (tmp_path / name).write_text(source)
    exe = pathlib.Path(sys.executable).with_name("deepslate")
    cmd = [str(exe), "check", name] if exe.exists() else [sys.executable, "-m", "deepslate.cli", "check", name]
    r = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r.stderr
    assert r.stdout.replace(f"{tmp_path}{os.sep}", "") == expected
    assert r.stderr.strip() == f"1 error in {name}"


def test_skip_marker_and_other_languages_are_not_run(tmp_path: pathlib.Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("```python\n# doc: skip\nserve()\n```\n\n```bash\nls\n```\n\n"
                   "```python\nx: int = 1\n```\n")
    found = [p.values for p in python_blocks([doc])]
    assert found == [(doc, 11, "x: int = 1\n")]


def test_a_block_that_does_not_compile_fails_with_its_line(tmp_path: pathlib.Path) -> None:
    text = ("from deepslate import flow\n\n\n@flow\nasync def f(n: int) -> int:\n"
            "    try:\n        pass\n    finally:\n        pass\n    return n\n")
    with pytest.raises(pytest.fail.Exception, match=r"docs/language.md:42 does not compile:\nCompileError: "
                                                    r".*exceptions are not supported"):
        test_python_block_compiles(LANGUAGE, 42, text, tmp_path)


def test_an_error_example_that_compiles_or_differs_fails(tmp_path: pathlib.Path) -> None:
    name, source, expected = error_examples()[0].values
    (tmp_path / "a").mkdir()
    with pytest.raises(AssertionError, match="printed"):
        test_error_example(name, source, expected.replace("exceptions", "errors"), tmp_path / "a")
    (tmp_path / "b").mkdir()
    with pytest.raises(AssertionError, match="accepted the example"):
        test_error_example("fine.py", "from deepslate import flow\n\n\n@flow\nasync def f() -> int:\n"
                           "    return 1\n", "", tmp_path / "b")


def test_an_example_module_without_its_check_output_is_reported(tmp_path: pathlib.Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("```text\n# bad_x.py\nfrom deepslate import flow\n```\n\ntext\n")
    with pytest.raises(AssertionError, match="bad_x.py has no `\\$ deepslate check` block"):
        error_examples(doc)


def test_blocks_parser_finds_unclosed_fence(tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_text("text\n```python\nx = 1\n")
    with pytest.raises(AssertionError, match="never closed"):
        blocks(bad)
