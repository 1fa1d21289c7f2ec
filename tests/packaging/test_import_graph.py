"""The import graph of the distributions: no module-level cycle, dependencies one way.

Imports are read with :mod:`ast` from ``packages/<dist>/src``. An import at module level
(including class bodies and ``try``/``if`` blocks, but not ``if TYPE_CHECKING:``) runs
when the module is imported; one inside a function runs when the function is called.
A cycle of module-level imports makes the import order matter (a half-initialised
module is seen): it is an error. Function-level imports may close a cycle.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ROOT / "packages"
DISTS = sorted(p.parent.name for p in PACKAGES.glob("*/pyproject.toml"))


def _module_name(src: Path, path: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules_of(dist: str) -> dict[str, Path]:
    src = PACKAGES / dist / "src"
    return {_module_name(src, path): path for path in sorted(src.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[str, bool]]:
    """``(imported name, at module level)`` for every import statement of ``tree``."""
    package = module if is_package else module.rpartition(".")[0]

    def visit(node: ast.AST, top: bool) -> Iterator[tuple[str, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.orelse:
                    yield from visit_one(stmt, top)
                continue
            yield from visit_one(child, top)

    def visit_one(node: ast.AST, top: bool) -> Iterator[tuple[str, bool]]:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, top
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield f"{base}:{alias.name}", top  # a submodule, or a name of ``base``
        inner = top and not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        yield from visit(node, inner)

    yield from visit(tree, True)


def import_edges(modules: dict[str, Path]) -> dict[str, dict[str, bool]]:
    """``{module: {imported module: at module level}}`` between the given modules.

    An edge goes to the module an import statement needs initialised: ``import a.b.c``
    and ``from a.b.c import x`` need ``a.b.c``; ``from a.b import c`` needs the module
    ``a.b.c`` when there is one, else (a name of the package) ``a.b``. The parent
    packages they also import are not edges: a submodule imported while its package
    initialises finds the package in ``sys.modules``.
    """
    edges: dict[str, dict[str, bool]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        targets: dict[str, bool] = {}
        for name, top in _imports(tree, module, path.name == "__init__.py"):
            base, _, attr = name.partition(":")
            target = f"{base}.{attr}" if attr and f"{base}.{attr}" in modules else base
            while target and target not in modules:  # a name inside a module we know
                target = target.rpartition(".")[0]
            if target and target != module:
                targets[target] = targets.get(target, False) or top
        edges[module] = targets
    return edges


def cycles(edges: dict[str, dict[str, bool]], *, module_level: bool) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    graph = {
        node: [n for n, top in targets.items() if top or not module_level]
        for node, targets in edges.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return sorted(found)


def all_modules() -> dict[str, tuple[str, Path]]:
    return {name: (dist, path) for dist in DISTS for name, path in modules_of(dist).items()}


def declared_restflow_dependencies(dist: str) -> set[str]:
    project = tomllib.loads((PACKAGES / dist / "pyproject.toml").read_text())["project"]
    names = {dist}
    for requirement in project.get("dependencies", []):
        name = requirement.split(";")[0]
        for stop in "<>=~![ ":
            name = name.split(stop)[0]
        names.add(name.strip())
    return names


@pytest.mark.parametrize("dist", DISTS)
def test_no_module_level_import_cycle(dist: str) -> None:
    found = cycles(import_edges(modules_of(dist)), module_level=True)
    assert found == [], (
        f"{dist} has module-level import cycles {found}; move one import of each into "
        "the function that needs it, or split the module"
    )


def test_no_module_level_cycle_across_distributions() -> None:
    modules = {name: path for name, (_, path) in all_modules().items()}
    assert cycles(import_edges(modules), module_level=True) == []


@pytest.mark.parametrize("dist", DISTS)
def test_a_distribution_imports_only_itself_and_what_it_declares(dist: str) -> None:
    """core <- cache <- plugins: no module imports, even in a function, from a
    distribution its pyproject does not depend on."""
    owners = {name: owner for name, (owner, _) in all_modules().items()}
    allowed = declared_restflow_dependencies(dist)
    mine = modules_of(dist)
    edges = import_edges({n: p for n, (_, p) in all_modules().items()})
    wrong = sorted(
        f"{module} -> {target} ({owners[target]})"
        for module in mine
        for target in edges[module]
        if owners[target] not in allowed
    )
    assert wrong == []


def test_the_checker_sees_module_and_function_level_cycles(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    files = {
        "pkg/__init__.py": "",
        "pkg/a.py": "from pkg import b\n",
        "pkg/b.py": "import pkg.a\n",
        "pkg/c.py": "def f():\n    from pkg.d import x\n",
        "pkg/d.py": "from pkg.c import f\nx = 1\n",
        "pkg/e.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    modules = {_module_name(tmp_path, tmp_path / name): tmp_path / name for name in files}
    edges = import_edges(modules)
    assert cycles(edges, module_level=True) == [["pkg.a", "pkg.b"]]
    assert cycles(edges, module_level=False) == [["pkg.a", "pkg.b"], ["pkg.c", "pkg.d"]]
    assert "pkg.a" not in edges["pkg.e"]
