"""The scope bump on Redis (Django's RedisCache and django-redis): one script call that
must leave exactly what the backend's ``set_many`` leaves, fail like it, and give way to
it where the server refuses scripts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest
import redis
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.test import override_settings
from restflow_testbed.plugin import redis_cache_settings
from restflow_testbed.redis_server import RedisServer

from restflow.caching import backends, scopes

pytestmark = [pytest.mark.redis, pytest.mark.usefixtures("fresh_django_redis_pools")]

TOKEN = 1_234_567_890_123
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "django": ("django", {}),
    "django-key-prefix": ("django", {"KEY_PREFIX": "site-a"}),
    "django-redis": ("django_redis", {}),
    "django-redis-zlib": ("django_redis", {"COMPRESSOR": "django_redis.compressors.zlib.ZlibCompressor"}),
    "django-redis-json": ("django_redis", {"SERIALIZER": "django_redis.serializers.json.JSONSerializer"}),
    "django-redis-key-prefix": ("django_redis", {"KEY_PREFIX": "site-a"}),
}


def conf_for(url: str, variant: str) -> dict[str, Any]:
    backend, options = VARIANTS[variant]
    conf = redis_cache_settings(url, backend=backend)
    if "KEY_PREFIX" in options:
        conf["KEY_PREFIX"] = options["KEY_PREFIX"]
    elif options:
        conf["OPTIONS"] = {**conf["OPTIONS"], **options}
    return conf


def raw_state(client: redis.Redis, cache: Any, keys: list[str], version: int) -> list[tuple[Any, int]]:
    """(stored bytes, TTL rounded to 10 s) of each key as Redis holds it."""
    state = []
    for key in keys:
        made = cache.make_key(key, version=version)
        ttl = client.ttl(made)
        state.append((client.get(made), ttl if ttl < 0 else round(ttl, -1)))
    return state


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("timeout", [600, None])
def test_a_bump_leaves_what_set_many_leaves(redis_url: str, variant: str, timeout: int | None) -> None:
    with override_settings(CACHES={"default": conf_for(redis_url, variant)}):
        cache = caches["default"]
        client = redis.Redis.from_url(redis_url)
        try:
            ours = [f"restflow:gen:pt:{i}" for i in range(50)]
            theirs = [f"reference:{i}" for i in range(50)]
            shared = {key: TOKEN for key in ours}
            mixed = {ours[0]: TOKEN, ours[1]: TOKEN + 1, ours[2]: "text", ours[3]: {"a": [1, 2]}}
            for version in (1, 3):
                backends.set_many(cache, shared, timeout, version)
                cache.set_many(dict.fromkeys(theirs, TOKEN), timeout=timeout, version=version)
                assert raw_state(client, cache, ours, version) == raw_state(client, cache, theirs, version)
                assert cache.get_many(ours, version=version) == shared

                backends.set_many(cache, mixed, timeout, version)
                reference = dict(zip(theirs, mixed.values(), strict=False))
                cache.set_many(reference, timeout=timeout, version=version)
                assert raw_state(client, cache, ours[:4], version) == raw_state(
                    client, cache, theirs[:4], version
                )
                assert cache.get_many(ours[:4], version=version) == mixed
        finally:
            client.close()


def calls(client: redis.Redis, command: str) -> int:
    stats = client.info("commandstats").get(f"cmdstat_{command}", {})
    return int(stats.get("calls", 0)) + int(stats.get("rejected_calls", 0))


@pytest.mark.parametrize("backend", ["django", "django_redis"])
def test_a_bump_of_100_scopes_is_one_command(
    private_redis: Callable[[], RedisServer], backend: str
) -> None:
    server = private_redis()
    client = redis.Redis.from_url(server.db_url(0))
    with override_settings(CACHES={"default": redis_cache_settings(server.db_url(0), backend=backend)}):
        cache = caches["default"]
        backends.set_many(cache, {"warm": 1}, 60, 1)  # the script is loaded once
        client.config_resetstat()
        backends.set_many(cache, {f"scope:{i}": TOKEN for i in range(100)}, 600, 1)
        stats = client.info("commandstats")
        client.close()
    sent = {name: value["calls"] for name, value in stats.items() if "config" not in name}
    # The 100 SETs run inside the script (Redis counts them too); nothing else was sent.
    assert sent == {"cmdstat_evalsha": 1, "cmdstat_set": 100}


@pytest.mark.parametrize("backend", ["django", "django_redis"])
def test_a_server_refusing_scripts_gets_set_many(
    private_redis: Callable[[], RedisServer], backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    server = private_redis()
    admin = redis.Redis.from_url(server.db_url(0))
    admin.acl_setuser(
        "app", enabled=True, passwords=["+secret"], keys=["*"], commands=["+@all", "-@scripting"]
    )
    url = f"redis://app:secret@127.0.0.1:{server.port}/0"
    with override_settings(CACHES={"default": redis_cache_settings(url, backend=backend)}), \
            caplog.at_level(logging.WARNING, logger="restflow.caching.storage"):
        cache = caches["default"]
        for round_ in range(3):
            mapping = {f"scope:{i}": TOKEN + round_ for i in range(5)}
            backends.set_many(cache, mapping, 600, 1)
            assert cache.get_many(list(mapping), version=1) == mapping
            assert 590 <= admin.ttl(cache.make_key("scope:0", version=1)) <= 600
    refusals = [r for r in caplog.records if "refuses scripts" in r.getMessage()]
    assert len(refusals) == 1  # remembered: the script is not tried again
    assert calls(admin, "evalsha") + calls(admin, "script|load") <= 2
    admin.close()


@pytest.mark.parametrize("variant", ["django", "django-redis"])
def test_a_bump_on_a_dead_server_fails_like_set_many(
    private_redis: Callable[[], RedisServer], variant: str
) -> None:
    server = private_redis()
    with override_settings(CACHES={"default": conf_for(server.db_url(0), variant)}):
        cache = caches["default"]
        backends.set_many(cache, {"warm": 1}, 60, 1)
        server.stop()
        with pytest.raises(Exception) as public:
            cache.set_many({"a": TOKEN}, timeout=60, version=1)
        with pytest.raises(Exception) as ours:
            backends.set_many(cache, {"a": TOKEN}, 60, 1)
        assert type(ours.value) is type(public.value)
        assert isinstance(ours.value, redis.ConnectionError)


def test_django_redis_ignore_exceptions_keeps_swallowing(private_redis: Callable[[], RedisServer]) -> None:
    server = private_redis()
    conf = redis_cache_settings(server.db_url(0), backend="django_redis")
    conf["OPTIONS"] = {**conf["OPTIONS"], "IGNORE_EXCEPTIONS": True}
    with override_settings(CACHES={"default": conf}):
        cache = caches["default"]
        backends.set_many(cache, {"a": TOKEN}, 60, 1)
        assert cache.get("a", version=1) == TOKEN
        server.stop()
        backends.set_many(cache, {"a": TOKEN + 1}, 60, 1)  # swallowed, as set_many does
        assert cache.get("a", version=1) is None


@pytest.mark.parametrize("backend", ["django", "django_redis"])
def test_an_async_bump_is_the_same_script_call(
    private_redis: Callable[[], RedisServer], backend: str
) -> None:
    """Neither backend has async code of its own (Django's ``aset_many`` runs ``set_many``
    in a thread), so an async bump runs restflow's sync path in that thread."""
    server = private_redis()
    client = redis.Redis.from_url(server.db_url(0))
    with override_settings(CACHES={"default": redis_cache_settings(server.db_url(0), backend=backend)}):
        cache = caches["default"]
        backends.set_many(cache, {"warm": 1}, 60, 1)
        client.config_resetstat()
        names = [f"scope:{i}" for i in range(20)]
        asyncio.run(scopes.abump_targets([("default", 1, scope, 600) for scope in names]))
        stats = client.info("commandstats")
        tokens = cache.get_many(names, version=1)
        assert len(tokens) == 20
        assert len(set(tokens.values())) == 1  # one new token for the group
    client.close()
    sent = {name: value["calls"] for name, value in stats.items() if "config" not in name}
    assert sent == {"cmdstat_evalsha": 1, "cmdstat_set": 20}


def test_a_backend_with_its_own_async_code_keeps_it() -> None:
    calls: list[tuple[dict[str, Any], Any, Any]] = []

    class NativeAsync(LocMemCache):
        async def aset_many(self, data: Any, timeout: Any = None, version: Any = None) -> list[str]:  # noqa: ASYNC109
            calls.append((dict(data), timeout, version))
            return []

    cache = NativeAsync("native-async", {})
    asyncio.run(backends.aset_many(cache, {"a": TOKEN}, 60, 2))
    assert calls == [({"a": TOKEN}, 60, 2)]
