"""Fixtures shared by the dispatcher packages' tests (registered by the test bed plugin).

``broker_redis``
    The package's private Redis server for the session: the broker (or queues) on
    ``BROKER_DB``, the cache shared by the test process and the workers on ``CACHE_DB``.
``session_queue``
    A queue name of the session's own, which the package's worker consumes.
``clean_dispatch_state``
    Autouse: each test starts with restflow's log throttle reset and leaves the
    dispatcher registry's explicit registrations and the registered worker entries as
    it found them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from restflow.dispatch import registry, worker
from restflow.log import reset_log_throttle
from restflow_testbed.redis_server import RedisServer

__all__ = ["BROKER_DB", "CACHE_DB", "broker_redis", "clean_dispatch_state", "session_queue"]

BROKER_DB = 0
CACHE_DB = 2


@pytest.fixture(scope="session")
def broker_redis() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="session")
def session_queue() -> str:
    return f"restflow-tests-{uuid.uuid4().hex[:12]}"


@pytest.fixture(autouse=True)
def clean_dispatch_state() -> Iterator[None]:
    explicit = dict(registry._explicit)
    entries = dict(worker._entries)
    reset_log_throttle()
    yield
    worker._entries.clear()
    worker._entries.update(entries)
    if registry._explicit != explicit:
        for name in set(registry._explicit) - set(explicit):
            registry.unregister_dispatcher(name)
        for cls in explicit.values():
            registry.register_dispatcher(cls)
