"""Find the Django test apps that distributions keep in their ``tests/`` folders.

A distribution's tests may carry a Django app (a folder with ``apps.py``) next to its
test modules, e.g. ``packages/restflow-cache/tests/cache_testapp``. The folder
``packages/<dist>/tests`` is put on ``sys.path`` and the app installed when ``<dist>``
itself is installed, so an isolated run of one distribution sees only its own test app.

A test app that needs third-party apps installed before it (e.g. ``django_q`` for its
ORM tables) lists them in ``REQUIRES_APPS`` in its ``__init__.py``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]


def _dist_installed(name: str) -> bool:
    try:
        importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def package_test_apps() -> list[str]:
    apps: list[str] = []
    for tests_dir in sorted((REPO_ROOT / "packages").glob("*/tests")):
        if not _dist_installed(tests_dir.parent.name):
            continue
        candidates = sorted(p.parent for p in tests_dir.glob("*/apps.py"))
        if not candidates:
            continue
        if str(tests_dir) not in sys.path:
            sys.path.insert(0, str(tests_dir))
        for app in (p.name for p in candidates):
            required = getattr(importlib.import_module(app), "REQUIRES_APPS", ())
            apps.extend(name for name in required if name not in apps)
            apps.append(app)
    return apps
