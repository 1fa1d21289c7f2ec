"""The suite imports restflow from where the session installed it.

``nox -s dist`` and ``nox -s isolated`` set ``RESTFLOW_TEST_INSTALL=wheel``: every
restflow module must then come from site-packages, never from ``packages/*/src``, or
the wheels were not what was tested. ``nox -s tests`` sets ``editable``: modules come
from the source tree. Unset (a developer's venv): each module comes from one of the two.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import sysconfig
from pathlib import Path

import distcheck
import pytest
import versioning

ROOT = versioning.ROOT
INSTALLED = [d for d in versioning.distributions() if distcheck.is_installed(d)]


def test_restflow_core_is_installed() -> None:
    assert "restflow-core" in INSTALLED


@pytest.mark.parametrize("dist", INSTALLED)
def test_modules_come_from_the_expected_place(dist: str) -> None:
    mode = os.environ.get("RESTFLOW_TEST_INSTALL", "")
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    src = (ROOT / "packages" / dist / "src").resolve()
    modules = distcheck.modules_of(dist)
    assert modules, f"{dist} ships no module"
    for name in modules:
        location = Path(importlib.import_module(name).__file__ or "").resolve()
        from_site = site in location.parents
        from_src = src in location.parents
        if mode == "wheel":
            assert from_site, f"{name} imported from {location}, not from {site}"
        elif mode == "editable":
            assert from_src, f"{name} imported from {location}, not from {src}"
        else:
            assert from_site or from_src, f"{name} imported from {location}"


def test_namespace_packages_have_no_init_where_installed() -> None:
    import restflow
    import restflow.dispatch

    for module in (restflow, restflow.dispatch):
        assert getattr(module, "__file__", None) is None, (
            f"{module.__name__} is a regular package ({module.__file__}): some "
            "distribution ships its __init__.py"
        )


def test_settings_module_location_matches_the_install_mode() -> None:
    import restflow.settings

    location = Path(restflow.settings.__file__).resolve()
    if os.environ.get("RESTFLOW_TEST_INSTALL") == "wheel":
        assert "site-packages" in location.parts
        assert ROOT / "packages" not in location.parents
    assert importlib.metadata.version("restflow-core") == versioning.root_version()
