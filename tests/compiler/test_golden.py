"""Golden disassembly: every corpus module is compiled and each of its flows disassembled with
``deepslate.program.dis``; the text must equal the checked-in ``<module>.dis`` beside the source.

After an intended compiler change, rewrite the files and review the diff:
``pytest tests/compiler/test_golden.py --update-golden`` (or ``DEEPSLATE_UPDATE_GOLDEN=1``).
The corpus directory is globbed, so a new module cannot be left without its golden file.
"""
from __future__ import annotations

import pathlib

import pytest

import driver

FILES = driver.corpus_files()


def disassemble(flow) -> str:
    from deepslate.program import dis

    program = driver.flow_program(flow)
    return dis.format_code(program.codes[program.entry], program)


def render(path: pathlib.Path) -> str:
    """The golden text of one corpus module: its flows in source order, each disassembled."""
    mod = driver.load_module(path)
    flows = driver.module_flows(mod)
    order = sorted(flows.items(), key=lambda kv: driver.flow_program(kv[1]).codes[
        driver.flow_program(kv[1]).entry].firstlineno)
    parts = []
    for name, f in order:
        text = disassemble(f).rstrip("\n")
        # the golden files must not depend on where the checkout lives
        text = text.replace(str(path.resolve()), path.name).replace(str(path), path.name)
        parts.append(f"== {name} ==\n{text}\n")
    return "\n".join(parts)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_golden(path: pathlib.Path, update_golden: bool) -> None:
    golden = path.with_suffix(".dis")
    got = render(path)
    if update_golden:
        golden.write_text(got)
        return
    if not golden.exists():
        pytest.fail(f"{golden.name} is missing: run pytest {__file__} --update-golden and review it")
    want = golden.read_text()
    if got != want:
        import difflib

        diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                            f"{golden.name} (checked in)", f"{golden.name} (compiler now)"))
        pytest.fail(f"disassembly of {path.name} changed; if intended, rerun with --update-golden\n{diff}")


def test_no_orphan_golden_files() -> None:
    sources = {p.stem for p in FILES}
    orphans = [g.name for g in driver.CORPUS.glob("*.dis") if g.stem not in sources]
    assert not orphans, f"golden files without a corpus module: {orphans}"


def test_disassembly_is_deterministic() -> None:
    path = driver.CORPUS / "algorithms.py"
    assert render(path) == render(path)


def test_golden_names_source_lines() -> None:
    # every flow's disassembly mentions the flow and carries source line numbers
    text = render(driver.CORPUS / "while_loops.py")
    assert "== collatz ==" in text and "== pairs ==" in text
    lines = (driver.CORPUS / "while_loops.py").read_text().splitlines()
    collatz_line = next(n for n, line in enumerate(lines, 1) if "async def collatz" in line)
    assert str(collatz_line + 1) in text


def test_update_golden_writes_and_compare_catches_a_change(tmp_path: pathlib.Path) -> None:
    probe = tmp_path / "golden_probe.py"
    probe.write_text((driver.CORPUS / "while_loops.py").read_text())
    test_golden(probe, update_golden=True)
    written = probe.with_suffix(".dis").read_text()
    assert "== collatz ==" in written
    test_golden(probe, update_golden=False)            # the fresh file compares equal
    probe.with_suffix(".dis").write_text(written.replace("IMOD", "IADD", 1))
    with pytest.raises(pytest.fail.Exception, match="disassembly of golden_probe.py changed"):
        test_golden(probe, update_golden=False)
    probe.with_suffix(".dis").unlink()
    with pytest.raises(pytest.fail.Exception, match="golden_probe.dis is missing"):
        test_golden(probe, update_golden=False)
