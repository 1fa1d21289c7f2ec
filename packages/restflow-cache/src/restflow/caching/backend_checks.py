"""The start-up check of the configured cache backends (tag ``caches``): what restflow
needs from each ``CACHES`` alias, and the fallback it takes when a backend lacks it
(docs/caching.md, Scaling out). Decided on the backend objects, without a connection.

* ``restflow_caching.W005``: an alias works through a fallback: its ``set_many`` takes no
  ``timeout`` (django-valkey's ``ClusterValkeyCache``: ``MSET``, no expiry) and restflow
  writes its keys itself, one ``SET`` with expiry per key; or it has no async methods
  (django-valkey's caches) and async callers run its sync methods in a thread.
* ``restflow_caching.E005``: an alias whose ``set_many`` takes no ``timeout`` and that has
  no client restflow can write through: scope keys could not be written with expiry.
* ``restflow_caching.W006``: ``CACHE_SETTINGS.CLUSTER_WAIT_REPLICAS`` is set but an
  alias's backend has no write path restflow can follow with ``WAIT`` (memcached, local
  memory, django-valkey's standalone ``ValkeyCache``, ...): bumps on it are not
  acknowledged by replicas.
"""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from restflow._cachecaps import ASYNC_METHODS, has_async_methods, set_many_takes_timeout

__all__ = ["check_cache_backends"]


def _path(cache: Any) -> str:
    return f"{type(cache).__module__}.{type(cache).__qualname__}"


def _writes_per_key(cache: Any) -> bool:
    """Whether restflow can write through the backend's client wrapper (django-redis
    style: ``cache.client`` with ``get_client``, ``make_key``, ``encode``): the cluster
    path of ``_redis`` / ``_cluster``, one ``SET`` with expiry per key."""
    wrapper = getattr(type(cache), "client", None) and getattr(cache, "client", None)
    return all(callable(getattr(wrapper, name, None)) for name in ("get_client", "make_key", "encode"))


def _alias_messages(alias: str, cache: Any) -> list[checks.CheckMessage]:
    fallbacks: list[str] = []
    if not set_many_takes_timeout(cache):
        if not _writes_per_key(cache):
            return [
                checks.Error(
                    f"Cache {alias!r} ({_path(cache)}): its set_many() takes no timeout, so "
                    "restflow cannot write scope keys with an expiry on it.",
                    hint="Use a backend whose set_many(mapping, timeout=...) sets the "
                    "expiry (Django's RedisCache or PyMemcacheCache, django-redis, "
                    "django-valkey), or give set_many a timeout parameter.",
                    id="restflow_caching.E005",
                )
            ]
        fallbacks.append(
            "its set_many() takes no timeout (MSET, keys without expiry): restflow writes "
            "its scope keys itself, one SET with expiry per key pipelined per node, and the "
            "JWT blacklist one set() per record"
        )
    if not has_async_methods(cache):
        missing = [name for name in ASYNC_METHODS if not callable(getattr(cache, name, None))]
        fallbacks.append(
            f"it has no async methods ({', '.join(missing)}): async callers (async cached "
            "functions and views, async JWT authentication) run its sync methods in a "
            "thread (sync_to_async, thread_sensitive=True)"
        )
    if not fallbacks:
        return []
    return [
        checks.Warning(
            f"Cache {alias!r} ({_path(cache)}) works through a fallback: {'; '.join(fallbacks)}.",
            hint="Nothing to fix if this alias serves restflow as intended; the fallbacks are "
            "tested (docs/caching.md, Scaling out). Silence with SILENCED_SYSTEM_CHECKS = "
            "['restflow_caching.W005'].",
            id="restflow_caching.W005",
        )
    ]


#: Backends whose bump restflow writes itself and follows with ``WAIT`` (``_redis``,
#: ``_cluster``): Django's ``RedisCache``, django-redis (any client: a ``RedisCluster``
#: one is written per master), django-valkey's cluster cache.
WAITING_BACKENDS = frozenset({
    "django.core.cache.backends.redis.RedisCache",
    "django_redis.cache.RedisCache",
    "django_valkey.cluster_cache.cache.ClusterValkeyCache",
})


def _wait_message(alias: str, cache: Any, replicas: int) -> list[checks.CheckMessage]:
    path = _path(cache)
    if path in WAITING_BACKENDS and not getattr(cache, "_ignore_exceptions", False):
        return []
    return [
        checks.Warning(
            f"Cache {alias!r} ({path}) cannot send WAIT after a bump, but "
            f"CACHE_SETTINGS['CLUSTER_WAIT_REPLICAS'] is {replicas}: its bumps are not "
            "acknowledged by replicas (the setting is ignored on this alias).",
            hint="WAIT is sent on Django's RedisCache, django-redis (without "
            "IGNORE_EXCEPTIONS) and django-valkey's ClusterValkeyCache. Nothing to fix if "
            "this alias has no replicas (memcached, local memory); silence with "
            "SILENCED_SYSTEM_CHECKS = ['restflow_caching.W006'].",
            id="restflow_caching.W006",
        )
    ]


def check_cache_backends(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from django.conf import settings
    from django.core.cache import caches

    from restflow.caching import _replication

    try:
        replicas = _replication.wanted()
    except ImproperlyConfigured:  # raised, naming the setting, at the first bump
        replicas = 0
    messages: list[checks.CheckMessage] = []
    for alias in getattr(settings, "CACHES", {}):
        try:
            cache = caches[alias]
        except Exception:  # noqa: S112 - Django's own checks and first use report it
            continue
        messages.extend(_alias_messages(alias, cache))
        if replicas:
            messages.extend(_wait_message(alias, cache, replicas))
    return messages
