"""``delete_previous_versions``: older versions read as misses, and with ``purge=True``
physical deletion where keys can be listed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis
from django.core.cache import caches
from django.test import override_settings
from restflow_testbed.plugin import redis_cache_settings

from restflow.caching import CACHE_MISSING, ArgsKeyField, KeyConstructor, cache_result


def versioned(level: int) -> tuple[type[KeyConstructor], Any]:
    class Catalog(KeyConstructor):
        item = ArgsKeyField("item")

        class Meta:
            namespace = "purge-me"
            version = level

    @cache_result(Catalog)
    def item(item: int) -> str:
        return f"v{level}:{item}"

    return Catalog, item


def test_only_the_current_version_survives() -> None:
    versions = [versioned(level) for level in (1, 2, 3)]
    for _, item in versions:
        item(1)
    current_cls, _ = versions[-1]
    current_cls.delete_previous_versions()
    assert [item.get_cache_only(1) for _, item in versions] == [CACHE_MISSING, CACHE_MISSING, "v3:1"]


def test_first_version_needs_nothing_and_a_later_one_needs_a_namespace() -> None:
    class NoNamespace(KeyConstructor):
        class Meta:
            version = 2

    class First(KeyConstructor):
        pass

    First.delete_previous_versions()  # version 1: nothing to do
    asyncio.run(First.adelete_previous_versions())
    with pytest.raises(ValueError, match="namespace"):
        NoNamespace.delete_previous_versions()
    with pytest.raises(ValueError, match="namespace"):
        asyncio.run(NoNamespace.adelete_previous_versions())


@pytest.mark.redis
@pytest.mark.parametrize("flavour", ["django", "django_redis"])
@pytest.mark.parametrize("run_async", [False, True])
def test_purge_deletes_old_entries_only(redis_url: str, flavour: str, run_async: bool) -> None:
    with override_settings(CACHES={"default": redis_cache_settings(redis_url, flavour)}):
        client = redis.Redis.from_url(redis_url)
        cache = caches["default"]
        _, v1 = versioned(1)
        current, v2 = versioned(2)
        for n in range(5):
            v1(n)
            v2(n)
        old_keys = [cache.make_key(v1.get_cache_key(n), version=1) for n in range(5)]
        assert all(client.exists(k) for k in old_keys)
        if run_async:
            asyncio.run(current.adelete_previous_versions(purge=True))
        else:
            current.delete_previous_versions(purge=True)
        assert not any(client.exists(k) for k in old_keys)
        assert v1.get_cache_only(0) is CACHE_MISSING
        assert v2.get_cache_only(0) == "v2:0"
        client.close()


def test_purge_is_logical_only_on_local_memory() -> None:
    _, v1 = versioned(1)
    current, v2 = versioned(2)
    v1(1)
    v2(1)
    current.delete_previous_versions(purge=True)
    assert v1.get_cache_only(1) is CACHE_MISSING
    assert v2.get_cache_only(1) == "v2:1"
