"""The cache blacklist backend: entries in a Django cache that must not evict them."""

from __future__ import annotations

import hashlib
import math
import time
import weakref
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.core.cache import BaseCache, caches

from restflow._cachecaps import acache_call, set_many_takes_timeout
from restflow._redisclient import kept_client, shared_cache_client
from restflow.authentication.blacklist_base import BlacklistBackend
from restflow.authentication.blacklist_records import _PLAIN_JTI, retention_deadline
from restflow.authentication.config import get_config
from restflow.authentication.constants import (
    BLACKLIST_CACHE_PREFIX,
    EVICTING_CACHE_BACKENDS,
    LOCAL_CACHE_BACKEND_PATHS,
)
from restflow.authentication.exceptions import JWTConfigurationError
from restflow.authentication.redis_lookup import reader_for, starter_for

__all__ = ["EVICTION_FIX", "CacheBlacklistBackend", "eviction_problem"]


def _class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _backend_path(cache: BaseCache) -> str:
    return _class_path(type(cache))


EVICTION_FIX = (
    "Point BLACKLIST_CACHE_ALIAS at a Redis cache with maxmemory-policy noeviction (never "
    "allkeys-*; volatile-* only with memory to spare, every blacklist entry has a TTL), "
    "or set BLACKLIST_BACKEND = 'restflow.authentication.jwt.ModelBlacklistBackend'."
)


def eviction_problem(cache_class: type, alias: str) -> str | None:
    """Why the cache blacklist cannot live in ``cache_class`` (``None`` when it can)."""
    for cls in cache_class.__mro__:
        reason = EVICTING_CACHE_BACKENDS.get(_class_path(cls))
        if reason is not None:
            return (
                f"The JWT blacklist cache (BLACKLIST_CACHE_ALIAS = {alias!r}) is a "
                f"{cache_class.__name__}, which drops entries before they expire ({reason}): "
                "revoked and rotated tokens would be accepted again."
            )
    return None


