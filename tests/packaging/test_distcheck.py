"""The wheel checks of ``nox -s dist`` catch each packaging mistake.

The wheels here are made by hand, so every rule is shown to fail on a broken wheel
(and to pass on a good set) without building anything.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import distcheck
import pytest

VERSION = "1.2.3"
EXPECTED = ["restflow-core", "restflow-cache", "restflow-dispatch-celery"]


def make_wheel(
    tmp_path: Path,
    name: str,
    files: list[str],
    *,
    version: str = VERSION,
    requires: tuple[str, ...] = (),
    entry_points: dict[str, str] | None = None,
) -> distcheck.Wheel:
    stem = f"{name.replace('-', '_')}-{version}"
    path = tmp_path / f"{stem}-py3-none-any.whl"
    meta = ["Metadata-Version: 2.4", f"Name: {name}", f"Version: {version}"]
    meta += [f"Requires-Dist: {r}" for r in requires]
    with zipfile.ZipFile(path, "w") as zf:
        for file in files:
            zf.writestr(file, "")
        zf.writestr(f"{stem}.dist-info/METADATA", "\n".join(meta) + "\n")
        zf.writestr(f"{stem}.dist-info/RECORD", "")
        if entry_points:
            lines = ["[restflow.dispatchers]"] + [f"{k} = {v}" for k, v in entry_points.items()]
            zf.writestr(f"{stem}.dist-info/entry_points.txt", "\n".join(lines) + "\n")
    return distcheck.Wheel.read(path)


def good_set(tmp_path: Path) -> list[distcheck.Wheel]:
    return [
        make_wheel(
            tmp_path,
            "restflow-core",
            [
                "restflow/py.typed",
                "restflow/settings.py",
                "restflow/dispatch/py.typed",
                "restflow/dispatch/base.py",
                "restflow/dispatch/inline.py",
            ],
            requires=("Django>=5.2",),
            entry_points={"inline": "restflow.dispatch.inline:InlineDispatcher"},
        ),
        make_wheel(
            tmp_path,
            "restflow-cache",
            [
                "restflow/caching/__init__.py",
                "restflow/caching/py.typed",
                "restflow/caching/migrations/__init__.py",
            ],
            requires=("restflow-core~=1.2.0", 'restflow-dispatch-celery~=1.2.0; extra == "celery"'),
        ),
        make_wheel(
            tmp_path,
            "restflow-dispatch-celery",
            ["restflow/dispatch/celery/__init__.py", "restflow/dispatch/celery/py.typed"],
            requires=("restflow-core~=1.2.0", "celery>=5.3"),
            entry_points={"celery": "restflow.dispatch.celery:CeleryDispatcher"},
        ),
    ]


def problems_with(tmp_path: Path, index: int, **changes: object) -> list[str]:
    wheels = good_set(tmp_path)
    wheel = wheels[index]
    for key, value in changes.items():
        setattr(wheel, key, value)
    return distcheck.wheel_problems(wheels, EXPECTED, VERSION)


def test_a_good_set_of_wheels_passes(tmp_path: Path) -> None:
    assert distcheck.wheel_problems(good_set(tmp_path), EXPECTED, VERSION) == []


@pytest.mark.parametrize("namespace", ["restflow", "restflow/dispatch"])
def test_namespace_init_is_rejected(tmp_path: Path, namespace: str) -> None:
    wheels = good_set(tmp_path)
    wheels[1].files.append(f"{namespace}/__init__.py")
    problems = distcheck.wheel_problems(wheels, EXPECTED, VERSION)
    assert any(f"ships {namespace}/__init__.py" in p for p in problems), problems


def test_missing_py_typed_is_rejected(tmp_path: Path) -> None:
    wheels = good_set(tmp_path)
    wheels[2].files.remove("restflow/dispatch/celery/py.typed")
    problems = distcheck.wheel_problems(wheels, EXPECTED, VERSION)
    assert problems == [
        "restflow_dispatch_celery-1.2.3-py3-none-any.whl: restflow/dispatch/celery/py.typed missing"
    ]


def test_a_path_shipped_twice_is_rejected(tmp_path: Path) -> None:
    wheels = good_set(tmp_path)
    wheels[1].files.append("restflow/settings.py")
    problems = distcheck.wheel_problems(wheels, EXPECTED, VERSION)
    assert any(p.startswith("restflow/settings.py is shipped by") for p in problems), problems


def test_a_loose_sibling_pin_is_rejected(tmp_path: Path) -> None:
    problems = problems_with(tmp_path, 2, requires=["restflow-core>=1.0", "celery>=5.3"])
    assert any("expected restflow-core~=1.2.0" in p for p in problems), problems


def test_a_plugin_that_does_not_require_core_is_rejected(tmp_path: Path) -> None:
    problems = problems_with(tmp_path, 2, requires=["celery>=5.3"])
    assert problems == [
        "restflow_dispatch_celery-1.2.3-py3-none-any.whl: does not require restflow-core~=1.2.0"
    ]


def test_a_pin_on_another_minor_is_rejected(tmp_path: Path) -> None:
    problems = problems_with(tmp_path, 1, requires=["restflow-core~=1.1.0"])
    assert any("expected restflow-core~=1.2.0" in p for p in problems), problems


def test_a_wrong_version_is_rejected(tmp_path: Path) -> None:
    problems = problems_with(tmp_path, 0, version="1.2.4")
    assert any("version 1.2.4, expected 1.2.3" in p for p in problems), problems


def test_missing_and_unexpected_wheels_are_reported(tmp_path: Path) -> None:
    wheels = good_set(tmp_path)[:2]
    problems = distcheck.wheel_problems(wheels, [*EXPECTED[:2], "restflow-jwt"], VERSION)
    assert "no wheel for restflow-jwt" in problems
    assert "unexpected wheel restflow-dispatch-celery" not in problems
    problems = distcheck.wheel_problems(good_set(tmp_path), EXPECTED[:2], VERSION)
    assert "unexpected wheel restflow-dispatch-celery" in problems


def test_an_entry_point_outside_its_wheel_is_rejected(tmp_path: Path) -> None:
    problems = problems_with(
        tmp_path,
        2,
        entry_points={"restflow.dispatchers": {"celery": "restflow.dispatch.rq:RqDispatcher"}},
    )
    assert any("entry point celery" in p and "outside the wheel" in p for p in problems)


def test_regular_packages_are_the_topmost_below_the_namespaces() -> None:
    files = [
        "restflow/caching/__init__.py",
        "restflow/caching/migrations/__init__.py",
        "restflow/dispatch/celery/__init__.py",
        "restflow/settings.py",
    ]
    assert distcheck.regular_packages(files) == {"restflow/caching", "restflow/dispatch/celery"}


def test_installed_entry_points_load_classes_with_their_own_name() -> None:
    # Runs against whatever this environment has installed: restflow-core at least.
    assert distcheck.entry_point_problems() == []


def make_sdist(tmp_path: Path, name: str, files: list[str], version: str = VERSION) -> Path:
    import io
    import tarfile

    top = f"{name.replace('-', '_')}-{version}"
    path = tmp_path / f"{top}.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for file in ["PKG-INFO", "pyproject.toml", "README.md", *files]:
            info = tarfile.TarInfo(f"{top}/{file}")
            tf.addfile(info, io.BytesIO(b""))
    return path


def test_an_sdist_that_ships_tests_is_rejected(tmp_path: Path) -> None:
    good = [make_sdist(tmp_path, name, ["src/restflow/x/a.py"]) for name in EXPECTED]
    assert distcheck.sdist_problems(good, EXPECTED, VERSION) == []
    bad = make_sdist(tmp_path / "", "restflow-core", ["src/restflow/x/a.py", "tests/conftest.py"])
    problems = distcheck.sdist_problems([bad, *good[1:]], EXPECTED, VERSION)
    assert problems == [f"{bad.name}: ships tests/ (they cannot run outside the repository)"]
