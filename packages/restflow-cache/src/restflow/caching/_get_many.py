"""One-pass ``get_many`` for the stock backends where Django's generic method dominates a
hit: local memory, Django's ``RedisCache``, django-redis (one client, a cluster client),
and a memcached pool under ``CLUSTER_HASH_TAGS``. Exact classes only, public method not
replaced; anything else goes through ``cache.get_many``."""

from __future__ import annotations

import pickle
import sys
import time
import weakref
from typing import Any, cast

from django.core.cache import BaseCache
from django.core.cache.backends.base import default_key_func
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

from restflow._redisclient import shared_cache_client
from restflow.caching import _cluster, _memcached
from restflow.caching._redis import mget, redis_client

__all__ = ["get_many"]

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
    backend: Any = shared_cache_client(cache)  # one per configuration, not per thread
    if type(backend) is not RedisCacheClient:  # another client class: the public method
        return cache.get_many(keys, version=version)
    made = _made_keys(cache, keys, version)
    loads = cast(Any, backend)._serializer.loads  # Any: the stub has no _serializer
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
