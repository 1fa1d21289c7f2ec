"""The async side of the storage calls: Django's ``a<name>`` methods where the backend has
its own async code, otherwise the sync call (:mod:`._writes`, :mod:`._get_many`) in the
thread where Django's default async methods would run it, so an async hit or bump takes
the paths a sync one takes."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.core.cache import BaseCache

from restflow._cachecaps import acache_call as acall
from restflow.caching import _memcached
from restflow.caching._get_many import get_many
from restflow.caching._writes import delete, set_many, set_one, stored, touch

__all__ = ["acall", "adelete", "aget_many", "aset_many", "aset_one", "atouch"]


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
        stored(await cache.aset_many(mapping, timeout=life, version=version), len(mapping))


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