class CacheBlacklistBackend(BlacklistBackend):
    """Entries in a Django cache (``BLACKLIST_CACHE_ALIAS``); atomic ``consume`` via ``add``.

    Refuses caches that drop entries before they expire (``EVICTING_CACHE_BACKENDS``:
    ``DatabaseCache``, ``FileBasedCache``, memcached, ``DummyCache``), and the per-process
    ``LocMemCache`` unless ``BLACKLIST_ALLOW_LOCMEM`` is true.
    """

    def __init__(self) -> None:
        self._verified: type | None = None
        # Weakly keyed by the client restflow keeps per configuration, else by the cache.
        self._readers: weakref.WeakKeyDictionary[Any, Callable[..., list[Any]]] = (
            weakref.WeakKeyDictionary()
        )
        self._starters: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()

    def _cache(self) -> BaseCache:
        cache = caches[get_config().blacklist_cache_alias]
        if type(cache) is not self._verified:
            self._verify(cache)
        return cache

    def _verify(self, cache: BaseCache) -> None:
        path = _backend_path(cache)
        alias = get_config().blacklist_cache_alias
        problem = eviction_problem(type(cache), alias)
        if problem is not None:
            raise JWTConfigurationError(f"{problem} {EVICTION_FIX}")
        if path in LOCAL_CACHE_BACKEND_PATHS and not get_config().blacklist_allow_locmem:
            raise JWTConfigurationError(
                f"CacheBlacklistBackend refuses {path} (cache alias {alias!r}): it is "
                "per-process, so revoked tokens would stay valid in other workers. Point "
                "BLACKLIST_CACHE_ALIAS at a shared Redis cache, use ModelBlacklistBackend, "
                "or set BLACKLIST_ALLOW_LOCMEM = True for tests and single-process servers."
            )
        self._verified = type(cache)

    @staticmethod
    def _key(jti: str) -> str:
        # Our own ids (uuid4 hex) are used as they are; anything else a signed token may
        # carry (spaces, control characters, very long ids) is hashed, so every key stays
        # a valid memcached key. ":" never occurs in a plain id, so the two never collide.
        if _PLAIN_JTI.fullmatch(jti) or (jti[:2] in ("f:", "u:") and _PLAIN_JTI.fullmatch(jti, 2)):
            return BLACKLIST_CACHE_PREFIX + jti  # a family or user record: "f:"/"u:" + plain id
        digest = hashlib.sha256(jti.encode("utf-8", "surrogatepass")).hexdigest()
        return BLACKLIST_CACHE_PREFIX + "h:" + digest

    @staticmethod
    def _timeout(expires_at: int) -> int:
        return max(1, math.ceil(retention_deadline(expires_at) - time.time()))

    @staticmethod
    def _write(cache: BaseCache, method: str, key: str, value: Any, timeout: int) -> Any:
        """``cache.set`` / ``cache.add``; on Django's RedisCache what that method does, on
        the client restflow keeps per configuration (no connection per request under ASGI)."""
        client = kept_client(cache, method)
        if client is None:
            return getattr(cache, method)(key, value, timeout)
        made = cache.make_and_validate_key(key)
        return getattr(client, method)(made, value, cache.get_backend_timeout(timeout))

    def blacklist(self, jti: str, *, expires_at: int) -> None:
        self._write(self._cache(), "set", self._key(jti), 1, self._timeout(expires_at))

    def blacklist_many(self, ids: list[str], *, expires_at: int) -> None:
        cache, timeout = self._cache(), self._timeout(expires_at)
        keys = [self._key(one) for one in ids]
        if not set_many_takes_timeout(cache):  # django-valkey's cluster cache: MSET
            for key in keys:
                cache.set(key, 1, timeout)
            return
        cache.set_many(dict.fromkeys(keys, 1), timeout=timeout)

    def _read(self, *ids: str) -> list[Any]:
        cache = self._cache()
        owner = shared_cache_client(cache) or cache  # per configuration where restflow keeps a client
        reader = self._readers.get(owner)
        if reader is None:
            reader = self._readers[owner] = reader_for(cache)
        return reader(cache, *[self._key(one) for one in ids])

    def is_blacklisted(self, jti: str) -> bool:
        return bool(self._read(jti)[0])

    def start_lookup(self, jti: str) -> Callable[[], bool]:
        return self.start_lookup_any((jti,))

    def start_lookup_any(self, ids: tuple[str, ...]) -> Callable[[], bool]:
        finish = self.start_lookup_values(ids)
        return lambda: any(finish())

    def start_lookup_values(self, ids: tuple[str, ...]) -> Callable[[], list[Any]]:
        cache = self._cache()
        owner = shared_cache_client(cache) or cache
        starter = self._starters.get(owner)
        if starter is None:
            starter = self._starters[owner] = starter_for(cache)
        if starter is False:
            result = self._read(*ids)
            return lambda: result
        return starter(cache, *[self._key(one) for one in ids])

    async def alookup_values(self, ids: tuple[str, ...]) -> list[Any]:
        cache = self._cache()
        if getattr(type(cache), "aget_many", BaseCache.aget_many) is BaseCache.aget_many:
            # No async code of its own (Django's aget_many runs get_many in a thread), or
            # no async methods at all: the sync reader (one MGET, per slot on a cluster)
            # in that same thread.
            return await sync_to_async(self._read, thread_sensitive=True)(*ids)
        keys = [self._key(one) for one in ids]
        found = await cache.aget_many(keys)
        return [found.get(key) for key in keys]

    async def ais_any_blacklisted(self, ids: tuple[str, ...]) -> bool:
        return any(await self.alookup_values(ids))

    def set_user_epoch(self, record_id: str, *, at_ms: int, expires_at: int) -> None:
        self._write(self._cache(), "set", self._key(record_id), at_ms, self._timeout(expires_at))

    def consume(self, jti: str, *, expires_at: int) -> bool:
        return bool(self._write(self._cache(), "add", self._key(jti), 1, self._timeout(expires_at)))

    def redeem(self, jti: str, *, expires_at: int, at: int) -> tuple[bool, int]:
        cache, key = self._cache(), self._key(jti)
        if self._write(cache, "add", key, at, self._timeout(expires_at)):
            return True, at
        client = kept_client(cache, "get")  # a reuse: read the first use's time the same way
        first = cache.get(key) if client is None else client.get(cache.make_and_validate_key(key), None)
        return False, first if isinstance(first, int) and first > 1 else 0

    async def ablacklist(self, jti: str, *, expires_at: int) -> None:
        await acache_call(self._cache(), "set", self._key(jti), 1, self._timeout(expires_at))

    async def ais_blacklisted(self, jti: str) -> bool:
        return bool(await acache_call(self._cache(), "get", self._key(jti)))

    async def aconsume(self, jti: str, *, expires_at: int) -> bool:
        added = await acache_call(self._cache(), "add", self._key(jti), 1, self._timeout(expires_at))
        return bool(added)

