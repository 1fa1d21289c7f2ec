"""Fixtures shared by the dispatcher packages' conftests (import them by name there).

``broker_redis``
    The package's private Redis server for the session: the broker (or queues) on
    ``BROKER_DB``, the cache shared by the test process and the workers on ``CACHE_DB``.
``clean_dispatch_state``
    Autouse: each test starts with restflow's log throttle reset and leaves the
    dispatcher registry's explicit registrations as it found them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from restflow.dispatch import registry
from restflow.log import reset_log_throttle
from restflow_testbed.redis_server import RedisServer

__all__ = ["BROKER_DB", "CACHE_DB", "broker_redis", "clean_dispatch_state"]

BROKER_DB = 0
CACHE_DB = 2


@pytest.fixture(scope="session")
def broker_redis() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture(autouse=True)
def clean_dispatch_state() -> Iterator[None]:
    explicit = dict(registry._explicit)
    reset_log_throttle()
    yield
    registry._explicit.clear()
    registry._explicit.update(explicit)
