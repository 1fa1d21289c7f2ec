"""Checks of built restflow artifacts and of installed environments.

Run by nox (standard library only, plus ``packaging`` where it is installed):

``python tests/packaging/distcheck.py artifacts DIR``
    the wheels and sdists in DIR: one of each per distribution of the workspace, no
    namespace ``__init__.py``, ``py.typed`` in every regular package, no path shipped by
    two wheels, entry points that point into their own wheel, the one version, and
    sibling requirements pinned ``~=X.Y.0``.
``python tests/packaging/distcheck.py installed DIR``
    after installing those wheels: every restflow module is imported from site-packages,
    and every ``restflow.dispatchers`` entry point loads a class whose ``name`` is the
    entry point's name.
``python tests/packaging/distcheck.py isolated DIST[,DIST...]``
    exactly those workspace distributions are installed, and all their modules import.

``tests/packaging/test_distcheck.py`` feeds these functions hand-made wheels.
"""

from __future__ import annotations

import configparser
import email.parser
import importlib
import importlib.metadata
import os
import re
import sys
import sysconfig
import tarfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import versioning  # noqa: E402

ENTRY_POINT_GROUP = "restflow.dispatchers"
CORE = "restflow-core"
NAMESPACES = ("restflow", "restflow/dispatch")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class Wheel:
    """What a check needs to know about one wheel."""

    filename: str
    name: str
    version: str
    files: list[str]
    requires: list[str] = field(default_factory=list)
    entry_points: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> Wheel:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            info = next(n for n in names if n.count("/") == 1 and n.endswith(".dist-info/METADATA"))
            meta = email.parser.Parser().parsestr(zf.read(info).decode())
            eps_name = info.replace("METADATA", "entry_points.txt")
            eps: dict[str, dict[str, str]] = {}
            if eps_name in names:
                parser = configparser.ConfigParser(delimiters=("=",))
                parser.optionxform = str  # type: ignore[assignment,method-assign]
                parser.read_string(zf.read(eps_name).decode())
                eps = {s: dict(parser[s]) for s in parser.sections()}
        return cls(
            filename=path.name,
            name=normalize(meta["Name"]),
            version=meta["Version"],
            files=[n for n in names if ".dist-info/" not in n and not n.endswith("/")],
            requires=meta.get_all("Requires-Dist") or [],
            entry_points=eps,
        )


def _requirement(req: str) -> tuple[str, str]:
    """(normalized name, specifier) of a requirement string."""
    try:
        from packaging.requirements import Requirement
    except ImportError:  # pragma: no cover - packaging comes with build and pytest
        return normalize(re.split(r"[\s\[<>=!~;(]", req, maxsplit=1)[0]), ""
    parsed = Requirement(req)
    return normalize(parsed.name), str(parsed.specifier)


def regular_packages(files: Iterable[str]) -> set[str]:
    """Top-most regular packages below the namespaces (``restflow/caching``, ...)."""
    found: set[str] = set()
    for path in files:
        if not path.endswith("/__init__.py"):
            continue
        package = path.rsplit("/", 1)[0]
        parent = package.rsplit("/", 1)[0]
        if parent in NAMESPACES:
            found.add(package)
    return found


def wheel_problems(wheels: list[Wheel], expected: list[str], version: str) -> list[str]:
    """Everything wrong with a set of wheels, as human-readable lines."""
    problems: list[str] = []
    pin = versioning.compatible_pin(version)
    names = [w.name for w in wheels]
    for missing in sorted(set(expected) - set(names)):
        problems.append(f"no wheel for {missing}")
    for extra in sorted(set(names) - set(expected)):
        problems.append(f"unexpected wheel {extra}")
    for dup in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"several wheels for {dup}")
    owners: dict[str, str] = {}
    for wheel in wheels:
        where = wheel.filename
        files = set(wheel.files)
        for namespace in NAMESPACES:
            if f"{namespace}/__init__.py" in files:
                problems.append(f"{where}: ships {namespace}/__init__.py (namespace package)")
        for package in sorted(regular_packages(files)):
            if f"{package}/py.typed" not in files:
                problems.append(f"{where}: {package}/py.typed missing")
        for namespace in NAMESPACES:
            direct = [f for f in files if f.rsplit("/", 1)[0] == namespace and f.endswith(".py")]
            if direct and f"{namespace}/py.typed" not in files:
                problems.append(f"{where}: modules in {namespace}/ but no {namespace}/py.typed")
        for path in sorted(files):
            if path in owners:
                problems.append(f"{path} is shipped by {owners[path]} and {where}")
            else:
                owners[path] = where
        if wheel.version != version:
            problems.append(f"{where}: version {wheel.version}, expected {version}")
        core_pinned = False
        for req in wheel.requires:
            dep, spec = _requirement(req)
            if dep in expected and spec != pin:
                problems.append(f"{where}: requires {req!r}, expected {dep}{pin}")
            core_pinned |= dep == CORE and ";" not in req
        if wheel.name != CORE and CORE in expected and not core_pinned:
            problems.append(f"{where}: does not require {CORE}{pin}")
        for ep_name, target in wheel.entry_points.get(ENTRY_POINT_GROUP, {}).items():
            module = target.split(":", 1)[0].strip()
            path = module.replace(".", "/")
            if f"{path}.py" not in files and f"{path}/__init__.py" not in files:
                problems.append(f"{where}: entry point {ep_name} = {target} points outside the wheel")
    return problems


