"""Invalidation cost does not depend on the number of entries (requirement R1)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import redis
from backend_calls import count_calls
from django.core.cache import caches
from django.test import override_settings
from restflow_testbed.plugin import redis_cache_settings

from restflow.caching import CACHE_MISSING, ArgsKeyField, KeyConstructor, cache_result, envelope, tokens


class FeedKey(KeyConstructor):
    tenant = ArgsKeyField("tenant", partition=True)
    item = ArgsKeyField("item")

    class Meta:
        namespace = "feed"


@cache_result(FeedKey, ttl=600)
def feed(tenant: int, item: int) -> str:
    return f"{tenant}:{item}"


def fill(tenant: int, count: int) -> None:
    """Write ``count`` valid entries of ``tenant`` quickly, with the wrapper's own storage
    helpers (one real call creates the shared scopes; the rest are batched writes)."""
    cache = caches["default"]
    feed(tenant, 0)
    base = cache.get_many(feed._plan((tenant, 0), {}).scopes[:-1], version=1)
    client = redis.Redis.from_url(cache._servers[0])  # type: ignore[attr-defined]
    dumps = cache._cache._serializer.dumps  # type: ignore[attr-defined]
    now = time.time()
    life = tokens.scope_life(600)
    make_key = cache.make_key
    batch: dict[str, bytes] = {}
    for item in range(1, count):
        plan = feed._build_plan((tenant, item), {})
        key_token = tokens.new_token(life, now)
        stamp = (*(base[s] for s in plan.scopes[:-1]), key_token)
        entry = envelope.make_envelope(f"{tenant}:{item}", stamp, 600, now)
        batch[make_key(plan.key, version=1)] = dumps(entry)
        batch[make_key(plan.scopes[-1], version=1)] = dumps(key_token)
        if len(batch) >= 20_000:
            client.mset(batch)  # no TTL: the test database is flushed before each test
            batch.clear()
    if batch:
        client.mset(batch)
    client.close()


def redis_commands(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return sum(
        int(v["calls"]) for k, v in stats.items() if k not in ("cmdstat_info", "cmdstat_config")
    )


@pytest.mark.redis
@pytest.mark.slow
def test_delete_by_prefix_costs_the_same_for_10_and_100000_entries(
    private_redis: Callable[[], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A server of its own: Redis counts commands server-wide, and a background job of an
    # earlier test (a thread pool dispatcher, a worker) must not show up in the counts.
    url = private_redis().db_url(0)
    with override_settings(CACHES={"default": redis_cache_settings(url)}):
        _measure_delete_by_prefix(url, monkeypatch)


def _measure_delete_by_prefix(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    client = redis.Redis.from_url(url)
    fill(1, 10)
    fill(2, 100_000)
    assert client.dbsize() > 200_000
    assert feed.get_cache_only(2, 99_999) == "2:99999"  # the bulk entries are valid hits
    assert feed.get_cache_only(1, 9) == "1:9"

    counts = count_calls(monkeypatch)
    measured = {}
    for tenant in (1, 2):
        client.config_resetstat()
        before = redis_commands(client)
        feed.delete_by_prefix(tenant=tenant)
        measured[tenant] = redis_commands(client) - before
    assert measured[1] == measured[2]
    assert measured[1] <= 4  # one pipelined write (MULTI, MSET, EXPIRE, EXEC)
    assert dict(counts) == {"set_many": 2}
    assert feed.get_cache_only(2, 99_999) is CACHE_MISSING
    assert feed.get_cache_only(2, 12_345) is CACHE_MISSING
    assert feed.get_cache_only(1, 9) is CACHE_MISSING
    client.close()
