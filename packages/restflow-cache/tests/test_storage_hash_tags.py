"""The opt-in hash-tag layout (``CACHE_SETTINGS.CLUSTER_HASH_TAGS``) on a real Redis
Cluster and a real memcached pool: an entry and every scope it reads share one slot (one
server), a hit is one MGET (one ``get_many`` request) on one node, and shared scopes are
bumped in every shard (docs/caching.md, Key layout)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pymemcache.client.base
import pytest
import redis
import redis.cluster
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from restflow_testbed.memcached_server import MemcachedServer
from restflow_testbed.redis_cluster import RedisCluster
from test_storage_backends import TenantKey, make_items
from test_storage_cluster import make_aitems

from restflow.caching import ArgsKeyField, _hash_tags, cache_result, scopes

TAGS = 6


def tagged(n: int = TAGS) -> Any:
    return override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": {"CLUSTER_HASH_TAGS": n}})


# -- the layout, on its own -------------------------------------------------------------
def test_a_plan_and_its_partition_target_share_one_tag() -> None:
    with tagged():
        items = make_items(Counter())
        plan = items._build_plan((7, 1), {})
        tag = _hash_tags.tag_of(plan.key)
        assert tag.startswith("{rf.")
        assert tag.endswith("}")
        assert items.get_cache_key(7, 1) == plan.key
        assert all(name.startswith(tag) for name in plan.scopes)
        target = items.invalidation_target((), {"tenant": 7})[2]
        assert target in plan.scopes  # the partition scope the entry reads
        whole = items.invalidation_target(None, None)[2]
        copies = _hash_tags.expand(whole)
        assert len(set(copies)) == len(copies) == TAGS
        assert plan.scopes[1] in copies  # the function scope of the entry's shard


def test_entries_of_one_family_spread_over_the_shards() -> None:
    with tagged():
        items = make_items(Counter())
        tags = {_hash_tags.tag_of(items.get_cache_key(tenant, 0)) for tenant in range(60)}
        families = {tag.split(".")[1] for tag in tags}
    assert len(tags) == TAGS
    assert len(families) == 1


def test_off_by_default_keys_are_unchanged() -> None:
    items = make_items(Counter())
    assert not items.get_cache_key(7, 1).startswith("{")
    assert _hash_tags.expand("restflow:gen:fn:x") == ["restflow:gen:fn:x"]


@pytest.mark.parametrize("value", ["4", -1, 2.0, True])
def test_a_bad_setting_names_itself(value: Any) -> None:
    with tagged(value), pytest.raises(ImproperlyConfigured, match="CLUSTER_HASH_TAGS"):
        make_items(Counter()).get_cache_key(1, 1)


# -- on the cluster ---------------------------------------------------------------------
@pytest.fixture
def tagged_cluster(cluster_backend: str, redis_cluster_clean: RedisCluster) -> Iterator[RedisCluster]:
    """``default`` on each cluster client, with the layout on."""
    with tagged():
        yield redis_cluster_clean


def _mget_calls(cluster: RedisCluster) -> int:
    total = 0
    for node in cluster.nodes:
        client = redis.Redis(port=node.port)
        stats = client.info("commandstats").get("cmdstat_mget", {})
        total += int(stats.get("calls", 0))
        client.close()
    return total


def test_a_hit_is_one_mget_on_one_node(tagged_cluster: RedisCluster) -> None:
    calls: Counter[str] = Counter()
    items = make_items(calls)
    assert items(3, 3) == "3/3#1"
    before = _mget_calls(tagged_cluster)
    assert items(3, 3) == "3/3#1"
    assert _mget_calls(tagged_cluster) - before == 1
    client = redis.cluster.RedisCluster.from_url(tagged_cluster.url)
    keys = client.keys(target_nodes=redis.cluster.RedisCluster.ALL_NODES)
    slots = {client.keyslot(key) for key in keys}
    client.close()
    assert len(keys) >= 5  # entry, ns, fn, partition and key scopes
    assert len(slots) == 1


def test_invalidation_at_every_level(tagged_cluster: RedisCluster) -> None:
    calls: Counter[str] = Counter()
    items = make_items(calls)
    seen = [items(t, 1) for t in range(8)]
    assert seen == [f"{t}/1#1" for t in range(8)]
    items.delete_by_prefix(tenant=2)
    assert [items(t, 1) for t in range(4)] == ["0/1#1", "1/1#1", "2/1#2", "3/1#1"]
    items.delete_cache(3, 1)
    assert items(3, 1) == "3/1#2"
    items.invalidate_all()  # the function scope of every shard
    assert [items(t, 1) for t in range(8)] == [f"{t}/1#{calls[f'{t}/1']}" for t in range(8)]
    assert all(calls[f"{t}/1"] >= 2 for t in range(8))


def test_a_namespace_wipe_reaches_every_function_in_every_shard(
    tagged_cluster: RedisCluster,
) -> None:
    calls: Counter[str] = Counter()
    items = make_items(calls)

    @cache_result(TenantKey, ttl=300)
    def other(tenant: Any, item: int = 0) -> str:
        calls[f"other{tenant}"] += 1
        return f"other{tenant}#{calls[f'other{tenant}']}"

    assert [items(t, 0) for t in range(6)] == [f"{t}/0#1" for t in range(6)]
    assert other(1) == "other1#1"
    other.invalidate_all()  # one function: the other keeps its entries
    assert other(1) == "other1#2"
    assert items(1, 0) == "1/0#1"
    TenantKey.wipe()
    assert [items(t, 0) for t in range(6)] == [f"{t}/0#2" for t in range(6)]
    assert other(1) == "other1#3"


def test_shared_scope_copies_are_written_with_their_expiry(tagged_cluster: RedisCluster) -> None:
    items = make_items(Counter())
    target = items.invalidation_target(None, None)
    scopes.bump_targets([target])
    cache = caches["default"]
    client = redis.cluster.RedisCluster.from_url(tagged_cluster.url)
    made = [cache.make_key(name, version=1) for name in _hash_tags.expand(target[2])]
    ttls = [client.pttl(key) for key in made]
    slots = {client.keyslot(key) for key in made}
    client.close()
    assert len(made) == TAGS
    assert all(0 < ttl <= target[3] * 1000 for ttl in ttls), ttls
    assert len(slots) == TAGS


# -- on a memcached pool ------------------------------------------------------------------
@pytest.fixture
def tagged_pool(memcached_pool: list[MemcachedServer]) -> Iterator[list[MemcachedServer]]:
    """``default`` on the pool of two, flushed, with the layout on."""
    with tagged():
        yield memcached_pool


def _gets(servers: list[MemcachedServer]) -> list[int]:
    counts = []
    for server in servers:
        host, port = server.location.rsplit(":", 1)
        client = pymemcache.client.base.Client((host, int(port)))
        counts.append(int(client.stats()[b"cmd_get"]))
        client.close()
    return counts


def test_a_pool_hit_asks_one_server_holding_the_entry_and_its_scopes(
    tagged_pool: list[MemcachedServer],
) -> None:
    items = make_items(Counter())
    plan = items._build_plan((4, 1), {})
    assert items(4, 1) == "4/1#1"
    before = _gets(tagged_pool)
    assert items(4, 1) == "4/1#1"
    asked = [after - was for after, was in zip(_gets(tagged_pool), before, strict=True)]
    assert sorted(asked) == [0, len(plan.keys)]  # one server: the entry and every scope
    cache = caches["default"]
    holder = tagged_pool[asked.index(len(plan.keys))]
    host, port = holder.location.rsplit(":", 1)
    client = pymemcache.client.base.Client((host, int(port)))
    held = client.get_many([cache.make_key(key, version=1) for key in plan.keys])
    client.close()
    assert len(held) == len(plan.keys)


def test_pool_invalidation_at_every_level(tagged_pool: list[MemcachedServer]) -> None:
    calls: Counter[str] = Counter()
    items = make_items(calls)
    assert [items(t, 1) for t in range(8)] == [f"{t}/1#1" for t in range(8)]
    items.delete_by_prefix(tenant=2)
    assert [items(t, 1) for t in range(4)] == ["0/1#1", "1/1#1", "2/1#2", "3/1#1"]
    items.delete_cache(3, 1)
    assert items(3, 1) == "3/1#2"
    items.invalidate_all()
    assert all(items(t, 1).endswith(f"#{calls[f'{t}/1']}") for t in range(8))
    assert all(calls[f"{t}/1"] >= 2 for t in range(8))
    TenantKey.wipe()
    before = sum(calls.values())
    [items(t, 1) for t in range(8)]
    assert sum(calls.values()) == before + 8


def test_pool_async_hit_and_invalidation(tagged_pool: list[MemcachedServer]) -> None:
    aitems = make_aitems(Counter())

    async def scenario() -> list[str]:
        seen = [await aitems(5, 1), await aitems(5, 1)]
        await aitems.adelete_by_prefix(tenant=5)
        seen.append(await aitems(5, 1))
        await aitems.adelete_cache(5, 1)
        return [*seen, await aitems(5, 1), await aitems(5, 1)]

    assert asyncio.run(scenario()) == ["5/1#1", "5/1#1", "5/1#2", "5/1#3", "5/1#3"]


def test_pool_bump_of_several_families_reaches_each_tags_server(
    tagged_pool: list[MemcachedServer],
) -> None:
    """One bump naming scopes of two namespaces (a save with two rules): each scope is
    written on its own tag's server, where the entries read it."""
    calls: Counter[str] = Counter()
    items = make_items(calls)

    @cache_result(key_constructor={"fields": {"tenant": ArgsKeyField("tenant", partition=True)}})
    def other(tenant: int) -> str:
        calls[f"other{tenant}"] += 1
        return f"other{tenant}#{calls[f'other{tenant}']}"

    for tenant in range(6):
        items(tenant, 1)
        other(tenant)
    scopes.bump_targets(
        [target for t in range(6) for target in (
            items.invalidation_target((), {"tenant": t}),
            other.invalidation_target((), {"tenant": t}),
        )]
    )
    assert [items(t, 1) for t in range(6)] == [f"{t}/1#2" for t in range(6)]
    assert [other(t) for t in range(6)] == [f"other{t}#2" for t in range(6)]
