"""The start-up check of the cache backends (``restflow_caching.W005`` / ``E005`` / ``W006``) on the
real backend classes of the matrix: no connection is opened (the servers named here do
not exist), and each alias gets the message its backend calls for."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import checks
from django.core.cache.backends.locmem import LocMemCache
from django.test import override_settings
from restflow_testbed.django_redis_cluster import cluster_cache_settings
from restflow_testbed.memcached_server import memcached_cache_settings

from restflow.caching.backend_checks import check_cache_backends

NOWHERE = "redis://127.0.0.1:1/0"  # nothing listens: a check must not connect


class TimeoutlessCache(LocMemCache):
    """A backend whose set_many cannot take an expiry, with no client to write through."""

    def set_many(self, data: Any, version: Any = None) -> list[Any]:  # type: ignore[override]
        return super().set_many(data, version=version)


CACHES = {
    "locmem": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "redis": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": NOWHERE},
    "django_redis": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": NOWHERE},
    "valkey": {"BACKEND": "django_valkey.cache.ValkeyCache", "LOCATION": "valkey://127.0.0.1:1/0"},
    "django_redis_cluster": cluster_cache_settings(NOWHERE, "django_redis_cluster"),
    "valkey_cluster": cluster_cache_settings(NOWHERE, "valkey_cluster"),
    "memcached_pool": memcached_cache_settings(["127.0.0.1:1", "127.0.0.1:2"]),
}


def messages(caches: dict[str, Any]) -> dict[str, list[checks.CheckMessage]]:
    with override_settings(CACHES={"default": CACHES["locmem"], **caches}):
        found = check_cache_backends()
        ours = {"restflow_caching.W005", "restflow_caching.E005", "restflow_caching.W006"}
        registered = [m for m in checks.run_checks(tags=[checks.Tags.caches]) if m.id in ours]
        assert found == registered  # the app registers the check
    by_alias: dict[str, list[checks.CheckMessage]] = {}
    for message in found:
        by_alias.setdefault(message.msg.split("'")[1], []).append(message)
    return by_alias


def test_backends_with_everything_restflow_needs_pass() -> None:
    names = ["locmem", "redis", "django_redis", "django_redis_cluster", "memcached_pool"]
    assert messages({name: CACHES[name] for name in names}) == {}


def test_django_valkey_standalone_warns_of_the_async_fallback() -> None:
    [message] = messages({"valkey": CACHES["valkey"]})["valkey"]
    assert isinstance(message, checks.Warning)
    assert message.id == "restflow_caching.W005"
    assert "Cache 'valkey' (django_valkey.cache.ValkeyCache)" in message.msg
    assert "no async methods (aget, aget_many" in message.msg
    assert "in a thread" in message.msg
    assert "set_many" not in message.msg.split("fallback:")[1].split("no async")[0]


def test_valkey_cluster_warns_of_both_fallbacks() -> None:
    [message] = messages({"valkey_cluster": CACHES["valkey_cluster"]})["valkey_cluster"]
    assert message.id == "restflow_caching.W005"
    assert "ClusterValkeyCache" in message.msg
    assert "set_many() takes no timeout" in message.msg
    assert "one SET with expiry per key" in message.msg
    assert "no async methods" in message.msg


def test_a_set_many_without_timeout_and_no_fallback_is_an_error() -> None:
    backend = f"{__name__}.TimeoutlessCache"
    [message] = messages({"odd": {"BACKEND": backend}})["odd"]
    assert isinstance(message, checks.Error)
    assert message.id == "restflow_caching.E005"
    assert "Cache 'odd'" in message.msg
    assert "timeout" in str(message.hint)


@pytest.mark.parametrize("name", ["valkey", "valkey_cluster"])
def test_silenced_like_any_check(name: str) -> None:
    with override_settings(
        CACHES={"default": CACHES["locmem"], name: CACHES[name]},
        SILENCED_SYSTEM_CHECKS=["restflow_caching.W005"],
    ):
        found = [m for m in checks.run_checks(tags=[checks.Tags.caches]) if m.id.endswith("W005")]
        assert len(found) == 1
        assert found[0].is_silenced()  # what manage.py check leaves out


def test_wait_replicas_warns_on_the_aliases_that_cannot_wait() -> None:
    with override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": {"CLUSTER_WAIT_REPLICAS": 1}}):
        found = messages(CACHES)
    waiting = {
        alias for alias, listed in found.items()
        if any(m.id == "restflow_caching.W006" for m in listed)
    }
    assert waiting == {"default", "locmem", "valkey", "memcached_pool"}
    [message] = [m for m in found["memcached_pool"] if m.id == "restflow_caching.W006"]
    assert isinstance(message, checks.Warning)
    assert "CLUSTER_WAIT_REPLICAS" in message.msg


def test_wait_replicas_off_no_warning() -> None:
    found = messages(CACHES)
    assert not [m for listed in found.values() for m in listed if m.id == "restflow_caching.W006"]
