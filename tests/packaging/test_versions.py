"""One version for every distribution: the root ``[tool.restflow] version``.

These read pyproject files only; ``nox -s version -- X.Y.Z`` is the way to change it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import versioning

ROOT = versioning.ROOT


def _copy_workspace(dest: Path) -> Path:
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    for dist in versioning.distributions():
        (dest / "packages" / dist).mkdir(parents=True)
        shutil.copy(ROOT / "packages" / dist / "pyproject.toml", dest / "packages" / dist)
    return dest


def test_root_version_is_a_release_version() -> None:
    assert versioning.VERSION_RE.match(versioning.root_version())


def test_every_package_has_the_root_version_and_pins_siblings_on_its_minor() -> None:
    problems = versioning.version_problems()
    assert problems == [], "\n".join(problems)


def test_every_non_core_package_pins_restflow_core() -> None:
    pinned = {
        p.package
        for p in versioning.sibling_pins()
        if p.where == "dependencies" and p.requirement.startswith("restflow-core")
    }
    others = set(versioning.distributions()) - {"restflow-core"}
    assert others <= pinned, f"not depending on restflow-core: {sorted(others - pinned)}"


def test_a_drifted_package_version_is_reported(tmp_path: Path) -> None:
    root = _copy_workspace(tmp_path)
    path = root / "packages" / "restflow-core" / "pyproject.toml"
    path.write_text(path.read_text().replace(f'"{versioning.root_version()}"', '"9.9.9"', 1))
    problems = versioning.version_problems(root)
    assert any(p.startswith("restflow-core: version '9.9.9'") for p in problems), problems


def test_a_drifted_sibling_pin_is_reported(tmp_path: Path) -> None:
    root = _copy_workspace(tmp_path)
    pins = list(versioning.sibling_pins(root))
    if not pins:
        pytest.fail("no package pins a sibling: restflow-core should be pinned by the others")
    victim = pins[0]
    path = root / "packages" / victim.package / "pyproject.toml"
    drifted = victim.requirement.replace("~=", ">=")
    path.write_text(path.read_text().replace(victim.requirement, drifted, 1))
    problems = versioning.version_problems(root)
    assert any(drifted in p for p in problems), problems


def test_set_version_rewrites_root_packages_and_pins(tmp_path: Path) -> None:
    root = _copy_workspace(tmp_path)
    before = (root / "pyproject.toml").read_text()
    changed = versioning.set_version("2.3.4", root=root)
    assert root / "pyproject.toml" in changed
    assert versioning.root_version(root) == "2.3.4"
    assert versioning.version_problems(root) == []
    for pin in versioning.sibling_pins(root):
        assert "~=2.3.0" in pin.requirement
    # Only the version changed in the root file: comments and other tables survive.
    after = (root / "pyproject.toml").read_text()
    assert after.replace('"2.3.4"', f'"{versioning.root_version()}"') == before
    assert versioning.set_version("2.3.4", root=root) == []


def test_set_version_refuses_a_non_release_string(tmp_path: Path) -> None:
    root = _copy_workspace(tmp_path)
    with pytest.raises(ValueError, match=r"expected X\.Y\.Z"):
        versioning.set_version("2.3", root=root)
    assert versioning.version_problems(root) == []


def test_compatible_pin_is_the_minor_series() -> None:
    assert versioning.compatible_pin("1.2.3") == "~=1.2.0"
    assert versioning.compatible_pin("0.10.0rc1") == "~=0.10.0"


def test_every_requirement_has_a_lower_bound() -> None:
    """``nox -s oldest`` installs each lower bound: it must be one the suite passes on."""
    assert versioning.unbounded_requirements() == []


def test_a_requirement_without_a_lower_bound_is_reported(tmp_path: Path) -> None:
    root = _copy_workspace(tmp_path)
    path = root / "packages" / "restflow-core" / "pyproject.toml"
    text = path.read_text()
    path.write_text(text.replace('"pip>=22.3"', '"pip"').replace('"Django>=5.2,<6"', '"Django<6"', 1))
    found = {(p.where, p.requirement) for p in versioning.unbounded_requirements(root)}
    assert found == {("dependency-groups.test", "pip"), ("dependencies", "Django<6")}
