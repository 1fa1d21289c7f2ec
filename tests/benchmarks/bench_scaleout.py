"""Scale-out rows: an ``@cache_result`` hit vs a plain ``cache.get`` on the same Redis
Cluster (django-redis + ``RedisCluster``, django-valkey's ``ClusterValkeyCache``) and the
same two-server memcached pool (issue 14 targets: 1.3x and 1.5x), in the default layout
and with ``CLUSTER_HASH_TAGS``; and an invalidation (a partition, a whole function) vs a
plain ``cache.set``. Each row carries the Redis commands and round trips per operation."""

from __future__ import annotations

import os
from typing import Any

from bench_cache import cached_item
from bench_harness import Contender, compare, each, make_record
from django.core.cache import caches
from django.test import override_settings
from restflow_testbed.django_redis_cluster import cluster_cache_settings
from restflow_testbed.memcached_server import memcached_cache_settings

from restflow.caching import ArgsKeyField, cache_result

OPTIONS: dict[str, Any] = {"rounds": 15, "min_block": 0.04}
TARGET = {"django_redis_cluster": 1.3, "valkey_cluster": 1.3, "memcached_pool": 1.5}
HASH_TAGS = 12  # 3 masters x 4


@cache_result(
    key_constructor={
        "fields": {"tenant": ArgsKeyField("tenant", partition=True), "item": ArgsKeyField("item")}
    },
    ttl=3600,
)
def tenant_item(tenant: int, item: int) -> dict[str, Any]:
    return {"tenant": tenant, "item": item}


def _config(backend: str) -> dict[str, Any]:
    if backend == "memcached_pool":
        return memcached_cache_settings(os.environ["RESTFLOW_BENCH_MEMCACHED"].split(","))
    return cluster_cache_settings(os.environ["RESTFLOW_BENCH_CLUSTER_URL"], backend)


def _layout(tags: int) -> Any:
    return override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": {"CLUSTER_HASH_TAGS": tags}})


def _suffix(tags: int) -> str:
    return ".hash_tags" if tags else ""


def bench_hit(backend: str, tags: int = 0) -> dict[str, Any]:
    with override_settings(CACHES={"default": _config(backend)}), _layout(tags):
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
    layout = f"CLUSTER_HASH_TAGS={tags}" if tags else "default layout"
    return make_record(
        f"scaleout.hit.{backend}{_suffix(tags)}",
        f"@cache_result hit ({backend}, {layout})",
        backend,
        result,
        ratios=[("restflow", "raw_get")],
        targets=[("restflow", "raw_get", TARGET[backend])],
        notes=(
            "the entry and its scopes share one slot / one server: one request"
            if tags
            else "the entry and its scopes live in several slots / on both servers"
        ),
    )


def bench_invalidation(backend: str, tags: int = 0) -> dict[str, Any]:
    """One partition bump and one whole-function bump (``N`` copies with hash tags) vs
    one plain ``cache.set``."""
    with override_settings(CACHES={"default": _config(backend)}), _layout(tags):
        cache = caches["default"]
        tenant_item(7, 1)
        result = compare(
            [
                Contender("partition", each(lambda: tenant_item.delete_by_prefix(tenant=7))),
                Contender("function", each(tenant_item.invalidate_all)),
                Contender("raw_set", each(lambda: cache.set("restflow:bench:x", 1, 60))),
            ],
            **OPTIONS,
        )
    return make_record(
        f"scaleout.invalidation.{backend}{_suffix(tags)}",
        f"invalidation: one partition, one function ({backend}, "
        f"{f'CLUSTER_HASH_TAGS={tags}' if tags else 'default layout'})",
        backend,
        result,
        ratios=[("partition", "raw_set"), ("function", "raw_set")],
        notes="a function bump writes one key per hash-tag shard" if tags else "",
    )


def run() -> list[dict[str, Any]]:
    records = [bench_hit(backend) for backend in TARGET]
    records += [bench_hit(backend, HASH_TAGS) for backend in TARGET]
    records += [bench_invalidation(backend) for backend in TARGET]
    records += [bench_invalidation(backend, HASH_TAGS) for backend in TARGET]
    return records
