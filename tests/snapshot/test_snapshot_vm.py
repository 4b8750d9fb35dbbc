"""The codec with the compiled flows and the VM: a flow restored from bytes at
its durable point finishes as if never interrupted, and locals that named one
list or one dataclass instance still do."""
from __future__ import annotations

from dataclasses import dataclass

from deepslate import flow, sleep
from deepslate._vm import VM
from deepslate._snapshot import decode_snapshot, encode_snapshot, inspect_snapshot


@dataclass
class Box:
    items: list[int]
    label: str


@flow
async def aliasing() -> int:
    a: list[int] = [1]
    b: list[int] = a
    box: Box = Box(a, "box")
    other: Box = box
    sleep(1.0)
    b.append(2)
    box.items.append(3)
    other.label = "moved"
    return len(a) * 10 + len(box.label)


@flow
async def counter() -> int:
    count: int = 0
    total: float = 0.5
    while count < 5:
        sleep(1.0)
        count = count + 1
        total = total * 1.5
    return count + int(total)


def _run_restoring(fl) -> object:
    """Drive ``fl``, replacing the VM by one restored from snapshot bytes at every sleep."""
    program = fl.program
    vm = VM(program, program.entry, ())
    while True:
        spec, args = vm.run()
        if spec.kind == "return":
            return args[0]
        assert spec.kind == "sleep", spec.kind
        data = encode_snapshot(program.hash, vm.export_state())
        vm = VM.from_state(program, decode_snapshot(data, program))
        assert vm.pending()[0].kind == "sleep"
        vm.resume(None)


def test_aliasing_survives_a_restore():
    assert _run_restoring(aliasing) == 3 * 10 + len("moved")


def test_a_loop_restored_at_every_sleep_gives_the_same_result():
    assert _run_restoring(counter) == 5 + int(0.5 * 1.5 ** 5)


def test_the_inspector_view_of_a_compiled_flow():
    program = aliasing.program
    vm = VM(program, program.entry, ())
    vm.run()
    info = inspect_snapshot(encode_snapshot(program.hash, vm.export_state()))
    assert info["pending"] is True and info["program_hash"] == program.hash.hex()
    shown = info["frames"][0]["O"]
    assert [1] in shown
    assert {"__dataclass__": f"{__name__}:Box", "items": [1], "label": "box"} in shown
