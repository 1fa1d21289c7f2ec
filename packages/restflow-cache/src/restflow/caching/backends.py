"""Django cache backends as the storage model uses them: the per-thread backend lookup,
the throttled log of a degraded call, and one-pass ``get_many``/``set_many`` for the stock
backends where the generic methods dominate a hit or a bump (exact classes only, public
methods not replaced; the Redis commands themselves are in ``_redis``)."""

from __future__ import annotations

import logging
import pickle
import sys
import threading
import time
import weakref
from typing import Any

from asgiref.sync import sync_to_async
from django.core.cache import BaseCache, caches
from django.core.cache.backends.base import default_key_func
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.core.signals import setting_changed
from django.dispatch import receiver

from restflow.caching import _cluster, _memcached
from restflow.caching._redis import mget, redis_client, script_set_many
from restflow.log import log_throttled

__all__ = [
    "acall",
    "adelete",
    "aget_many",
    "aset_many",
    "aset_one",
    "atouch",
    "degraded",
    "delete",
    "get_cache",
    "get_many",
    "set_many",
    "set_one",
    "touch",
]

logger = logging.getLogger("restflow.caching.storage")
DEGRADE_LOG_INTERVAL = 60.0


# -- backend lookup --------------------------------------------------------------------
# ``caches[alias]`` goes through asgiref's context-aware Local on every call; the hit path
# keeps the backend per thread instead. When ``CACHES`` changes the table is replaced, as
# Django replaces its own connections (every thread then looks its backends up again).
_local = threading.local()


@receiver(setting_changed)
def _forget_backends(*, setting: str, **kwargs: Any) -> None:
    global _local
    if setting == "CACHES":
        _local = threading.local()


def get_cache(alias: str) -> BaseCache:
    held: BaseCache | None = _local.__dict__.get(alias)
    if held is None:
        held = _local.__dict__[alias] = caches[alias]
    return held


# -- degraded I/O ----------------------------------------------------------------------
def degraded(alias: str, operation: str, exc: BaseException) -> None:
    """Log (throttled) that ``operation`` failed on ``alias`` and the call goes on without it."""
    log_throttled(
        logger,
        f"{alias}:{operation}",
        "Cache %r failed during %s (%s: %s); answering without the cache",
        alias,
        operation,
        type(exc).__name__,
        exc,
        interval=DEGRADE_LOG_INTERVAL,
    )


# The hit path reads several keys at once. Django's generic ``get_many`` validates every
# key character by character and, on local memory, takes the lock once per key; restflow's
# keys are memcached-safe by construction, so for the stock backends where that cost
# dominates a hit (exact classes only, public method not replaced) the keys are made with
# the backend's own ``make_key`` and read in one pass with the backend's own semantics.
_BASE_GET_MANY = LocMemCache.get_many
_REDIS_GET_MANY = RedisCache.get_many
_MADE_LIMIT = 4096
# ``make_key`` results per backend object, beside it (the user's backend is not changed).
_made: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], list[str]]] = weakref.WeakKeyDictionary()


def _made_keys(cache: Any, keys: list[str], version: int) -> list[str]:
    """``cache.make_key`` of each key, remembered per backend object: a hit reads the
    same few keys again and again. Only with Django's default key function, a function
    of its arguments alone (a custom ``KEY_FUNCTION`` may read a tenant or a thread)."""
    if cache.key_func is not default_key_func:
        return [cache.make_key(key, version=version) for key in keys]
    memo = _made.get(cache)
    if memo is None:
        memo = _made.setdefault(cache, {})
    wanted = (*keys, version)
    made = memo.get(wanted)
    if made is None:
        made = [cache.make_key(key, version=version) for key in keys]
        if len(memo) >= _MADE_LIMIT:
            memo.clear()
        memo[wanted] = made
    return made


def _locmem_get_many(cache: Any, keys: list[str], version: int) -> dict[str, Any]:
    made = _made_keys(cache, keys, version)
    found: dict[str, bytes] = {}
    now = time.time()
    with cache._lock:
        store = cache._cache
        expire_info = cache._expire_info
        for key, real in zip(keys, made, strict=True):
            expiry = expire_info.get(real, -1)
            if expiry is not None and expiry <= now:
                if expiry != -1:
                    cache._delete(real)
                continue
            found[key] = store[real]
            store.move_to_end(real, last=False)
    return {key: pickle.loads(raw) for key, raw in found.items()}  # noqa: S301


