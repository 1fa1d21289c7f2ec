"""Scale-out rows: an ``@cache_result`` hit vs a plain ``cache.get`` on the same Redis
Cluster (django-redis + ``RedisCluster``, django-valkey's ``ClusterValkeyCache``) and the
same two-server memcached pool (issue 14 targets: 1.3x and 1.5x)."""

from __future__ import annotations

import os
from typing import Any

from bench_cache import cached_item
from bench_harness import Contender, compare, each, make_record
from django.core.cache import caches
from django.test import override_settings
from restflow_testbed.django_redis_cluster import cluster_cache_settings
from restflow_testbed.memcached_server import memcached_cache_settings

OPTIONS: dict[str, Any] = {"rounds": 15, "min_block": 0.04}
TARGET = {"django_redis_cluster": 1.3, "valkey_cluster": 1.3, "memcached_pool": 1.5}


def _config(backend: str) -> dict[str, Any]:
    if backend == "memcached_pool":
        return memcached_cache_settings(os.environ["RESTFLOW_BENCH_MEMCACHED"].split(","))
    return cluster_cache_settings(os.environ["RESTFLOW_BENCH_CLUSTER_URL"], backend)


def bench_hit(backend: str) -> dict[str, Any]:
    with override_settings(CACHES={"default": _config(backend)}):
        cache = caches["default"]
        cached_item(7)
        key = cached_item.get_cache_key(7)
        version = cached_item.get_key_version()
        assert cache.get(key, version=version) is not None
        result = compare(
            [
                Contender("restflow", each(lambda: cached_item(7))),
                Contender("raw_get", each(lambda: cache.get(key, version=version))),
            ],
            **OPTIONS,
        )
    return make_record(
        f"scaleout.hit.{backend}",
        f"@cache_result hit ({backend})",
        backend,
        result,
        ratios=[("restflow", "raw_get")],
        targets=[("restflow", "raw_get", TARGET[backend])],
        notes="the entry and its scopes live in several slots / on both servers",
    )


def run() -> list[dict[str, Any]]:
    return [bench_hit(backend) for backend in TARGET]