def sdist_problems(sdists: list[Path], expected: list[str], version: str) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    for path in sdists:
        with tarfile.open(path) as tf:
            members = tf.getnames()
        top = members[0].split("/", 1)[0] if members else path.name
        inner = {m.split("/", 1)[1] for m in members if "/" in m}
        name, _, found_version = top.rpartition("-")
        seen.add(normalize(name))
        if found_version != version:
            problems.append(f"{path.name}: version {found_version}, expected {version}")
        for needed in ("PKG-INFO", "pyproject.toml", "README.md"):
            if needed not in inner:
                problems.append(f"{path.name}: {needed} missing")
        if not any(m.startswith("src/restflow/") for m in inner):
            problems.append(f"{path.name}: no src/restflow/")
        for namespace in NAMESPACES:
            if f"src/{namespace}/__init__.py" in inner:
                problems.append(f"{path.name}: ships src/{namespace}/__init__.py")
        if any(m == "tests" or m.startswith("tests/") for m in inner):
            # They import the repository's test bed, which no sdist carries.
            problems.append(f"{path.name}: ships tests/ (they cannot run outside the repository)")
    for missing in sorted(set(expected) - seen):
        problems.append(f"no sdist for {missing}")
    return problems


def check_artifacts(out: Path) -> list[str]:
    expected = [normalize(d) for d in versioning.distributions()]
    version = versioning.root_version()
    wheels = [Wheel.read(p) for p in sorted(out.glob("*.whl"))]
    problems = wheel_problems(wheels, expected, version)
    problems += sdist_problems(sorted(out.glob("*.tar.gz")), expected, version)
    if not problems:
        for wheel in wheels:
            print(f"ok  {wheel.filename}: {len(wheel.files)} files")
    return problems


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT / "tests" / "testbed"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "restflow_testbed.settings")
    import django

    django.setup()


def is_installed(dist: str) -> bool:
    try:
        importlib.metadata.distribution(dist)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _installed_workspace() -> set[str]:
    names = {normalize(d) for d in versioning.distributions()}
    return {
        normalize(dist.metadata["Name"])
        for dist in importlib.metadata.distributions()
        if normalize(dist.metadata["Name"]) in names
    }


def entry_point_problems() -> list[str]:
    """Each entry point of the group loads a class named like the entry point."""
    problems: list[str] = []
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        owner = normalize(ep.dist.metadata["Name"]) if ep.dist else "?"
        try:
            target = ep.load()
        except Exception as exc:
            problems.append(f"{owner}: entry point {ep.name} = {ep.value} fails: {exc!r}")
            continue
        name = getattr(target, "name", None)
        if name != ep.name:
            problems.append(f"{owner}: entry point {ep.name} loads {ep.value} named {name!r}")
        else:
            print(f"ok  entry point {ep.name} -> {ep.value} ({owner})")
    return problems


def check_installed(out: Path) -> list[str]:
    del out  # the wheels were installed by nox; the environment is what is checked
    _setup_django()
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    problems: list[str] = []
    expected = {normalize(d) for d in versioning.distributions()}
    missing = expected - _installed_workspace()
    if missing:
        problems.append(f"not installed: {sorted(missing)}")
    for dist in sorted(expected - missing):
        for module in modules_of(dist):
            imported = importlib.import_module(module)
            location = Path(imported.__file__ or "").resolve()
            if site not in location.parents:
                problems.append(f"{module} imported from {location}, not from {site}")
    for namespace in NAMESPACES:
        if (site / namespace / "__init__.py").exists():
            problems.append(f"{site / namespace / '__init__.py'} exists")
    return problems + entry_point_problems()


def modules_of(dist: str) -> list[str]:
    """Importable names a distribution ships: its modules and regular packages."""
    src = ROOT / "packages" / dist / "src"
    modules: list[str] = []
    for namespace in NAMESPACES:
        base = src / namespace
        for child in sorted(base.iterdir()) if base.is_dir() else []:
            dotted = namespace.replace("/", ".")
            if child.suffix == ".py":
                modules.append(f"{dotted}.{child.stem}")
            elif (child / "__init__.py").is_file():
                modules.append(f"{dotted}.{child.name}")
    return modules


def check_isolated(dists: list[str]) -> list[str]:
    problems: list[str] = []
    installed = _installed_workspace()
    if installed != {normalize(d) for d in dists}:
        problems.append(f"installed restflow distributions {sorted(installed)}, expected {dists}")
    _setup_django()
    for module in [m for d in dists for m in modules_of(d)]:
        try:
            importlib.import_module(module)
        except Exception as exc:
            problems.append(f"import {module} fails: {exc!r}")
        else:
            print(f"ok  import {module}")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "artifacts":
        problems = check_artifacts(Path(argv[1]))
    elif len(argv) >= 2 and argv[0] == "installed":
        problems = check_installed(Path(argv[1]))
    elif len(argv) == 2 and argv[0] == "isolated":
        problems = check_isolated(argv[1].split(","))
    else:
        print(__doc__)
        return 2
    for line in problems:
        print(f"FAIL  {line}")
    print(f"{argv[0]}: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