def _redis_get_many(cache: Any, keys: list[str], version: int) -> dict[str, Any]:
    backend: Any = cache._cache
    if type(backend) is not RedisCacheClient:  # another client class: the public method
        return cache.get_many(keys, version=version)
    made = _made_keys(cache, keys, version)
    loads = cache._cache._serializer.loads  # Any: the stub has no _serializer
    raw = mget(redis_client(backend), made)
    return {key: loads(value) for key, value in zip(keys, raw, strict=True) if value is not None}


# django-redis: its ``get_many`` goes through the ``omit_exception`` wrapper, builds a
# ``CacheKey`` per key and a key map per call. For the stock ``RedisCache`` with the stock
# ``DefaultClient`` and ``IGNORE_EXCEPTIONS`` off (then a failure propagates the same way:
# the public path re-raises the redis error it wrapped), the keys are read with one MGET
# on the client django-redis itself would pick and decoded with its own ``decode``.
def _django_redis_get_many(cache: Any, keys: list[str], version: int) -> dict[str, Any] | None:
    client_module = sys.modules.get("django_redis.client.default")
    client = cache.client
    if (
        client_module is None
        or type(client) is not client_module.DefaultClient
        or cache._ignore_exceptions
    ):
        return None
    made = _made_keys(cache, keys, version)
    raw = mget(client.get_client(write=False), made)
    decode = client.decode
    identity = sys.modules.get("django_redis.compressors.identity")
    if identity is None or type(client._compressor) is not identity.IdentityCompressor:
        return {key: decode(value) for key, value in zip(keys, raw, strict=True) if value is not None}
    # ``decode`` first tries ``int(value)`` (an exception for every pickled value), then
    # the compressor; with the identity compressor a value starting with a pickle's
    # protocol byte goes straight to the serializer, which is where ``decode`` ends.
    loads = client._serializer.loads
    return {
        key: loads(value) if value[:1] == _PICKLE_PROTO else decode(value)
        for key, value in zip(keys, raw, strict=True)
        if value is not None
    }


_PICKLE_PROTO = b"\x80"


_BASE_SET_MANY = LocMemCache.set_many
_LOCMEM_SET = LocMemCache.set


def set_many(
    cache: BaseCache,
    mapping: dict[str, Any],
    timeout: int | None,
    version: int,
    acknowledged: bool = False,
) -> None:
    """``cache.set_many``; on local memory (exact class, methods not replaced) the keys
    are made without per-character validation and written under one lock acquisition
    (a value shared by several keys, like the token of a scope bump, is pickled once);
    on Django's ``RedisCache`` and django-redis, one script call (``_redis``).
    ``acknowledged`` (a scope bump): followed by ``WAIT`` when
    ``CLUSTER_WAIT_REPLICAS`` asks for it and the backend can (``_replication``)."""
    if not mapping:
        return
    if (
        type(cache) is LocMemCache
        and getattr(cache.set_many, "__func__", None) is _BASE_SET_MANY
        and getattr(cache.set, "__func__", None) is _LOCMEM_SET
    ):
        locmem: Any = cache
        protocol = locmem.pickle_protocol
        made: list[tuple[str, bytes]] = []
        previous: Any = object()
        pickled = b""
        for key, value in mapping.items():
            if value is not previous:
                previous, pickled = value, pickle.dumps(value, protocol)
            made.append((locmem.make_key(key, version=version), pickled))
        with locmem._lock:
            for key, pickled in made:
                locmem._set(key, pickled, timeout)
        return
    if script_set_many(cache, mapping, timeout, version, acknowledged):
        return
    pool = _memcached.pool_of(cache)
    if pool is not None:  # CLUSTER_HASH_TAGS on a memcached pool: each tag's server
        _stored(_memcached.write(pool, cache, mapping, timeout, version), len(mapping))
        return
    _stored(cache.set_many(mapping, timeout=timeout, version=version), len(mapping))


def _stored(failed: Any, wanted: int) -> None:
    """Raise when ``set_many`` returned keys it could not store (a memcached pool does
    not raise when one of its servers fails: it returns those keys)."""
    if failed:
        failed = list(failed)
        raise _cluster.IncompleteWrite(
            f"set_many could not store {len(failed)} of {wanted} keys: {failed[:5]!r}"
        )


