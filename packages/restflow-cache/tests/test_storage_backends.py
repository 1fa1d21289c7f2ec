"""The storage model (docs/caching.md, Storage model and guarantees) on every real Django cache backend.

Parametrized over local memory, the database cache, the file cache, Django's RedisCache
and django-redis on the private test Redis. (memcached is not tested: no server and no
client library on the test machine; the keys are checked memcached-safe elsewhere.)
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from backend_calls import count_calls
from django.conf import settings
from django.core.cache import caches
from django.test import override_settings
from restflow_testbed.plugin import redis_cache_settings
from restflow_testbed.redis_server import RedisServer

from restflow.caching import (
    CACHE_MISSING,
    ArgsKeyField,
    ConstantKeyField,
    KeyConstructor,
    backends,
    cache_result,
    scopes,
    tokens,
)


class TenantKey(KeyConstructor):
    tenant = ArgsKeyField("tenant", partition=True)
    item = ArgsKeyField("item")

    class Meta:
        namespace = "shop"


def make_items(calls: Counter[str]) -> Any:
    @cache_result(TenantKey, ttl=300)
    def items(tenant: Any, item: int = 0) -> str:
        calls[f"{tenant}/{item}"] += 1
        return f"{tenant}/{item}#{calls[f'{tenant}/{item}']}"

    return items


@pytest.mark.redis
class TestEveryBackend:
    def test_hit_is_one_get_many(self, backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
        calls: Counter[str] = Counter()
        items = make_items(calls)
        assert items(1, 1) == "1/1#1"
        counts = count_calls(monkeypatch)
        assert items(1, 1) == "1/1#1"
        assert dict(counts) == {"get_many": 1}

    def test_partition_isolation(self, backend: str) -> None:
        calls: Counter[str] = Counter()
        items = make_items(calls)
        for tenant in (4, 42, "4*", "4"):
            items(tenant, 1)
        items.delete_by_prefix(tenant=4)
        assert items.get_cache_only(4, 1) is CACHE_MISSING
        assert items.get_cache_only("4", 1) is CACHE_MISSING  # 4 and "4" share by policy
        assert items.get_cache_only(42, 1) == "42/1#1"
        assert items.get_cache_only("4*", 1) == "4*/1#1"

    def test_operations(self, backend: str) -> None:
        calls: Counter[str] = Counter()
        items = make_items(calls)
        items(1, 1)
        items(1, 2)
        items(2, 1)
        items.delete_cache(1, 1)
        assert items.get_cache_only(1, 1) is CACHE_MISSING
        assert items.get_cache_only(1, 2) == "1/2#1"
        items.invalidate_all()
        assert items.get_cache_only(2, 1) is CACHE_MISSING
        assert items(2, 1) == "2/1#2"
        TenantKey.wipe(tenant=2)
        assert items.get_cache_only(2, 1) is CACHE_MISSING

    def test_invalidation_cost_is_one_write(
        self, backend: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        calls: Counter[str] = Counter()
        items = make_items(calls)
        for n in range(20):
            items(1, n)
        counts = count_calls(monkeypatch)
        items.delete_by_prefix(tenant=1)
        items.invalidate_all()
        TenantKey.wipe()
        assert dict(counts) == {"set_many": 3}

    def test_evicted_scope_never_revives(self, backend: str) -> None:
        calls: Counter[str] = Counter()
        items = make_items(calls)
        items(1, 1)
        plan = items._plan((1, 1), {})
        items.delete_by_prefix(tenant=1)
        # the backend loses every scope key (eviction, flush of metadata, culling)
        caches["default"].delete_many(plan.scopes, version=plan.version)
        assert items.get_cache_only(1, 1) is CACHE_MISSING
        assert items(1, 1) == "1/1#2"
        assert items(1, 1) == "1/1#2"

    def test_stale_set_interleaving(self, backend: str) -> None:
        """A computation that started before an invalidation is never served after it."""
        started, release = threading.Event(), threading.Event()
        source = {"value": "old"}

        @cache_result(TenantKey, ttl=300)
        def read(tenant: int, item: int = 0) -> str:
            value = source["value"]
            started.set()
            assert release.wait(10)
            return value

        results: list[str] = []
        worker = threading.Thread(target=lambda: results.append(read(1)))
        worker.start()
        assert started.wait(10)
        source["value"] = "new"
        read.delete_by_prefix(tenant=1)  # invalidation completes while "old" is computing
        release.set()
        worker.join(10)
        assert results == ["old"]
        assert read.get_cache_only(1) is CACHE_MISSING
        started.clear()
        assert read(1) == "new"

    def test_stale_set_interleaving_delete_cache(self, backend: str) -> None:
        started, release = threading.Event(), threading.Event()
        source = {"value": "old"}

        @cache_result(ttl=300)
        def read(x: int) -> str:
            value = source["value"]
            started.set()
            assert release.wait(10)
            return value

        worker = threading.Thread(target=read, args=(1,))
        worker.start()
        assert started.wait(10)
        source["value"] = "new"
        read.delete_cache(1)
        release.set()
        worker.join(10)
        assert read.get_cache_only(1) is CACHE_MISSING

    def test_expired_entries_and_scopes_are_misses(self, backend: str) -> None:
        calls: Counter[str] = Counter()
        items = make_items(calls)
        items(1, 1)
        items(1, 2)
        cache = caches["default"]
        plan = items._plan((1, 1), {})
        cache.touch(plan.key, -1, version=plan.version)  # the entry's TTL ran out
        assert items.get_cache_only(1, 1) is CACHE_MISSING
        assert items(1, 1) == "1/1#2"
        shared = items._plan((1, 2), {}).scopes[1]  # the function scope
        cache.touch(shared, -1, version=plan.version)  # a scope's TTL ran out
        assert items.get_cache_only(1, 2) is CACHE_MISSING
        assert items(1, 2) == "1/2#2"

    def test_delete_previous_versions(self, backend: str) -> None:
        def versioned(level: int) -> Any:
            class Catalog(KeyConstructor):
                c = ConstantKeyField("k", "v")

                class Meta:
                    namespace = "catalog"
                    version = level

            @cache_result(Catalog)
            def f() -> int:
                return level

            return Catalog, f

        _, v1 = versioned(1)
        cls3, v3 = versioned(3)
        v1()
        v3()
        cls3.delete_previous_versions()
        assert v1.get_cache_only() is CACHE_MISSING
        assert v3.get_cache_only() == 3


@pytest.mark.redis
def test_scope_ttl_covers_entries_and_is_extended(redis_default: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_default)

    class Shared(KeyConstructor):
        a = ArgsKeyField("a")

        class Meta:
            namespace = "ttl"

    @cache_result(Shared, ttl=100)
    def short(a: int) -> int:
        return a

    @cache_result(Shared, ttl=5000)
    def long(a: int) -> int:
        return a

    cache = caches["default"]
    short(1)
    scope = cache.make_key(scopes.namespace_scope("ttl"), version=1)
    first = client.ttl(scope)
    assert 100 <= first <= tokens.scope_life(100)  # bounded, outlives the entry
    long(1)
    assert client.ttl(scope) >= 5000  # extended for the longer-lived entry
    entry = cache.make_key(long.get_cache_key(1), version=1)
    key_scope = cache.make_key(long._plan((1,), {}).scopes[-1], version=1)
    assert client.ttl(key_scope) >= client.ttl(entry) > 0
    client.close()


# -- the hit path's one-pass read ------------------------------------------------------
# For the stock local-memory, RedisCache and django-redis classes ``backends.get_many``
# reads without the backend's public ``get_many``; it must return exactly what that
# method returns, and a subclass (which takes the public method) must too.
SAMPLE: dict[str, Any] = {
    "entry": ("envelope", (b"body", 200, {"Content-Type": "text/plain"}), (1, 2), 1.5, None),
    "token": 1234567890123,
    "negative": -5,
    "flag": True,
    "digits": "12",
    "raw": b"\x80not a pickle",
    "none": None,
    "big": "x" * 5000,
}
JSON_SAMPLE = {k: v for k, v in SAMPLE.items() if k not in ("entry", "raw")}


def backend_copy(cache: Any, subclass: bool) -> Any:
    """Another backend object on the same storage as ``cache`` (of a subclass if asked)."""
    params = dict(settings.CACHES["default"])
    params.pop("BACKEND")
    location = params.pop("LOCATION", "")
    kind = type(cache)
    if subclass:
        kind = type(f"Custom{kind.__name__}", (kind,), {"__module__": __name__})
    return kind(location, params)


def assert_reads_like_get_many(cache: Any, sample: dict[str, Any]) -> None:
    keys = [*sample, "missing", "expired"]  # one list object, read at two versions
    cache.set_many(sample, version=1)
    cache.set_many({key: ("v2", key) for key in sample}, version=2)
    cache.set("expired", 1, version=1)
    cache.touch("expired", -1, version=1)
    for version in (1, 2, 1):
        expected = cache.get_many(keys, version=version)
        assert set(expected) == set(sample)
        assert backends.get_many(cache, keys, version) == expected
        assert backends.get_many(cache, keys, version) == expected  # remembered keys
        assert backends.get_many(backend_copy(cache, False), keys, version) == expected
        assert backends.get_many(backend_copy(cache, True), keys, version) == expected
    assert backends.get_many(cache, [], 1) == {}


@pytest.mark.redis
def test_hit_read_returns_what_get_many_returns(backend: str) -> None:
    assert_reads_like_get_many(caches["default"], SAMPLE)


DJANGO_REDIS_VARIANTS = {
    "zlib": {"COMPRESSOR": "django_redis.compressors.zlib.ZlibCompressor"},
    "pickle-protocol-1": {"PICKLE_VERSION": 1},
    "ignore-exceptions": {"IGNORE_EXCEPTIONS": True},
    "json": {"SERIALIZER": "django_redis.serializers.json.JSONSerializer"},
    "key-prefix": {},
}


@pytest.mark.redis
@pytest.mark.parametrize("variant", sorted(DJANGO_REDIS_VARIANTS))
def test_django_redis_options_read_like_get_many(redis_url: str, variant: str) -> None:
    conf = redis_cache_settings(redis_url, backend="django_redis")
    conf["OPTIONS"] = {**conf["OPTIONS"], **DJANGO_REDIS_VARIANTS[variant]}
    if variant == "key-prefix":
        conf["KEY_PREFIX"] = "site-a"
    with override_settings(CACHES={"default": conf}):
        sample = JSON_SAMPLE if variant == "json" else SAMPLE
        assert_reads_like_get_many(caches["default"], sample)


@pytest.mark.redis
@pytest.mark.parametrize("ignore", [False, True])
def test_django_redis_read_fails_like_get_many(
    private_redis: Callable[[], RedisServer], ignore: bool
) -> None:
    server = private_redis()
    conf = redis_cache_settings(server.db_url(0), backend="django_redis")
    conf["OPTIONS"] = {**conf["OPTIONS"], "IGNORE_EXCEPTIONS": ignore}
    with override_settings(CACHES={"default": conf}):
        cache = caches["default"]
        cache.set("a", 1)
        server.stop()
        if ignore:
            assert cache.get_many(["a", "b"]) == {}
            assert backends.get_many(cache, ["a", "b"], 1) == {}
            return
        with pytest.raises(Exception) as public:
            cache.get_many(["a", "b"], version=1)
        with pytest.raises(Exception) as fast:
            backends.get_many(cache, ["a", "b"], 1)
        assert type(fast.value) is type(public.value)


TENANT = {"name": "a"}


def tenant_key(key: str, key_prefix: str, version: int) -> str:
    """A ``KEY_FUNCTION`` that is not a function of its arguments alone (per tenant)."""
    return f"{TENANT['name']}:{key_prefix}:{version}:{key}"


@pytest.mark.redis
def test_custom_key_function_is_asked_on_every_read(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(TENANT, "name", "a")  # restored after the test
    conf = {**settings.CACHES["default"], "KEY_FUNCTION": tenant_key}
    with override_settings(CACHES={"default": conf}):
        cache = caches["default"]
        keys = ["entry", "scope"]
        for tenant in ("a", "b"):
            TENANT["name"] = tenant
            cache.set_many({"entry": f"entry of {tenant}", "scope": tenant}, version=1)
        for tenant in ("a", "b", "a"):
            TENANT["name"] = tenant
            expected = {"entry": f"entry of {tenant}", "scope": tenant}
            assert backends.get_many(cache, keys, 1) == expected
