"""Importing the modules where cached functions and their rules are declared.

Two callers: auto-discovery at start-up (every submodule of every local app), and a
worker that receives a rule id it does not know (the module named in the id).
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

logger = logging.getLogger("restflow.caching.registry")

_FATAL = (KeyboardInterrupt, SystemExit, MemoryError)
_THIRD_PARTY_DIRS = ("site-packages", "dist-packages")


def _import_quietly(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None
    except _FATAL:
        raise
    except Exception:
        logger.warning("restflow cache discovery failed to import %s", name, exc_info=True)
        return None


def _is_third_party(paths: Iterable[str]) -> bool:
    return any(part in _THIRD_PARTY_DIRS for path in paths for part in Path(path).parts)


def _walk(package: ModuleType) -> None:
    paths = list(getattr(package, "__path__", []))
    for info in pkgutil.iter_modules(paths, prefix=package.__name__ + "."):
        if "migrations" in info.name.split("."):
            continue
        module = _import_quietly(info.name)
        if module is not None and info.ispkg:
            _walk(module)


def _is_restflow(module: ModuleType) -> bool:
    # restflow's own apps declare no cached functions; skipping them also keeps an
    # editable install (not under site-packages) from importing their optional modules.
    return module.__name__.split(".", 1)[0] == "restflow"


def import_app_modules(app_modules: Iterable[ModuleType]) -> None:
    """Import every submodule of each app package (not plain-module apps, not
    third-party apps under site-packages, not restflow's own, never ``migrations``)."""
    for module in app_modules:
        paths = getattr(module, "__path__", None)
        if paths is None:
            continue  # a plain module: importing the app already imported it
        if _is_third_party(paths) or _is_restflow(module):
            continue
        _walk(module)


def _split_rule_id(rule_id: str) -> tuple[str, str, str] | None:
    """``"<module>.<qualname>#<label>#<n>"`` -> ``(dotted, label, n)``."""
    parts = rule_id.split("#")
    if len(parts) != 3 or not parts[0]:
        return None
    return parts[0], parts[1], parts[2]


def import_rule_owner(rule_id: str) -> Any:
    """Import the module named in ``rule_id`` and return the object it names (or None).

    The dotted part joins ``__module__`` and ``__qualname__``; the longest importable
    module prefix is taken and the rest is walked with ``getattr``.
    """
    split = _split_rule_id(rule_id)
    if split is None:
        return None
    parts = split[0].split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module = _import_quietly(".".join(parts[:cut]))
        if module is None:
            continue
        target: Any = module
        for attr in parts[cut:]:
            if attr == "<locals>":
                return None
            target = getattr(target, attr, None)
            if target is None:
                return None
        return target
    return None
