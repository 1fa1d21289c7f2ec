"""Helpers shared by the invalidation tests (plain functions and fixture factories)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import caches
from django.test import override_settings
from invalidation_testapp.cached import CALLS
from restflow_testbed.plugin import redis_cache_settings

from restflow.log import reset_log_throttle


def reset_state() -> None:
    for cache in caches.all(initialized_only=True):
        cache.clear()
    CALLS.clear()
    reset_log_throttle()


def backend_fixture() -> Any:
    """A fixture running a test on local memory and on the test bed's Redis."""

    @pytest.fixture(params=["locmem", "redis"])
    def two_backends(request: pytest.FixtureRequest) -> Iterator[str]:
        if request.param == "redis":
            url = request.getfixturevalue("redis_url")
            with override_settings(CACHES={"default": redis_cache_settings(url)}):
                reset_state()
                yield "redis"
            caches["default"].close()
        else:
            reset_state()
            yield "locmem"

    return two_backends


def settings_with(**cache_settings: Any) -> override_settings:
    return override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": cache_settings})
