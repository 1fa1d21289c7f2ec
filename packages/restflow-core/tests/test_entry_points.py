"""Entry-point discovery, proven with real distributions installed into a temporary path.

The test builds two throwaway distributions with hatchling, installs them with pip into
a private directory, and starts a fresh interpreter with that directory on its path:
nothing patches ``importlib.metadata``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

_PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "{name}"
version = "{version}"

[project.entry-points."restflow.dispatchers"]
{entry_points}

[tool.hatch.build.targets.wheel]
packages = {packages}
"""


def _pyproject(name: str, version: str, dispatchers: dict[str, str]) -> str:
    """A hatchling project of the packages ``dispatchers`` point into, declaring each as a
    ``restflow.dispatchers`` entry point."""
    packages = sorted({target.split(":")[0] for target in dispatchers.values()})
    entry_points = "\n".join(f'{key} = "{target}"' for key, target in dispatchers.items())
    return _PYPROJECT.format(
        name=name, version=version, entry_points=entry_points, packages=json.dumps(packages)
    )


PLUGIN_A = {
    "pyproject.toml": _pyproject("throwaway-pigeon", "1.0", {
        "pigeon": "throwaway_pigeon:PigeonDispatcher",
        "parrot": "throwaway_pigeon_broken:ParrotDispatcher",
    }),
    "throwaway_pigeon/__init__.py": """
        from restflow.dispatch.base import Dispatcher

        class PigeonDispatcher(Dispatcher):
            name = "pigeon"

            def _dispatch(self, *, rule_ids, rule_kwargs, **context):
                print("pigeon carries", rule_ids)
    """,
    "throwaway_pigeon_broken/__init__.py": """
        import carrier_library_that_is_not_installed  # noqa: F401
    """,
}

PLUGIN_B = {
    "pyproject.toml": _pyproject("throwaway-rival", "2.0", {
        "pigeon": "throwaway_rival:RivalPigeon",
    }),
    "throwaway_rival/__init__.py": """
        from restflow.dispatch.base import Dispatcher

        class RivalPigeon(Dispatcher):
            name = "pigeon"

            def _dispatch(self, **kwargs):
                raise AssertionError("the rival must not be used")
    """,
}

PROBE = """
import logging, sys
logging.basicConfig(level=logging.WARNING, stream=sys.stdout, format="LOG %(message)s")
from restflow.dispatch import registry
names = registry.registered_dispatcher_names()
print("NAMES", ",".join(names))
registry.get_dispatcher("pigeon").dispatch(rule_ids=["r1"], rule_kwargs={"r1": {}})
try:
    registry.get_dispatcher("parrot")
except registry.DispatcherUnavailableError as exc:
    print("UNAVAILABLE", exc)
print("INLINE", type(registry.get_dispatcher("inline")).__name__)
"""


def _write_project(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return root


def _pip_install(project: Path, target: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
         "--no-build-isolation", "--target", str(target), str(project)],
        check=True, capture_output=True, text=True,
    )


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("hatchling", reason="hatchling builds the throwaway plugins")
    base = tmp_path_factory.mktemp("plugins")
    target = base / "site"
    _pip_install(_write_project(base / "a", PLUGIN_A), target)
    _pip_install(_write_project(base / "b", PLUGIN_B), target)
    return target


def _probe(plugin_path: Path) -> str:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugin_path), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_a_plugin_is_discovered_from_its_installed_entry_point(plugin_path: Path) -> None:
    out = _probe(plugin_path)
    names_line = next(line for line in out.splitlines() if line.startswith("NAMES"))
    names = names_line.split(" ", 1)[1].split(",")
    assert "pigeon" in names
    assert {"inline", "threadpool", "asyncio"} <= set(names)
    assert "pigeon carries ['r1']" in out


def test_a_duplicate_name_is_rejected_with_both_suppliers_named(plugin_path: Path) -> None:
    out = _probe(plugin_path)
    warning = next(line for line in out.splitlines() if "two distributions provide" in line)
    assert "throwaway-pigeon 1.0" in warning
    assert "throwaway-rival 2.0" in warning
    assert "'pigeon'" in warning


def test_a_plugin_that_fails_to_import_is_reported_and_the_others_keep_working(
    plugin_path: Path,
) -> None:
    out = _probe(plugin_path)
    assert "LOG restflow dispatcher 'parrot' from throwaway-pigeon 1.0 could not be imported" in out
    unavailable = next(line for line in out.splitlines() if line.startswith("UNAVAILABLE"))
    assert "throwaway-pigeon" in unavailable
    assert "carrier_library_that_is_not_installed" in unavailable
    assert "INLINE InlineDispatcher" in out
