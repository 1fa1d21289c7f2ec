"""A django-redis ``CONNECTION_FACTORY`` whose clients are ``redis.cluster.RedisCluster``
(django-redis 5/6 have no cluster client of their own; teams plug one in like this)."""

from __future__ import annotations

from typing import Any

import redis.cluster
from django_redis.pool import ConnectionFactory


class ClusterConnectionFactory(ConnectionFactory):
    def connect(self, url: str) -> Any:
        return redis.cluster.RedisCluster.from_url(url)

    def disconnect(self, connection: Any) -> None:
        connection.close()


def cluster_cache_settings(url: str, backend: str) -> dict[str, Any]:
    """A ``CACHES`` entry for ``backend`` on the Redis Cluster of ``url`` (one node)."""
    if backend == "django_redis_cluster":
        return {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "OPTIONS": {
                "CONNECTION_FACTORY": "restflow_testbed.django_redis_cluster.ClusterConnectionFactory"
            },
        }
    if backend == "valkey_cluster":
        return {
            "BACKEND": "django_valkey.cluster_cache.cache.ClusterValkeyCache",
            "LOCATION": url.replace("redis://", "valkey://", 1),
        }
    if backend == "django_on_node":
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    raise ValueError(f"unknown cluster backend {backend!r}")
