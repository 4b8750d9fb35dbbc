"""The layers of src/deepslate, read from its import statements (ast; nothing is imported).

- ``program/``, ``runtime/`` and ``store/`` never reach ``compiler/``: a stored program is
  read, linked, run and shown without the compiler.
- ``compiler/`` and ``program/`` have no import cycle among their modules, function-level
  imports included: a cycle hidden in a function is still a cycle.

An import counts wherever it is written (module level or inside a function), except under
``if TYPE_CHECKING:``, which never runs. Importing ``a.b.c`` also runs the packages ``a.b``
and ``a`` unless the importer lives in them already (then they ran before it). The VM's
``.pyx`` files are read for their Python-level imports, so a path through the VM counts too.
"""
from __future__ import annotations

import ast
import re
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# Modules of the checked layers that may reach the compiler, and why.
ALLOWED = {
    # `deepslate demo` runs the README's counter flow; the demo is a flow like a user's, so it
    # is compiled by the @flow it imports. Only `deepslate demo` imports it, inside that verb.
    "deepslate.runtime.demo",
}


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    where: str          # "path:line" of the import statement

    def __str__(self) -> str:
        return f"{self.source} -> {self.target}  ({self.where})"


def modules(root: Path, package: str) -> dict[str, Path]:
    """Every module of ``package`` under ``root`` by dotted name (packages by their __init__)."""
    out = {}
    for path in sorted((root / package).rglob("*")):
        if path.suffix not in (".py", ".pyx") or "__pycache__" in path.parts:
            continue
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


_PYX_FROM = re.compile(r"^\s*from\s+([\w.]+)\s+import\s+(.*)$")
_PYX_IMPORT = re.compile(r"^\s*import\s+([\w.]+)")


def _requests(name: str, path: Path) -> list[tuple[str, list[str], int]]:
    """(absolute module, names imported from it, line) for each import statement of a module."""
    is_package = path.stem == "__init__"
    if path.suffix == ".pyx":   # Cython: its Python-level imports are plain enough for a pattern
        out = []
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if m := _PYX_FROM.match(line):
                out.append((m[1], [a.split(" as ")[0].strip() for a in m[2].strip("()").split(",")], n))
            elif m := _PYX_IMPORT.match(line):
                out.append((m[1], [], n))
        return out
    out = []
    for node in _import_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.extend((a.name, [], node.lineno) for a in node.names)
            continue
        base = node.module or ""
        if node.level:
            here = name.split(".") if is_package else name.split(".")[:-1]
            anchor = here[:len(here) - (node.level - 1)]
            base = ".".join(anchor + ([node.module] if node.module else []))
        out.append((base, [a.name for a in node.names], node.lineno))
    return out


def import_graph(root: Path, package: str) -> dict[str, list[Edge]]:
    """For each module of ``package``: the modules of ``package`` its imports run or read from."""
    mods = modules(root, package)
    graph: dict[str, list[Edge]] = {}
    for name, path in mods.items():
        edges = []
        where = path.relative_to(root)
        for base, names, line in _requests(name, path):
            targets = [f"{base}.{n}" for n in names if f"{base}.{n}" in mods]
            if len(targets) < len(names) or not names:
                targets.append(base)        # a name defined in the module (or a plain import)
            for target in targets:
                if target not in mods:
                    continue
                edges.append(Edge(name, target, f"{where}:{line}"))
                # and the packages the import runs on the way, those the importer is not inside of
                parts = target.split(".")
                for i in range(len(parts) - 1, 0, -1):
                    step = ".".join(parts[:i])
                    if step in mods and not (name + ".").startswith(step + "."):
                        edges.append(Edge(name, step, f"{where}:{line}"))
        graph[name] = list(dict.fromkeys(edges))
    return graph


def path_to(graph: dict[str, list[Edge]], start: str, goal: str, stop: set[str]) -> list[Edge] | None:
    """The shortest chain of imports from ``start`` to a module named ``goal`` or inside it,
    not passing through modules in ``stop``."""
    came: dict[str, Edge | None] = {start: None}
    todo = deque([start])
    while todo:
        m = todo.popleft()
        if m == goal or m.startswith(goal + "."):
            chain = []
            while (e := came[m]) is not None:
                chain.append(e)
                m = e.source
            return chain[::-1]
        if m in stop and m != start:
            continue
        for e in graph.get(m, ()):
            if e.target not in came:
                came[e.target] = e
                todo.append(e.target)
    return None


