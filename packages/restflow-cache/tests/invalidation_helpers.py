"""Helpers shared by the invalidation tests (plain functions and the module mark)."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from django.core.cache import caches
from django.test import override_settings
from invalidation_testapp.cached import CALLS

from restflow.dispatch.base import Dispatcher
from restflow.log import reset_log_throttle


def reset_state() -> None:
    for cache in caches.all(initialized_only=True):
        cache.clear()
    CALLS.clear()
    reset_log_throttle()


ON_TWO_BACKENDS = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("two_backends")]
"""``pytestmark`` of a module whose tests make real commits, each on local memory and on
the test bed's Redis (the ``two_backends`` fixture of conftest.py)."""


class BrokenDispatcher(Dispatcher):
    """A dispatcher whose public dispatch() itself fails (no base-class fallback); it
    records the rule ids it was handed."""

    name = "test-broken"
    handed: ClassVar[list[list[str]]] = []

    def dispatch(self, *, rule_ids, rule_kwargs, **context):
        type(self).handed.append(list(rule_ids))
        raise ConnectionError("broker unreachable")

    def _dispatch(self, *, rule_ids, rule_kwargs, **context):  # pragma: no cover
        raise AssertionError("not reached")


def settings_with(**cache_settings: Any) -> override_settings:
    return override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": cache_settings})
