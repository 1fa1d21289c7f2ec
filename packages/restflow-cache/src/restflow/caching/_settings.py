"""``CACHE_SETTINGS`` values read on the hit path, cached until ``RESTFLOW_SETTINGS`` changes.

``restflow_settings`` resolves attributes through Python-level ``__getattr__`` calls;
the key builder needs a few values on every call, so they are kept here and dropped on
Django's ``setting_changed`` (``override_settings`` and friends), like DRF's settings.
"""

from __future__ import annotations

from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver

from restflow.settings import restflow_settings

__all__ = ["cache_setting", "generation"]

_values: dict[str, Any] = {}
generation = [0]
"""Bumped whenever ``RESTFLOW_SETTINGS`` changes (memoized key plans compare it)."""


@receiver(setting_changed)
def _forget(*, setting: str, **kwargs: Any) -> None:
    if setting == "RESTFLOW_SETTINGS":
        _values.clear()
        generation[0] += 1


def cache_setting(name: str) -> Any:
    """``restflow_settings.CACHE_SETTINGS.<name>``, cached."""
    try:
        return _values[name]
    except KeyError:
        value = getattr(restflow_settings.CACHE_SETTINGS, name)
        _values[name] = value
        return value
