"""The import graph of ``asd_explain`` and ``data_prep``, built from their source with ``ast``.

Dependencies point one way (``data_prep`` uses ``asd_explain``, never the reverse) and no module imports
itself through others. Every import counts: absolute and relative, ``from . import x`` (an edge to the
submodule ``x`` when it is one), and imports inside functions or ``if TYPE_CHECKING`` blocks.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("asd_explain", "data_prep")


def module_files() -> dict[str, Path]:
    """{dotted module name: file} for every module of both packages (a package is its __init__.py)."""
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _absolute(module: str, is_package: bool, level: int, name: str | None) -> str:
    """The absolute name of ``from <level dots><name> import ...`` written in ``module``."""
    if level == 0:
        return name or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[:len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def imports_of(module: str, path: Path, modules: set[str]) -> set[str]:
    """The modules of both packages that ``module`` imports anywhere in its source."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(module, is_package, node.level, node.module)
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names
                         if f"{target}.{alias.name}" in modules)
    edges = set()
    for name in found:  # "a.b.c" names module a.b.c, or the nearest enclosing module of ours
        while name and name not in modules:
            name = name.rpartition(".")[0]
        if name and name != module:
            edges.add(name)
    return edges


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    names = set(files)
    return {module: imports_of(module, path, names) for module, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path [a, b, ..., a], or None. A package's own ``__init__`` importing its
    submodules is not a cycle with them (Python loads the package first either way), so edges from a
    submodule to the package it lives in are dropped."""
    def parent_edge(src: str, dst: str) -> bool:
        return src.startswith(dst + ".")
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if parent_edge(node, nxt):
                continue
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None
    for start in sorted(graph):
        if start not in state:
            cycle = visit(start)
            if cycle:
                return cycle
    return None


def test_graph_sees_every_kind_of_import():
    """Relative, ``from . import x``, in-function and TYPE_CHECKING imports are all edges."""
    graph = import_graph()
    assert "asd_explain.models.asd_model" in graph["asd_explain.models"]  # from .asd_model import ...
    assert "asd_explain.media.crops" in graph["data_prep.settings"]  # absolute
    assert "data_prep.commands" in graph["data_prep.cli"]  # from . import commands, inside a function
    assert len(graph) > 100


def test_find_cycle_reports_the_path():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("package", ["asd_explain"])
def test_library_never_imports_data_prep(package):
    bad = sorted(f"{module} imports {target}" for module, targets in import_graph().items()
                 if module.startswith(package) for target in targets if target.startswith("data_prep"))
    assert not bad, "asd_explain must not import data_prep:\n" + "\n".join(bad)
