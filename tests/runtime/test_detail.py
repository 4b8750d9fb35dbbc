"""An isolate's detail is read from the store alone: no user module, no compiler state."""
import json
import os
import subprocess
import sys
import textwrap

import pytest

from deepslate import _vm

pytestmark = pytest.mark.timeout(60)

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "src")

SCRIPT = textwrap.dedent('''
    import sys
    from dataclasses import dataclass
    from deepslate import DSError, flow, http_listen, new_sqlite, spawn_workers, sleep

    @dataclass
    class Order:
        sku: str
        cents: int

    @flow
    async def shop(n: int) -> Order:
        order: Order = Order("<b>tea</b>", n)
        label: str = "x" * n
        ratio: float = 0.5
        paid: bool = False
        note: bytes | DSError = http_listen("POST", "/pay")
        paid = True
        sleep(3600.0)
        return order

    @flow
    async def done(n: int) -> Order:
        return Order("cup", n)

    if __name__ == "__main__":
        platform, _ = new_sqlite(sys.argv[1], "127.0.0.1:0")
        workers = spawn_workers(2, platform, [shop, done])
        spawn, wait, cancel, stop = workers
        spawn("s", "shop", {"n": 3})
        spawn("d", "done", {"n": 7})
        wait("d", timeout=10)
        import time
        deadline = time.monotonic() + 10
        while platform.store.get_isolate("s").status != "waiting" and time.monotonic() < deadline:
            time.sleep(0.02)
        workers.send("s", "POST", "/later", b"hello <x>" + bytes(300))   # nobody listens there yet
        stop()
''')


def _show(store, name, cwd):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = SRC          # deepslate only: the flows' script is not importable here
    out = subprocess.run([sys.executable, "-m", "deepslate", "show", store, name, "--json"], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_show_names_locals_of_a_main_script_from_another_process(tmp_path):
    script = tmp_path / "app" / "server.py"
    script.parent.mkdir()
    script.write_text(SCRIPT)
    store = str(tmp_path / "s.db")
    env = dict(os.environ, PYTHONPATH=SRC)
    subprocess.run([sys.executable, str(script), store], check=True, env=env, timeout=60, cwd=str(script.parent))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    d = _show(store, "s", str(elsewhere))
    assert d["status"] == "waiting" and d["wait"]["kind"] == "http_listen"
    assert (d["wait"]["method"], d["wait"]["route"]) == ("POST", "/pay")
    [frame] = d["frames"]
    assert frame["function"] == "shop" and frame["filename"].endswith("server.py")
    assert frame["locals"] == {"n": 3, "order": {"__dataclass__": "__main__:Order", "sku": "<b>tea</b>", "cents": 3},
                               "label": "xxx", "ratio": 0.5, "paid": False}
    assert frame["types"]["order"].endswith("Order") and frame["types"]["paid"] == "bool"
    src = d["sources"]["shop"]
    assert src["text"].splitlines()[frame["line"] - src["firstlineno"]].strip().startswith("note: bytes")
    [m] = d["inbox"]
    assert (m["isolate"], m["method"], m["route"], m["bytes"]) == ("s", "POST", "/later", 309)
    assert m["head"].startswith("hello <x>") and len(m["head"].encode()) >= 256
    r = _show(store, "d", str(elsewhere))
    assert r["status"] == "done" and r["result"] == {"__dataclass__": "__main__:Order", "sku": "cup", "cents": 7}
    text = subprocess.run([sys.executable, "-m", "deepslate", "show", store, "s"], cwd=str(elsewhere),
                          env=dict(os.environ, PYTHONPATH=SRC), capture_output=True, text=True, timeout=30).stdout
    assert "> note: bytes | DSError = http_listen(\"POST\", \"/pay\")" in text
    assert "paid: bool = false" in text


def test_named_frames_match_the_running_vm(tmp_path):
    """What the store-only reader names equals what the live VM shows, frame by frame."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "flowmods"))
    from detailflows import outer
    from deepslate.program import serial
    from deepslate.program.names import name_frames

    program = outer.program
    vm = _vm.VM(program, program.code_index("outer"), [5])
    seen = 0
    while True:
        eff = vm.run()
        if eff[0].kind != "sleep":
            break
        snap = _vm.encode_snapshot(program.hash, vm.export_state())
        unlinked = serial.program_from_bytes(serial.program_to_bytes(program))
        mine = name_frames(unlinked, snap)
        live = vm.frames_view()
        assert [(f["function"], f["line"], f["col"]) for f in mine] == \
            [(f["function"], f["line"], f["col"]) for f in live]
        # the same values rendered by the same display rules: the names and registers line up
        assert [f["locals"] for f in mine] == [_vm.inspect_value(_vm.encode_value(f["locals"])) for f in live]
        vm.resume(None)
        seen += 1
    assert seen == 3


def test_unknown_program_shows_raw_registers(tmp_path):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "flowmods"))
    from detailflows import inner
    from deepslate.program.names import name_frames

    vm = _vm.VM(inner.program, inner.program.code_index("inner"), [[4], 1])
    vm.run()
    snap = _vm.encode_snapshot(inner.program.hash, vm.export_state())
    [frame] = name_frames(None, snap)
    assert frame["function"] == "code #0" and frame["registers"]["O"][0] == [4]