async def acall(cache: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    """``await cache.a<name>(...)``; a backend with no async methods at all (django-valkey's
    cluster cache is not a ``BaseCache``) runs ``cache.<name>(...)`` in the thread where
    Django's own async methods would."""
    method = getattr(cache, f"a{name}", None)
    if method is None:
        return await sync_to_async(getattr(cache, name), thread_sensitive=True)(*args, **kwargs)
    return await method(*args, **kwargs)


async def aset_many(
    cache: BaseCache,
    mapping: dict[str, Any],
    life: int | None,
    version: int,
    acknowledged: bool = False,
) -> None:
    """``cache.aset_many``. A backend without async code of its own (Django's default
    ``aset_many`` runs ``set_many`` in a thread, or no async methods at all) gets
    :func:`set_many` in that same thread instead, so an async bump takes the paths a sync
    one takes (one script call on Redis, per slot on a cluster)."""
    if getattr(type(cache), "aset_many", BaseCache.aset_many) is BaseCache.aset_many:
        await sync_to_async(set_many, thread_sensitive=True)(
            cache, mapping, life, version, acknowledged
        )
    else:
        _stored(await cache.aset_many(mapping, timeout=life, version=version), len(mapping))


# One key of the entry envelope: ``cache.<method>``, or on the tag's server of a memcached
# pool under CLUSTER_HASH_TAGS (where its scopes are; ``_memcached``).
def set_one(cache: BaseCache, key: str, value: Any, timeout: int | None, version: int) -> None:
    if not _memcached.set_one(cache, key, value, timeout, version):
        cache.set(key, value, timeout=timeout, version=version)


def touch(cache: BaseCache, key: str, timeout: int | None, version: int) -> None:
    if not _memcached.touch(cache, key, timeout, version):
        cache.touch(key, timeout, version=version)


def delete(cache: BaseCache, key: str, version: int) -> None:
    if not _memcached.delete(cache, key, version):
        cache.delete(key, version=version)


async def aset_one(cache: BaseCache, key: str, value: Any, life: int | None, version: int) -> None:
    if _memcached.route(cache, (key,)) is None:
        await acall(cache, "set", key, value, timeout=life, version=version)
    else:
        await sync_to_async(set_one, thread_sensitive=True)(cache, key, value, life, version)


async def atouch(cache: BaseCache, key: str, life: int | None, version: int) -> None:
    if _memcached.route(cache, (key,)) is None:
        await acall(cache, "touch", key, life, version=version)
    else:
        await sync_to_async(touch, thread_sensitive=True)(cache, key, life, version)


async def adelete(cache: BaseCache, key: str, version: int) -> None:
    if _memcached.route(cache, (key,)) is None:
        await acall(cache, "delete", key, version=version)
    else:
        await sync_to_async(delete, thread_sensitive=True)(cache, key, version)


async def aget_many(cache: BaseCache, keys: list[str], version: int) -> dict[str, Any]:
    if _memcached.pool_of(cache) is None:
        values: dict[str, Any] = await acall(cache, "get_many", keys, version=version)
        return values
    return await sync_to_async(get_many, thread_sensitive=True)(cache, keys, version)


def get_many(cache: BaseCache, keys: list[str], version: int) -> dict[str, Any]:
    kind = type(cache)
    method = getattr(cache.get_many, "__func__", None)
    if kind is LocMemCache and method is _BASE_GET_MANY:
        return _locmem_get_many(cache, keys, version)
    if kind is RedisCache and method is _REDIS_GET_MANY:
        return _redis_get_many(cache, keys, version)
    module = sys.modules.get("django_redis.cache")
    if module is not None and kind is module.RedisCache and method is module.RedisCache.get_many:
        values = _django_redis_get_many(cache, keys, version)
        if values is not None:
            return values
    if _clustered(cache):
        return _cluster_get_many(cache, keys, version)
    pool = _memcached.pool_of(cache)
    if pool is not None:  # CLUSTER_HASH_TAGS on a memcached pool: one server per tag
        return _memcached.read(pool, keys, _made_keys(cache, keys, version))
    return cache.get_many(keys, version=version)


# Whether a django-redis-style backend hands out a cluster client, per backend object
# (the kind of client a backend object makes does not change).
_cluster_kind: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def _clustered(cache: Any) -> bool:
    known = _cluster_kind.get(cache)
    if known is None:
        known = _cluster_kind[cache] = _cluster.cluster_wrapper(cache, write=False) is not None
    return known


def _cluster_get_many(cache: Any, keys: list[str], version: int) -> dict[str, Any]:
    """A cluster client's read: one MGET per slot, decoded by the backend's own client
    (django-redis's ``get_many`` sends one MGET, refused across slots)."""
    found = _cluster.cluster_wrapper(cache, write=False)
    if found is None:  # pragma: no cover - the kind of a backend's client does not change
        return cache.get_many(keys, version=version)
    wrapper, client = found
    made = [wrapper.make_key(key, version=version) for key in keys]
    raw = mget(client, made)  # one MGET on one node when the keys share a hash tag
    decode = wrapper.decode
    return {key: decode(value) for key, value in zip(keys, raw, strict=True) if value is not None}
