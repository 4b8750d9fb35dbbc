"""The generated Cython enum must match the Python opcode table exactly."""
import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _gen_module():
    spec = importlib.util.spec_from_file_location("gen_opcodes", ROOT / "tools" / "gen_opcodes.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_generated_pxd_is_current():
    want = _gen_module().render()
    have = (ROOT / "src" / "deepslate" / "_opcodes.pxd").read_text()
    assert have == want, "src/deepslate/_opcodes.pxd is stale: run python tools/gen_opcodes.py"


def test_render_names_every_opcode():
    from deepslate._opcodes import Op, OpcodeMax
    text = _gen_module().render()
    for op in Op:
        assert f"    OP_{op.name} = {int(op)}\n" in text
    assert f"    OP_MAX = {int(OpcodeMax)}\n" in text


def test_the_extension_offers_every_name_of_its_stub():
    import ast

    import deepslate._vm as vm
    tree = ast.parse((ROOT / "src" / "deepslate" / "_vm.pyi").read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign):
            names.add(node.target.id)
    missing = sorted(n for n in names if not hasattr(vm, n))
    assert not missing, f"deepslate._vm lacks {missing}"
    for name in ("run", "resume", "pending", "export_state", "from_state", "take_log",
                 "frames_view", "steps", "program", "done", "faulted"):
        assert hasattr(vm.VM, name), name
