"""The backend matrix: every cache backend docs/caching.md names, on the test bed's real
servers, as one ``CACHES["default"]`` entry per name (docs/caching.md, Scaling out).

``matrix_cache`` is a context manager that points ``default`` at one of them, emptied
first, with the servers it needs started by the test bed's fixtures.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.core.cache import caches
from django.test import override_settings

from restflow_testbed.django_redis_cluster import cluster_cache_settings
from restflow_testbed.memcached_server import memcached_cache_settings

#: Every backend of the matrix, in the order of the docs' table.
MATRIX_BACKENDS = [
    "locmem",
    "redis",
    "django_redis",
    "valkey",
    "django_redis_cluster",
    "valkey_cluster",
    "memcached_pool",
]
#: Those on a Redis Cluster (3 masters + 3 replicas) and the memcached pool of two.
SCALE_OUT_BACKENDS = ["django_redis_cluster", "valkey_cluster", "memcached_pool"]


def matrix_cache_settings(name: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    """The ``CACHES`` entry of backend ``name`` on the servers the test bed started."""
    if name == "locmem":
        return {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"matrix-{uuid.uuid4().hex}",
        }
    if name in ("redis", "django_redis", "valkey"):
        url = request.getfixturevalue("redis_url")
        if name == "redis":
            return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
        if name == "django_redis":
            return {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": url}
        return {
            "BACKEND": "django_valkey.cache.ValkeyCache",
            "LOCATION": url.replace("redis://", "valkey://", 1),
        }
    if name in ("django_redis_cluster", "valkey_cluster"):
        cluster = request.getfixturevalue("redis_cluster_clean")
        return cluster_cache_settings(cluster.url, name)
    if name == "memcached_pool":
        servers = request.getfixturevalue("memcached_servers")
        for server in servers:
            server.resume()  # a previous test may have frozen one
        return memcached_cache_settings([s.location for s in servers])
    raise ValueError(f"unknown matrix backend {name!r}")


@contextmanager
def matrix_cache(name: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """``default`` on backend ``name``, emptied before and after; yields the cache."""
    conf = matrix_cache_settings(name, request)
    with override_settings(CACHES={"default": conf}):
        cache = caches["default"]
        cache.clear()
        try:
            yield cache
        finally:
            cache.clear()
            cache.close()
    if name == "django_redis_cluster":
        from django_redis.pool import ConnectionFactory

        ConnectionFactory._pools.clear()  # its pools point at the cluster: not reused
