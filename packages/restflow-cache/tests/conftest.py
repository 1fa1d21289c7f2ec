"""Shared fixtures of restflow-cache's tests."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.test import override_settings
from restflow_testbed.plugin import redis_cache_settings

from restflow.log import reset_log_throttle

if TYPE_CHECKING:
    from restflow_testbed.memcached_server import MemcachedServer
    from restflow_testbed.redis_cluster import RedisCluster

BACKENDS = ["locmem", "db", "file", "redis", "django_redis"]
LOCMEM = "django.core.cache.backends.locmem.LocMemCache"


@pytest.fixture(autouse=True)
def _fresh_default_cache() -> Iterator[None]:
    caches["default"].clear()
    reset_log_throttle()
    yield
    caches["default"].clear()


def cache_settings(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    options = {"MAX_ENTRIES": 100_000}
    if name == "locmem":
        return {"BACKEND": LOCMEM, "LOCATION": f"rf-{uuid.uuid4().hex}", "OPTIONS": options}
    if name == "db":
        request.getfixturevalue("transactional_db")
        return {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "restflow_test_cache",
            "OPTIONS": options,
        }
    if name == "file":
        return {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
            "OPTIONS": options,
        }
    url = request.getfixturevalue("redis_url")
    return redis_cache_settings(url, backend="django" if name == "redis" else "django_redis")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Point the ``default`` cache at each real Django backend in turn."""
    conf = cache_settings(request.param, request, tmp_path)
    with override_settings(CACHES={"default": conf}):
        if request.param == "db":
            call_command("createcachetable", verbosity=0)
        caches["default"].clear()
        yield request.param
        caches["default"].clear()


@pytest.fixture
def redis_default(redis_url: str) -> Iterator[str]:
    """``default`` cache on Django's RedisCache (the private test Redis)."""
    with override_settings(CACHES={"default": redis_cache_settings(redis_url)}):
        yield redis_url


@pytest.fixture
def outbox_logs(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> Iterator[pytest.LogCaptureFixture]:
    """The storage log (held and replayed invalidations), with no pause between two
    replay attempts."""
    from restflow.caching import outbox

    monkeypatch.setattr(outbox, "REPLAY_INTERVAL", 0.0)
    with caplog.at_level(logging.WARNING, logger="restflow.caching.storage"):
        yield caplog


@pytest.fixture
def fresh_django_redis_pools() -> Iterator[None]:
    """django-redis keeps one connection pool per URL for the whole process: pools a test
    configures (another class, a retry policy) or points at a server it stops must not
    serve later tests."""
    yield
    from django_redis.pool import ConnectionFactory

    ConnectionFactory._pools.clear()


@pytest.fixture
def fresh_calls() -> Iterator[None]:
    """Empty ``cache_testapp.views.CALLS`` around a test of the test app's views."""
    from cache_testapp.views import CALLS

    CALLS.clear()
    yield
    CALLS.clear()


@pytest.fixture(params=["locmem", "redis"])
def two_backends(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run a test on local memory and on the test bed's Redis, caches and calls emptied
    (modules opt in with ``invalidation_helpers.ON_TWO_BACKENDS``)."""
    from invalidation_helpers import reset_state

    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        with override_settings(CACHES={"default": redis_cache_settings(url)}):
            reset_state()
            yield "redis"
        caches["default"].close()
    else:
        reset_state()
        yield "locmem"


@pytest.fixture(params=["django_redis_cluster", "valkey_cluster"])
def cluster_backend(
    request: pytest.FixtureRequest, redis_cluster_clean: RedisCluster, fresh_django_redis_pools: None
) -> Iterator[str]:
    """``default`` on each cluster client (django-redis's, django-valkey's) of the test
    bed's Redis Cluster, emptied."""
    from restflow_testbed.django_redis_cluster import cluster_cache_settings

    with override_settings(
        CACHES={"default": cluster_cache_settings(redis_cluster_clean.url, request.param)}
    ):
        yield request.param


@pytest.fixture
def memcached_pool(memcached_servers: list[MemcachedServer]) -> Iterator[list[MemcachedServer]]:
    """``default`` on the test bed's pool of two memcached servers, flushed; every server
    running and answering (before and after the test)."""
    from restflow_testbed.memcached_server import memcached_cache_settings

    for server in memcached_servers:
        server.resume()
    with override_settings(
        CACHES={"default": memcached_cache_settings([s.location for s in memcached_servers])}
    ):
        caches["default"].clear()
        yield memcached_servers
        for server in memcached_servers:
            server.resume()
