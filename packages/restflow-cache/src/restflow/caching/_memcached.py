"""The hash-tag layout on a memcached pool (``CACHE_SETTINGS.CLUSTER_HASH_TAGS``;
docs/caching.md, memcached pools).

pymemcache's ``HashClient`` places each key on a server by hashing the whole key, so an
entry and its scopes are spread over the pool and ``get_many`` asks each server in turn.
With the layout on, restflow places every key that starts with a hash tag on the server
the pool's own hasher picks **for the tag**: an entry and all its scopes on one server,
a hit is one ``get_many`` request. Every read and write restflow makes of such keys
(entry, scopes, bumps, replays, ``touch``, ``delete``) goes through here, and through
``HashClient``'s own failure handling (failed and dead servers, ``ignore_exc``).

Only Django's ``PyMemcacheCache`` with pymemcache's ``HashClient`` (exact classes, public
methods not replaced) is routed; any other backend keeps its own placement.
"""

from __future__ import annotations

import sys
import weakref
from typing import Any

from restflow.caching import _hash_tags

__all__ = ["delete", "pool_of", "read", "route", "set_one", "touch", "write"]


# The routed HashClient of each backend object (``False``: not routed), beside it.
_pools: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _pool(cache: Any) -> Any:
    """The ``HashClient`` of a stock ``PyMemcacheCache``, or ``None``."""
    known = _pools.get(cache)
    if known is None:
        known = _pools[cache] = _find_pool(cache) or False
    return known or None


def _find_pool(cache: Any) -> Any:
    django_module = sys.modules.get("django.core.cache.backends.memcached")
    hash_module = sys.modules.get("pymemcache.client.hash")
    if django_module is None or hash_module is None:
        return None
    kind = django_module.PyMemcacheCache
    if type(cache) is not kind:
        return None
    for name in ("get_many", "set_many", "set", "touch", "delete"):
        if getattr(getattr(cache, name), "__func__", None) is not getattr(kind, name):
            return None
    pool = cache._cache
    return pool if type(pool) is hash_module.HashClient else None


def pool_of(cache: Any) -> Any:
    """The routed ``HashClient`` of ``cache`` when ``CLUSTER_HASH_TAGS`` is on, else ``None``."""
    return _pool(cache) if _hash_tags.count() else None


def _groups(pool: Any, keys: list[str], made: list[str]) -> list[tuple[Any, list[int]]]:
    """``(server client, key indexes)`` per server: a tagged key goes to the server of
    its tag, any other where ``HashClient`` puts it (by its whole key)."""
    tag = _hash_tags.tag_of(keys[0])
    if tag and all(key.startswith(tag) for key in keys):  # one plan: one server
        return [(pool._get_client(tag), list(range(len(keys))))]
    groups: dict[Any, tuple[Any, list[int]]] = {}
    for index, (key, real) in enumerate(zip(keys, made, strict=True)):
        server = pool._get_client(_hash_tags.tag_of(key) or real)
        name = None if server is None else server.server
        groups.setdefault(name, (server, []))[1].append(index)
    return list(groups.values())


def read(pool: Any, keys: list[str], made: list[str]) -> dict[str, Any]:
    """One ``get_many`` per server holding some of ``keys`` (one for a plan), with
    ``HashClient``'s failure handling (a server failing quietly answers nothing)."""
    found: dict[str, Any] = {}
    for server, indexes in _groups(pool, keys, made):
        if server is None:  # every server down, with ignore_exc
            continue
        wanted = [made[i] for i in indexes]
        values = pool._safely_run_func(server, server.get_many, {}, wanted)
        for i in indexes:
            if made[i] in values:
                found[keys[i]] = values[made[i]]
    return found


def write(pool: Any, cache: Any, mapping: dict[str, Any], timeout: Any, version: int) -> list[str]:
    """The keys of ``mapping`` not stored: one ``set_many`` per server, as :func:`read`
    places them."""
    keys = list(mapping)
    made = [cache.make_key(key, version=version) for key in keys]
    expire = cache.get_backend_timeout(timeout)
    failed: list[str] = []
    for server, indexes in _groups(pool, keys, made):
        if server is None:
            failed.extend(keys[i] for i in indexes)
            continue
        values = {made[i]: mapping[keys[i]] for i in indexes}
        refused = set(pool._safely_run_set_many(server, values, expire))
        failed.extend(keys[i] for i in indexes if made[i] in refused)
    return failed


def route(cache: Any, keys: Any) -> tuple[Any, Any] | None:
    """``(HashClient, server client or None)`` for one tagged key of a routed pool."""
    key = next(iter(keys))
    tag = _hash_tags.tag_of(key)
    pool = pool_of(cache) if tag else None
    return None if pool is None else (pool, pool._get_client(tag))


def set_one(cache: Any, key: str, value: Any, timeout: Any, version: int) -> bool:
    """``cache.set`` of one routed key (``False``: not routed, nothing done)."""
    found = route(cache, (key,))
    if found is None:
        return False
    pool, server = found
    if server is None:
        return True  # HashClient with every server down and ignore_exc: nothing stored
    real = cache.make_key(key, version=version)
    expire = cache.get_backend_timeout(timeout)
    if not pool._safely_run_func(server, server.set, False, real, value, expire):
        # as Django's set: a value the server refused (too large) must not stay stale
        pool._safely_run_func(server, server.delete, False, real)
    return True


def touch(cache: Any, key: str, timeout: Any, version: int) -> bool:
    found = route(cache, (key,))
    if found is None:
        return False
    pool, server = found
    if server is not None:
        real = cache.make_key(key, version=version)
        pool._safely_run_func(server, server.touch, False, real, cache.get_backend_timeout(timeout))
    return True


def delete(cache: Any, key: str, version: int) -> bool:
    found = route(cache, (key,))
    if found is None:
        return False
    pool, server = found
    if server is not None:
        pool._safely_run_func(server, server.delete, False, cache.make_key(key, version=version))
    return True
