"""mypy --strict on the project's own code as users read it: the examples, every complete
```python block of README.md and docs/*.md, and the package itself.

A doc block that is a fragment rather than a program starts with ``# mypy: skip`` and is
left out here (it is still imported by tests/test_docs.py unless it is ``# doc: skip``).
Failures name the document's own file and line, so a new block or example that does not
type-check is found at once."""
from __future__ import annotations

import pathlib

import pytest

from test_docs import DOCS, ROOT, blocks
from typecheck.mypy_run import errors, mypy

NO_MYPY = "# mypy: skip"


def doc_programs(paths: list[pathlib.Path] = DOCS) -> list[tuple[pathlib.Path, int, str]]:
    """(document, line of its first code line, text) of every python block mypy checks."""
    out = []
    for path in paths:
        if path.exists():
            out += [(path, line, text) for lang, line, text in blocks(path)
                    if lang == "python" and NO_MYPY not in text.splitlines()[:2]]
    return out


def check_doc_blocks(programs: list[tuple[pathlib.Path, int, str]], work: pathlib.Path,
                     cache: pathlib.Path) -> list[str]:
    """mypy's errors on the blocks, each as ``document:line: message`` (one mypy run)."""
    where: dict[str, tuple[pathlib.Path, int]] = {}
    for path, line, text in programs:
        name = f"doc_{path.stem.lower().replace('-', '_')}_{line}.py"
        (work / name).write_text(text)
        where[name] = (path, line)
    if not where:
        return []
    _, out = mypy(sorted(where), work, cache)
    found = []
    for file, n, msg in errors(out):
        name = pathlib.Path(file).name
        if name in where:
            path, first = where[name]
            found.append(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{first + n - 1}: {msg}")
        else:
            found.append(f"{file}:{n}: {msg}")
    return found


def test_doc_blocks_pass_mypy_strict(tmp_path: pathlib.Path, mypy_cache: pathlib.Path) -> None:
    programs = doc_programs()
    assert len(programs) >= 15, "the docs' python blocks were not found"
    found = check_doc_blocks(programs, tmp_path, mypy_cache)
    assert not found, "mypy --strict rejects doc blocks:\n" + "\n".join(found)


def test_examples_pass_mypy_strict(mypy_cache: pathlib.Path) -> None:
    # examples/seed_counter is the original README's server as printed there, unannotated
    status, out = mypy(["examples", "--exclude", "examples/seed_counter/"], ROOT, mypy_cache)
    assert status == 0 and not errors(out), f"mypy --strict rejects examples/:\n{out}"


def test_package_passes_mypy_strict(mypy_cache: pathlib.Path) -> None:
    status, out = mypy(["-p", "deepslate"], ROOT, mypy_cache)
    assert status == 0 and not errors(out), f"mypy --strict -p deepslate:\n{out}"


def test_a_doc_block_error_is_reported_at_its_document_line(tmp_path: pathlib.Path,
                                                             mypy_cache: pathlib.Path) -> None:
    doc = tmp_path / "guide.md"
    doc.write_text("# Guide\n\n```python\nfrom deepslate import flow\n\n\n@flow\nasync def f(n: int) -> int:\n"
                   "    return n\n\n\nx: str = f(1)\n```\n\n```python\n# mypy: skip\nundefined_name\n```\n")
    programs = doc_programs([doc])
    assert [line for _, line, _ in programs] == [4]
    (tmp_path / "work").mkdir()
    found = check_doc_blocks(programs, tmp_path / "work", mypy_cache)
    assert len(found) == 1 and found[0].startswith(f"{doc}:12: Incompatible types in assignment"), found
