"""Helpers shared by the invalidation tests (plain functions and the module mark)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import caches
from django.test import override_settings
from invalidation_testapp.cached import CALLS

from restflow.log import reset_log_throttle


def reset_state() -> None:
    for cache in caches.all(initialized_only=True):
        cache.clear()
    CALLS.clear()
    reset_log_throttle()


ON_TWO_BACKENDS = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("two_backends")]
"""``pytestmark`` of a module whose tests make real commits, each on local memory and on
the test bed's Redis (the ``two_backends`` fixture of conftest.py)."""


def settings_with(**cache_settings: Any) -> override_settings:
    return override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": cache_settings})
