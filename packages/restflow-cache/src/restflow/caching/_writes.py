"""Writes as the storage model makes them: ``set_many`` in one pass on local memory and
one script call on Redis (``_redis``), the memcached pool's per-tag server under
``CLUSTER_HASH_TAGS`` (``_memcached``), and a write that stored only part of its keys
raised as ``IncompleteWrite``."""

from __future__ import annotations

import pickle
from typing import Any

from django.core.cache import BaseCache
from django.core.cache.backends.locmem import LocMemCache

from restflow._redisclient import kept_client
from restflow.caching import _cluster, _memcached
from restflow.caching._redis import script_set_many
from restflow.caching.plan_memo import Memo

__all__ = ["delete", "set_many", "set_one", "stored", "touch"]

_BASE_SET_MANY = LocMemCache.set_many
_LOCMEM_SET = LocMemCache.set
_LOCMEM_STORE = vars(LocMemCache)["_set"]

# Made keys of the names of a write, per key function, prefix, version and names: a save
# bumps the same scope names of its partition every time. Emptied when ``CACHES`` or
# ``RESTFLOW_SETTINGS`` change (``plan_memo``); bounded.
_made_keys: Memo = Memo()
_MADE_LIMIT = 1024


def set_many(
    cache: BaseCache,
    mapping: dict[str, Any],
    timeout: int | None,
    version: int,
    acknowledged: bool = False,
) -> None:
    """``cache.set_many``; on local memory (exact class, methods not replaced) the keys
    are made without per-character validation, once per names (``_locmem_set_many``),
    and written under one lock acquisition with one expiry (a value shared by several
    keys, like the token of a scope bump, is pickled once);
    on Django's ``RedisCache`` and django-redis, one script call (``_redis``).
    ``acknowledged`` (a scope bump): followed by ``WAIT`` when
    ``CLUSTER_WAIT_REPLICAS`` asks for it and the backend can (``_replication``)."""
    if not mapping:
        return
    if (
        type(cache) is LocMemCache
        and getattr(cache.set_many, "__func__", None) is _BASE_SET_MANY
        and getattr(cache.set, "__func__", None) is _LOCMEM_SET
        and getattr(getattr(cache, "_set", None), "__func__", None) is _LOCMEM_STORE
    ):
        _locmem_set_many(cache, mapping, timeout, version)
        return
    if script_set_many(cache, mapping, timeout, version, acknowledged):
        return
    pool = _memcached.pool_of(cache)
    if pool is not None:  # CLUSTER_HASH_TAGS on a memcached pool: each tag's server
        stored(_memcached.write(pool, cache, mapping, timeout, version), len(mapping))
        return
    stored(cache.set_many(mapping, timeout=timeout, version=version), len(mapping))


def _locmem_set_many(locmem: Any, mapping: dict[str, Any], timeout: int | None, version: int) -> None:
    """What ``LocMemCache.set_many`` stores, with the keys made once per names (then
    remembered), a value shared by several keys (the token of a bump) pickled once and
    one expiry for the whole write, under one lock acquisition."""
    names = tuple(mapping)
    memo_id = (locmem.key_func, locmem.key_prefix, version, names)
    keys: list[str] | None = _made_keys.get(memo_id)
    if keys is None:
        keys = [locmem.make_key(name, version=version) for name in names]
        if len(_made_keys) >= _MADE_LIMIT:
            _made_keys.clear()
        _made_keys[memo_id] = keys
    protocol = locmem.pickle_protocol
    values: list[bytes] = []
    previous: Any = object()
    pickled = b""
    for value in mapping.values():
        if value is not previous:
            previous, pickled = value, pickle.dumps(value, protocol)
        values.append(pickled)
    expiry = locmem.get_backend_timeout(timeout)
    with locmem._lock:
        data = locmem._cache
        expire = locmem._expire_info
        limit = locmem._max_entries
        move = data.move_to_end
        for key, pickled in zip(keys, values, strict=True):
            if len(data) >= limit:
                locmem._cull()
            data[key] = pickled
            move(key, last=False)
            expire[key] = expiry


def stored(failed: Any, wanted: int) -> None:
    """Raise when ``set_many`` returned keys it could not store (a memcached pool does
    not raise when one of its servers fails: it returns those keys)."""
    if failed:
        failed = list(failed)
        raise _cluster.IncompleteWrite(
            f"set_many could not store {len(failed)} of {wanted} keys: {failed[:5]!r}"
        )


# One key of the entry envelope: ``cache.<method>``, or on the tag's server of a memcached
# pool under CLUSTER_HASH_TAGS (where its scopes are; ``_memcached``).
# On Django's RedisCache, what its method does (make the key, convert the timeout, call its
# client), on the client restflow keeps per configuration (``restflow._redisclient.kept_client``).
def set_one(cache: BaseCache, key: str, value: Any, timeout: int | None, version: int) -> None:
    if _memcached.set_one(cache, key, value, timeout, version):
        return
    client = kept_client(cache, "set")
    if client is None:
        cache.set(key, value, timeout=timeout, version=version)
    else:
        made = cache.make_and_validate_key(key, version=version)
        client.set(made, value, cache.get_backend_timeout(timeout))


def touch(cache: BaseCache, key: str, timeout: int | None, version: int) -> None:
    if _memcached.touch(cache, key, timeout, version):
        return
    client = kept_client(cache, "touch")
    if client is None:
        cache.touch(key, timeout, version=version)
    else:
        client.touch(cache.make_and_validate_key(key, version=version), cache.get_backend_timeout(timeout))


def delete(cache: BaseCache, key: str, version: int) -> None:
    if _memcached.delete(cache, key, version):
        return
    client = kept_client(cache, "delete")
    if client is None:
        cache.delete(key, version=version)
    else:
        client.delete(cache.make_and_validate_key(key, version=version))

