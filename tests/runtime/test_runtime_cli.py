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
    assert main(["demo", "--store", store, "--counters", "2", "--duration", "1.6", "--listen", "127.0.0.1:0"]) == 0
    first = capsys.readouterr().out
    assert "stopped; every count so far is committed" in first
    assert main(["show", store, "counter-1", "--json"]) == 0
    before = json.loads(capsys.readouterr().out)["frames"][0]["locals"]["count"]
    assert before >= 1
    assert main(["demo", "--store", store, "--counters", "2", "--duration", "1.6", "--listen", "127.0.0.1:0"]) == 0
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
    main(["demo", "--store", store, "--counters", "1", "--duration", "1.2", "--listen", "127.0.0.1:0"])
    capsys.readouterr()
    assert main(["show", store, "counter-1"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"status:\s+sleeping", out) and re.search(r"count: int = \d+", out)
    assert main(["show", store, "nope"]) == 1
    assert "no isolate named 'nope'" in capsys.readouterr().err
    assert main(["ls", str(tmp_path / "missing.db")]) == 2
    assert "no store at" in capsys.readouterr().err
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n" * 300)
    assert main(["ls", str(notes)]) == 2
    assert "not a deepslate store" in capsys.readouterr().err
    assert main(["demo", "--store", str(notes), "--duration", "0.1", "--listen", "127.0.0.1:0"]) == 2
    assert "not a deepslate store" in capsys.readouterr().err
    assert main(["demo", "--store", store, "--counters", "0", "--listen", "127.0.0.1:0"]) == 2


def test_show_failed_isolate_children_and_log(tmp_path, capsys):
    import os
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "flowmods"))
    import doorflows as df
    from deepslate import FlowFailed, new_sqlite, spawn_workers
    store = str(tmp_path / "s.db")
    platform, _ = new_sqlite(store, listen_addr="127.0.0.1:0")
    spawn, wait, cancel, stop = spawn_workers(2, platform, [df.fail_div, df.fanout, df.listener])
    try:
        spawn("bad", "fail_div", {"x": 0})
        spawn("fan", "fanout", {"n": 2})
        spawn("ear", "listener", {"n": 1})
        with pytest.raises(FlowFailed):
            wait("bad", timeout=10)
        assert wait("fan", timeout=10) == 1
    finally:
        stop()
    assert main(["show", store, "bad"]) == 0
    out = capsys.readouterr().out
    assert "status:         failed" in out and "ZeroDivisionError" in out and "at fail_div (" in out
    assert main(["show", store, "fan", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["children"] == ["fan/1", "fan/2"] and d["result"] == 1 and d["frames"] == []
    assert main(["show", store, "fan/1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["parent"] == "fan"
    assert main(["show", store, "ear", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["status"] == "waiting" and d["waiting_on"] == "http_listen POST /numbers"
    assert main(["ls", store, "--status", "failed"]) == 0
    out = capsys.readouterr().out
    assert "bad" in out and "fan/1" not in out.split("isolates:")[0]


def test_show_prints_a_log_line_with_a_lone_surrogate_as_its_escape(tmp_path):
    # read_log gives the str back unchanged; a UTF-8 terminal cannot take it as it is
    import os
    import subprocess
    import sys
    from deepslate import new_sqlite, spawn_workers
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "flowmods"))
    import isoflows
    store = str(tmp_path / "s.db")
    platform, _ = new_sqlite(store, listen_addr="127.0.0.1:0")
    spawn, wait, _cancel, stop = spawn_workers(1, platform, [isoflows.keeps_surrogates])
    try:
        spawn("s", "keeps_surrogates", {})
        assert wait("s", timeout=10) == ["\ud800 and \U0001f600", "caf\udcff"]
    finally:
        stop()
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    cli = [sys.executable, "-c", "import sys; from deepslate.cli import main; sys.exit(main(sys.argv[1:]))"]
    out = subprocess.run(cli + ["show", store, "s"], capture_output=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr.decode()
    assert "\\ud800 and \U0001f600 caf\\udcff" in out.stdout.decode("utf-8")
    out = subprocess.run(cli + ["show", store, "s", "--json"], capture_output=True, env=env, timeout=60)
    assert json.loads(out.stdout)["log"] == ["\ud800 and \U0001f600 caf\udcff"]
