"""Negative cases: every chunk of tests/compiler/testdata/errors/*.py must fail
to compile with exactly the errors its ``###`` comments announce.

A chunk ends at a ``# ---`` line. An expectation is a trailing comment
``### "regex"`` on the offending line, followed by where the caret must be:
``at "text"`` (the column of the first occurrence of text in that line) or
``@N`` (a 1-based column).
"""
from __future__ import annotations

import linecache
import pathlib
import re
import sys
import types

import pytest

from deepslate import CompileError

DATA = pathlib.Path(__file__).parent / "testdata" / "errors"
EXPECT = re.compile(r'###\s*"((?:[^"\\]|\\.)*)"\s*(?:at\s+"((?:[^"\\]|\\.)*)"|@(\d+))')


def chunks() -> list:
    out = []
    for path in sorted(DATA.glob("*.py")):
        lines = path.read_text().splitlines(keepends=True)
        start = 0
        for i in range(len(lines) + 1):
            if i == len(lines) or lines[i].strip() == "# ---":
                if any("###" in ln for ln in lines[start:i]):
                    out.append(pytest.param(path, start, lines[start:i], id=f"{path.stem}:{start + 1}"))
                start = i + 1
    return out


def expectations(start: int, lines: list[str]) -> list[tuple[int, int, str]]:
    out = []
    for n, line in enumerate(lines):
        if "###" not in line:
            continue
        m = EXPECT.search(line)
        assert m, f"malformed expectation on line {start + n + 1}: {line!r}"
        code = line[:line.index("###")]
        if m.group(3):
            col = int(m.group(3))
        else:
            anchor = m.group(2).replace('\\"', '"')
            assert anchor in code, f"line {start + n + 1}: {anchor!r} does not occur in the code"
            col = code.index(anchor) + 1
        out.append((start + n + 1, col, m.group(1).replace('\\"', '"')))
    return out


def compile_chunk(path: pathlib.Path, start: int, lines: list[str]) -> list[CompileError]:
    filename = f"{path}@{start + 1}"
    text = "\n" * start + "".join(lines)
    linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
    name = f"_errors_{path.stem}_{start + 1}"
    mod = types.ModuleType(name)
    mod.__file__ = filename
    sys.modules[name] = mod
    try:
        exec(compile(text, filename, "exec"), mod.__dict__)
    except CompileError as e:
        return e.errors
    finally:
        sys.modules.pop(name, None)
    return []


@pytest.mark.parametrize("path,start,lines", chunks())
def test_error_case(path: pathlib.Path, start: int, lines: list[str]) -> None:
    want = expectations(start, lines)
    got = compile_chunk(path, start, lines)
    assert got, f"no CompileError; expected {want}"
    got_view = [(e.lineno, e.offset, e.msg) for e in got]
    assert len(got) == len(want), f"expected {want}\ngot {got_view}"
    for (line, col, regex), e in zip(want, got):
        assert re.search(regex, e.msg), f"line {line}: {e.msg!r} does not match {regex!r}"
        assert (e.lineno, e.offset) == (line, col), f"{e.msg!r} at {e.lineno}:{e.offset}, want {line}:{col}"
        assert e.filename.startswith(str(path))


def test_there_are_enough_cases() -> None:
    assert sum(len(expectations(p.values[1], p.values[2])) for p in chunks()) >= 60


def test_error_text_has_position_source_and_caret() -> None:
    path = DATA / "statements.py"
    lines = path.read_text().splitlines(keepends=True)
    end = next(i for i, ln in enumerate(lines) if ln.strip() == "# ---")
    err = compile_chunk(path, 0, lines[:end])[0]
    text = str(err).splitlines()
    assert re.match(rf"{re.escape(str(path))}@1:\d+:\d+: \S", text[0])
    assert text[1] == "    " + err.text.rstrip()
    assert text[2].index("^") == 4 + err.offset - 1
