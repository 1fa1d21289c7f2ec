"""The stampede lock of ``lock=True``: one caller computes a missing entry while the
others wait for it (docs/caching.md, Stampede control).

The lock is a cache key added with ``add`` and a random token; only its holder deletes
it. A backend failure degrades: the caller computes without the lock.
"""

from __future__ import annotations

from django.core.cache import BaseCache

from restflow.caching.backends import degraded
from restflow.caching.hashing import sha256_hex

__all__ = ["aacquire_lock", "acquire_lock", "arelease_lock", "lock_key", "release_lock"]

LOCK_PREFIX = "restflow:lock:"


def lock_key(key: str) -> str:
    return f"{LOCK_PREFIX}{sha256_hex(key)}"


def acquire_lock(
    cache: BaseCache, alias: str, key: str, token: str, timeout: int, version: int
) -> bool | None:
    try:
        return bool(cache.add(key, token, timeout=timeout, version=version))
    except Exception as exc:
        degraded(alias, "lock", exc)
        return None


def release_lock(cache: BaseCache, alias: str, key: str, token: str, version: int) -> None:
    try:
        if cache.get(key, version=version) == token:
            cache.delete(key, version=version)
    except Exception as exc:
        degraded(alias, "lock", exc)


async def aacquire_lock(
    cache: BaseCache, alias: str, key: str, token: str, expiry: int, version: int
) -> bool | None:
    try:
        return bool(await cache.aadd(key, token, timeout=expiry, version=version))
    except Exception as exc:
        degraded(alias, "lock", exc)
        return None


async def arelease_lock(cache: BaseCache, alias: str, key: str, token: str, version: int) -> None:
    try:
        if await cache.aget(key, version=version) == token:
            await cache.adelete(key, version=version)
    except Exception as exc:
        degraded(alias, "lock", exc)
