"""The solver package's import graph: no cycle, counting the imports inside functions (lazy ones included).

A lazy import hides a cycle from Python's loader but not from the design: two modules that import each other, at
load or on call, are one layer. The graph is read from the source with :mod:`ast`, so the test needs no import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "solver"


def module_name(path: Path, root: Path) -> str:
    """``solver/integrators/cvode.py`` -> ``solver.integrators.cvode`` (a package's ``__init__`` is the package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, root: Path, package: str) -> list[str]:
    """The names of ``package`` that the file imports anywhere in its body (module level, functions, methods),
    absolute: ``from .x import y`` -> ``pkg.x.y`` (a module or a name in ``pkg.x``), ``import pkg.x`` -> ``pkg.x``."""
    name = module_name(path, root)
    here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = here[: len(here) - (node.level - 1)] if node.level else []
            stem = ".".join(base + ([node.module] if node.module else []))
            targets = [f"{stem}.{alias.name}" for alias in node.names]
        else:
            continue
        found += [t for t in targets if t == package or t.startswith(package + ".")]
    return found


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """``{module: modules of the package it imports}`` over every ``.py`` file of ``root/package``; an imported
    name counts as an import of the longest module prefix of it (``pkg.x.f`` -> ``pkg.x``)."""
    files = sorted((root / package).rglob("*.py"))
    modules = {module_name(p, root) for p in files}
    graph: dict[str, set[str]] = {}
    for path in files:
        name = module_name(path, root)
        edges = set()
        for target in imports_of(path, root, package):
            while target not in modules and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in modules and target != name:
                edges.add(target)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle ``[a, b, ..., a]`` of ``graph`` (depth-first search), or None. Edges into a package's
    ``__init__`` from its own submodules are ignored: a package imports its submodules to export their names,
    and a submodule that names its package only reaches a sibling through it."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if node.startswith(nxt + "."):
                continue
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_solver_import_graph_has_no_cycle():
    graph = import_graph(ROOT, PACKAGE)
    assert len(graph) > 20 and "solver.driver" in graph["solver.flow"]  # the graph was read
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


# The layers above the engine room, lowest first: the driver of Algorithm 1, the backends that hand it a problem
# and an integrator, the run specification (which calls a backend), and the named instances (built from specs).
UPPER_LAYERS = (("solver.driver",), ("solver.flow", "solver.precision.backend"), ("solver.spec",),
                ("solver.instances", "solver"))
# The engine room: the model, its state layouts, its Jacobians and problems, the integrators, the record types.
ENGINE_ROOM = ("solver._lazy", "solver.errors", "solver.config", "solver.kernels", "solver.layout", "solver.dense",
               "solver.threads", "solver.ground_truth", "solver.power_method", "solver.jacobian", "solver.problem",
               "solver.record", "solver.trajectory", "solver.integrators")


def layer_of(module: str) -> int | None:
    """0 for the engine room (a module of :data:`ENGINE_ROOM` or below one of them), 1.. for the upper layers,
    None for a module this table does not place."""
    if any(module == low or module.startswith(low + ".") for low in ENGINE_ROOM):
        return 0
    for level, names in enumerate(UPPER_LAYERS, start=1):
        if module in names:
            return level
    return None


def arrows_up(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Imports from a placed module into a higher layer."""
    return sorted((a, b) for a, targets in graph.items() for b in targets
                  if layer_of(a) is not None and layer_of(b) is not None and layer_of(b) > layer_of(a))


def test_solver_imports_go_down_the_layers():
    graph = import_graph(ROOT, PACKAGE)
    assert [m for m in graph if layer_of(m) is None and not m.startswith("solver.precision")] == []  # all placed
    assert arrows_up(graph) == []


def test_an_arrow_up_a_layer_is_found():
    """The record importing the spec (as ``Trajectory.spec`` once did, inside a property) is an arrow up."""
    graph = {"solver.trajectory": {"solver.record", "solver.spec"}, "solver.spec": {"solver.config"}}
    assert arrows_up(graph) == [("solver.trajectory", "solver.spec")]


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_a_cycle_through_a_function_level_import_is_found(tmp_path):
    """The checker on a package built to fail: ``a`` imports ``b`` at load, ``b`` imports ``a`` inside a function."""
    _write(tmp_path, {"pkg/__init__.py": "", "pkg/a.py": "from . import b\n",
                      "pkg/b.py": "def f():\n    from .a import g\n    return g\n",
                      "pkg/c.py": "import pkg.a\n"})
    graph = import_graph(tmp_path, "pkg")
    assert graph == {"pkg": set(), "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.a"}, "pkg.c": {"pkg.a"}}
    assert find_cycle(graph) in (["pkg.a", "pkg.b", "pkg.a"], ["pkg.b", "pkg.a", "pkg.b"])


@pytest.mark.parametrize("files, edges, cyclic", [
    ({"pkg/sub/__init__.py": "from .x import f\n", "pkg/sub/x.py": "from ..y import g\n", "pkg/y.py": ""},
     {"pkg.sub": {"pkg.sub.x"}, "pkg.sub.x": {"pkg.y"}}, False),
    ({"pkg/sub/__init__.py": "", "pkg/sub/x.py": "from .. import y\n", "pkg/y.py": "from .sub.x import f\n"},
     {"pkg.sub.x": {"pkg.y"}, "pkg.y": {"pkg.sub.x"}}, True),
])
def test_relative_imports_resolve_to_modules(tmp_path, files, edges, cyclic):
    _write(tmp_path, {"pkg/__init__.py": "", **files})
    graph = import_graph(tmp_path, "pkg")
    assert {k: v for k, v in graph.items() if v} == edges
    assert (find_cycle(graph) is not None) == cyclic
