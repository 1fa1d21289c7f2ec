"""Every distribution has the same shape (packaging contract, sections 1 and 2).

Source-tree checks only; ``nox -s dist`` checks the built wheels the same way.
"""

from __future__ import annotations

import distcheck
import pytest
import versioning

ROOT = versioning.ROOT
DISTS = versioning.distributions()
# The order every package's [project] table follows; the first six are required.
PROJECT_KEY_ORDER = [
    "name",
    "version",
    "description",
    "readme",
    "requires-python",
    "license",
    "license-files",
    "authors",
    "maintainers",
    "keywords",
    "classifiers",
    "dependencies",
    "optional-dependencies",
    "urls",
    "scripts",
    "gui-scripts",
    "entry-points",
]
REQUIRED_KEYS = PROJECT_KEY_ORDER[:6]

per_dist = pytest.mark.parametrize("dist", DISTS)


def _project(dist: str) -> dict:
    return versioning.load(ROOT / "packages" / dist / "pyproject.toml")


def _src_files(dist: str) -> list[str]:
    src = ROOT / "packages" / dist / "src"
    return sorted(
        rel.as_posix()
        for rel in (p.relative_to(src) for p in src.rglob("*") if p.is_file())
        # caches of tools run in the tree (.mypy_cache, __pycache__) are not shipped
        if not any(part == "__pycache__" or part.startswith(".") for part in rel.parts)
    )


def test_the_workspace_has_restflow_core() -> None:
    assert "restflow-core" in DISTS


@per_dist
def test_package_has_pyproject_readme_src_and_tests(dist: str) -> None:
    base = ROOT / "packages" / dist
    for needed in ("pyproject.toml", "README.md", "src/restflow", "tests"):
        assert (base / needed).exists(), f"{dist}: {needed} missing"
    assert (base / "README.md").read_text().strip(), f"{dist}: README.md is empty"
    assert list((base / "tests").rglob("test_*.py")), f"{dist}: no test_*.py in tests/"


@per_dist
def test_directory_is_named_after_the_distribution(dist: str) -> None:
    assert _project(dist)["project"]["name"] == dist


@per_dist
def test_namespace_levels_have_no_init(dist: str) -> None:
    src = ROOT / "packages" / dist / "src"
    for namespace in distcheck.NAMESPACES:
        assert not (src / namespace / "__init__.py").exists(), (
            f"{dist} ships src/{namespace}/__init__.py: restflow and restflow.dispatch "
            "are PEP 420 namespace packages"
        )


@per_dist
def test_every_regular_package_ships_py_typed(dist: str) -> None:
    files = _src_files(dist)
    packages = distcheck.regular_packages(files)
    assert packages or dist == "restflow-core", f"{dist} ships no regular package"
    for package in sorted(packages):
        assert f"{package}/py.typed" in files, f"{dist}: {package}/py.typed missing"
    for namespace in distcheck.NAMESPACES:
        direct = [f for f in files if f.rsplit("/", 1)[0] == namespace and f.endswith(".py")]
        if direct:
            assert f"{namespace}/py.typed" in files, f"{dist}: {namespace}/py.typed missing"


@per_dist
def test_pyproject_fields_in_the_common_order(dist: str) -> None:
    keys = list(_project(dist)["project"])
    for key in REQUIRED_KEYS:
        assert key in keys, f"{dist}: [project] has no {key}"
    unknown = [k for k in keys if k not in PROJECT_KEY_ORDER]
    assert not unknown, f"{dist}: [project] keys outside the common set: {unknown}"
    ranks = [PROJECT_KEY_ORDER.index(k) for k in keys]
    assert ranks == sorted(ranks), f"{dist}: [project] keys {keys} are not in the order {PROJECT_KEY_ORDER}"


@per_dist
def test_pyproject_uses_hatchling_src_layout_and_python_311(dist: str) -> None:
    data = _project(dist)
    assert data["build-system"]["build-backend"] == "hatchling.build"
    assert data["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["src/restflow"]
    assert data["project"]["requires-python"] == ">=3.11"
    assert data["project"]["readme"] == "README.md"


def test_no_source_file_belongs_to_two_distributions() -> None:
    owners: dict[str, str] = {}
    clashes = []
    for dist in DISTS:
        for path in _src_files(dist):
            if path.endswith(".pyc"):
                continue
            if path in owners:
                clashes.append(f"{path}: {owners[path]} and {dist}")
            owners[path] = dist
    assert clashes == []


@per_dist
def test_entry_points_point_into_the_same_distribution(dist: str) -> None:
    entry_points = _project(dist)["project"].get("entry-points", {})
    files = _src_files(dist)
    for name, target in entry_points.get(distcheck.ENTRY_POINT_GROUP, {}).items():
        module = target.split(":", 1)[0].replace(".", "/")
        assert f"{module}.py" in files or f"{module}/__init__.py" in files, (
            f"{dist}: entry point {name} = {target} is not in this distribution"
        )
