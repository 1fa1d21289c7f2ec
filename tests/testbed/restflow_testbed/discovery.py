"""Find the Django test apps that distributions keep in their ``tests/`` folders.

A distribution's tests may carry a Django app (a folder with ``apps.py``) next to its
test modules, e.g. ``packages/restflow-cache/tests/cache_testapp``. The folder
``packages/<dist>/tests`` is put on ``sys.path`` and the app installed when ``<dist>``
itself is installed, so an isolated run of one distribution sees only its own test app.
"""

from __future__ import annotations

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
        apps.extend(p.name for p in candidates)
    return apps
