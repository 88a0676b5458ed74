"""No import cycles in the harness or in the EV network, and neither imports the other.

A cycle works until someone moves an import, then fails with a half-initialised module; a lazy
import inside a function hides a cycle without removing it, so those count too. Imports under
``if TYPE_CHECKING:`` do not run and are not counted.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {"chaos": ROOT / "chaos", "evcharge": ROOT / "system" / "evcharge"}


def modules() -> dict[str, Path]:
    """Every module of our packages by dotted name."""
    found = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = [package, *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def runtime_imports(tree: ast.AST, here: str, is_package: bool) -> Iterator[tuple[str, list[str]]]:
    """(module, names) for every import that runs, at module level or inside functions."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            yield base, [alias.name for alias in node.names]
        stack.extend(ast.iter_child_nodes(node))


def import_graph() -> dict[str, set[str]]:
    known = modules()
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        tree = ast.parse(path.read_text(), str(path))
        for target, names in runtime_imports(tree, name, path.name == "__init__.py"):
            submodules = [f"{target}.{n}" for n in names if f"{target}.{n}" in known]
            for edge in submodules or ([target] if target in known else []):
                if edge != name:
                    graph[name].add(edge)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_cycles_are_found_by_this_test() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import x\ndef f():\n    import y\n")
    assert sorted(m for m, _ in runtime_imports(tree, "p.m", False)) == ["typing", "y"]


def test_no_import_cycles() -> None:
    found = cycles(import_graph())
    assert not found, "import cycles (break each by moving the shared piece into a module both import):\n" + "\n".join(
        " -> ".join(c) for c in found
    )


@pytest.mark.parametrize(("package", "forbidden"), [("chaos", "evcharge"), ("evcharge", "chaos")])
def test_the_harness_and_the_system_do_not_import_each_other(package: str, forbidden: str) -> None:
    graph = import_graph()
    offenders = sorted(
        f"{source} imports {forbidden}" for source, targets in graph.items() if source.split(".")[0] == package
        for target in targets if target.split(".")[0] == forbidden
    )
    known = modules()
    for name, path in known.items():
        if name.split(".")[0] != package:
            continue
        for target, _ in runtime_imports(ast.parse(path.read_text()), name, path.name == "__init__.py"):
            if target.split(".")[0] in (forbidden, "system", "scenarios"):
                offenders.append(f"{name} imports {target}")
    assert not offenders, "\n".join(sorted(set(offenders)))


LAYERS = {
    "chaos.infra": ("chaos.infra",),
    "chaos.checks": ("chaos.checks", "chaos.core.history", "chaos.core.clock"),
    "chaos.faults": ("chaos.faults", "chaos.infra", "chaos.core.history", "chaos.core.clock"),
    "chaos.nemesis": ("chaos.nemesis", "chaos.faults.base", "chaos.core.history", "chaos.core.clock"),
    "chaos.core.history": ("chaos.core.history", "chaos.core.clock"),
    "chaos.workload": ("chaos.workload",),
}
"""Layer -> what it may import of the harness (docs/architecture.md, "What each layer may import")."""


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_each_layer_imports_only_what_it_may(layer: str) -> None:
    graph = import_graph()
    offenders = sorted(
        f"{source} imports {target}" for source, targets in graph.items() if _within(source, (layer,))
        for target in targets if target.startswith("chaos") and not _within(target, LAYERS[layer])
    )
    assert not offenders, f"{layer} may import only {', '.join(LAYERS[layer])}:\n" + "\n".join(offenders)
