"""deepslate demo / ls / show."""
import json
import re

import pytest

from deepslate.cli import main

pytestmark = pytest.mark.timeout(60)


def _counts(out):
    return {m[0]: int(m[1]) for m in re.findall(r"(counter-\d)\s+\w+\s+count = (\d+)", out)}


def test_demo_counts_on_and_continues_after_a_restart(tmp_path, capsys):
    store = str(tmp_path / "demo.db")
    assert main(["demo", "--store", store, "--counters", "2", "--duration", "1.6"]) == 0
    first = capsys.readouterr().out
    assert "stopped; every count so far is committed" in first
    assert main(["show", store, "counter-1", "--json"]) == 0
    before = json.loads(capsys.readouterr().out)["frames"][0]["locals"]["count"]
    assert before >= 1
    assert main(["demo", "--store", store, "--counters", "2", "--duration", "1.6"]) == 0
    capsys.readouterr()
    assert main(["show", store, "counter-1", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["frames"][0]["locals"]["count"] > before          # went on from where it stopped
    assert d["status"] == "sleeping" and d["flow"] == "counter" and d["snapshot_bytes"] > 0
    assert main(["ls", store]) == 0
    out = capsys.readouterr().out
    assert "counter-1" in out and "counter-2" in out and "2 isolates: sleeping 2" in out


def test_show_text_and_errors(tmp_path, capsys):
    store = str(tmp_path / "demo.db")
    main(["demo", "--store", store, "--counters", "1", "--duration", "1.2"])
    capsys.readouterr()
    assert main(["show", store, "counter-1"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"status:\s+sleeping", out) and re.search(r"count = \d+", out)
    assert main(["show", store, "nope"]) == 1
    assert "no isolate named 'nope'" in capsys.readouterr().err
    assert main(["ls", str(tmp_path / "missing.db")]) == 2
    assert "no store at" in capsys.readouterr().err
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n" * 300)
    assert main(["ls", str(notes)]) == 2
    assert "not a deepslate store" in capsys.readouterr().err
    assert main(["demo", "--store", str(notes), "--duration", "0.1"]) == 2
    assert "not a deepslate store" in capsys.readouterr().err
    assert main(["demo", "--store", store, "--counters", "0"]) == 2
