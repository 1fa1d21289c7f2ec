"""The one restflow version: read it, check every copy, rewrite them all.

Used by ``nox -s version -- X.Y.Z`` and by ``tests/packaging/test_versions.py``. Plain
standard library, so it runs in any environment (no nox, no packaging).

The version lives in the root ``pyproject.toml`` under ``[tool.restflow] version``. Every
``packages/<dist>/pyproject.toml`` repeats it as ``[project] version`` and pins the
sibling distributions it needs on the same minor series, ``restflow-core~=X.Y.0``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VERSION_RE = re.compile(r"^\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?$")
_HEADER_RE = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
_VERSION_LINE_RE = re.compile(r'^(\s*version\s*=\s*)(["\'])([^"\']*)\2(.*)$')


@dataclass(frozen=True)
class Pin:
    """A requirement found in a package's pyproject (on a sibling, for sibling_pins)."""

    package: str  # the distribution whose pyproject holds the requirement
    where: str  # "dependencies", "optional-dependencies.celery", "dependency-groups.test"
    requirement: str  # the requirement string as written


def load(path: Path) -> dict:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def distributions(root: Path = ROOT) -> list[str]:
    return sorted(p.parent.name for p in (root / "packages").glob("*/pyproject.toml"))


def root_version(root: Path = ROOT) -> str:
    return str(load(root / "pyproject.toml")["tool"]["restflow"]["version"])


def compatible_pin(version: str) -> str:
    """``1.2.3`` -> ``~=1.2.0``: the specifier siblings use for each other."""
    major, minor = version.split(".")[:2]
    return f"~={major}.{minor}.0"


def _requirement_name(req: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else ""


def _requirement_spec(req: str) -> str:
    """The version specifier of a PEP 508 string (between the name/extras and markers)."""
    body = req.split(";", 1)[0]
    body = re.sub(r"^\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[^\]]*\])?", "", body)
    return body.replace(" ", "").strip("()")


def requirements(root: Path = ROOT) -> Iterator[Pin]:
    """Every requirement string of every distribution: dependencies, extras, groups."""
    for dist in distributions(root):
        data = load(root / "packages" / dist / "pyproject.toml")
        project = data.get("project", {})
        sections: list[tuple[str, list[str]]] = [("dependencies", project.get("dependencies", []))]
        for extra, reqs in project.get("optional-dependencies", {}).items():
            sections.append((f"optional-dependencies.{extra}", reqs))
        for group, reqs in data.get("dependency-groups", {}).items():
            sections.append((f"dependency-groups.{group}", [r for r in reqs if isinstance(r, str)]))
        for where, reqs in sections:
            for req in reqs:
                yield Pin(dist, where, req)


def sibling_pins(root: Path = ROOT) -> Iterator[Pin]:
    names = set(distributions(root))
    return (pin for pin in requirements(root) if _requirement_name(pin.requirement) in names)


def unbounded_requirements(root: Path = ROOT) -> list[Pin]:
    """Requirements without a lower bound: ``nox -s oldest`` would install their first
    release ever (``pip`` 0.2, say) instead of a version anyone tested."""
    bounded = re.compile(r"(>=|~=|==|>)")
    return [pin for pin in requirements(root) if not bounded.search(_requirement_spec(pin.requirement))]


def version_problems(root: Path = ROOT) -> list[str]:
    """Every place where a package's version or sibling pin differs from the root's."""
    version = root_version(root)
    pin = compatible_pin(version)
    problems: list[str] = []
    for dist in distributions(root):
        project = load(root / "packages" / dist / "pyproject.toml").get("project", {})
        found = project.get("version")
        if found != version:
            problems.append(f"{dist}: version {found!r}, expected {version!r}")
        if "version" in project.get("dynamic", []):
            problems.append(f"{dist}: version must be static, not dynamic")
    for p in sibling_pins(root):
        if _requirement_spec(p.requirement) != pin:
            problems.append(
                f"{p.package} [{p.where}]: {p.requirement!r} must pin {_requirement_name(p.requirement)}{pin}"
            )
    return problems


def _rewrite_table_version(text: str, table: str, version: str) -> str:
    out: list[str] = []
    current = None
    done = False
    for line in text.splitlines(keepends=True):
        header = _HEADER_RE.match(line)
        if header:
            current = header.group(1)
        elif current == table and not done:
            match = _VERSION_LINE_RE.match(line.rstrip("\r\n"))
            if match:
                ending = line[len(line.rstrip("\r\n")) :]
                line = f"{match[1]}{match[2]}{version}{match[2]}{match[4]}{ending}"
                done = True
        out.append(line)
    if not done:
        raise RuntimeError(f"no `version = ...` line in table [{table}]")
    return "".join(out)


def set_version(version: str, root: Path = ROOT) -> list[Path]:
    """Write ``version`` in the root pyproject and every package (+ sibling pins).

    Returns the files that changed. Formatting and comments are kept: only the version
    strings and the ``~=`` specifiers of sibling requirements are replaced.
    """
    if not VERSION_RE.match(version):
        raise ValueError(f"not a release version: {version!r} (expected X.Y.Z)")
    pin = compatible_pin(version)
    names = distributions(root)
    sibling = re.compile(
        r"""(?P<q>["'])(?P<name>(?:"""
        + "|".join(re.escape(n) for n in names)
        + r"""))(?P<extras>\s*\[[^\]]*\])?\s*~=\s*[0-9][0-9A-Za-z.]*"""
    )
    files = [(root / "pyproject.toml", "tool.restflow")]
    files += [(root / "packages" / n / "pyproject.toml", "project") for n in names]
    changed: list[Path] = []
    for path, table in files:
        old = path.read_text()
        new = _rewrite_table_version(old, table, version)
        if table == "project":
            new = sibling.sub(lambda m: f"{m['q']}{m['name']}{m['extras'] or ''}{pin}", new)
        if new != old:
            path.write_text(new)
            changed.append(path)
    return changed