def find_cycle(graph: dict[str, list[Edge]], within: tuple[str, ...]) -> list[Edge] | None:
    """One import cycle among the modules whose names start with one of ``within``."""
    inside = {m for m in graph if m.startswith(within)}
    state: dict[str, int] = {}          # 1: on the current path, 2: done
    path: list[Edge] = []

    def visit(m: str) -> list[Edge] | None:
        state[m] = 1
        for e in graph[m]:
            if e.target not in inside:
                continue
            if state.get(e.target) == 1:
                start = next((i for i, p in enumerate(path) if p.source == e.target), len(path))
                return path[start:] + [e]
            if e.target not in state:
                path.append(e)
                found = visit(e.target)
                if found:
                    return found
                path.pop()
        state[m] = 2
        return None

    for m in sorted(inside):
        if m not in state and (found := visit(m)):
            return found
    return None


def _chain(edges: list[Edge]) -> str:
    return "\n".join(f"  {e}" for e in edges)


GRAPH = import_graph(SRC, "deepslate")


def test_the_graph_sees_the_imports_that_matter():
    """The reader finds what these layers are built on, or the rules below would pass empty."""
    targets = {m: {e.target for e in es} for m, es in GRAPH.items()}
    assert "deepslate.program.serial" in targets["deepslate.program.names"]
    assert "deepslate._vm" in targets["deepslate.program.names"]
    assert "deepslate.program.model" in targets["deepslate._vm"]            # read from the .pyx
    assert "deepslate.program.link" in targets["deepslate.runtime.engine"]
    assert "deepslate.compiler.flow" in targets["deepslate.compiler"]
    assert "deepslate" in targets["deepslate.runtime.demo"]                 # from .. import flow
    assert "deepslate.runtime.demo" in targets["deepslate.runtime.cli"]     # inside a function


@pytest.mark.parametrize("layer", ["program", "runtime", "store"])
def test_layer_never_reaches_the_compiler(layer):
    reached = {}
    for m in GRAPH:
        if (m == f"deepslate.{layer}" or m.startswith(f"deepslate.{layer}.")) and m not in ALLOWED:
            chain = path_to(GRAPH, m, "deepslate.compiler", stop=ALLOWED)
            if chain:
                reached[m] = chain
    if reached:
        pytest.fail("imports reach the compiler:\n" + "\n\n".join(
            f"{m}:\n{_chain(c)}" for m, c in sorted(reached.items())), pytrace=False)


def test_no_import_cycle_in_compiler_and_program():
    cycle = find_cycle(GRAPH, ("deepslate.compiler", "deepslate.program"))
    if cycle:
        pytest.fail("import cycle:\n" + _chain(cycle), pytrace=False)


# -- the reader itself, on a package made for it -----------------------------------------

def _package(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def test_a_cycle_hidden_in_a_function_is_found_and_printed(tmp_path):
    _package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/compiler/__init__.py": "from .flow import flow\n",
        "pkg/compiler/flow.py": "from . import env\n\ndef flow():\n    pass\n",
        "pkg/compiler/env.py": "def sig():\n    from .flow import flow\n    return flow\n",
        "pkg/compiler/ok.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .flow import flow\n",
    })
    g = import_graph(tmp_path, "pkg")
    cycle = find_cycle(g, ("pkg.compiler",))
    assert cycle is not None
    text = _chain(cycle)
    assert "pkg.compiler.flow -> pkg.compiler.env  (pkg/compiler/flow.py:1)" in text
    assert "pkg.compiler.env -> pkg.compiler.flow  (pkg/compiler/env.py:2)" in text
    assert {e.target for e in g["pkg.compiler.ok"]} == set()    # type-checking only
    assert find_cycle(g, ("pkg.compiler.ok",)) is None


def test_a_path_to_the_compiler_through_a_package_init_is_found(tmp_path):
    _package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/compiler/__init__.py": "",
        "pkg/compiler/serial.py": "",
        "pkg/runtime/__init__.py": "from .engine import Engine\n",
        "pkg/runtime/engine.py": "class Engine:\n    def load(self):\n        from ..tools import codec\n",
        "pkg/tools/__init__.py": "from ..compiler import serial\n",
        "pkg/tools/codec.py": "",
        "pkg/runtime/demo.py": "from .. import compiler\n",
    })
    g = import_graph(tmp_path, "pkg")
    chain = path_to(g, "pkg.runtime.engine", "pkg.compiler", stop=set())
    assert [str(e) for e in chain or []] == [
        "pkg.runtime.engine -> pkg.tools  (pkg/runtime/engine.py:3)",   # running tools/__init__
        "pkg.tools -> pkg.compiler.serial  (pkg/tools/__init__.py:1)"]
    assert path_to(g, "pkg.runtime", "pkg.compiler", stop={"pkg.runtime.engine"}) is None
    assert path_to(g, "pkg.runtime.demo", "pkg.compiler", stop=set()) is not None
