"""Invalidation by key constructor class: every function keyed by one constructor class
(``KeyConstructor.wipe``) and every entry of its older versions
(``KeyConstructor.delete_previous_versions``); docs/caching.md, Cached functions.

Each wrapper registers itself with the class of its key constructor; the list is kept
on that class (never inherited: a subclass has its own). :class:`ConstructorInvalidation`
gives ``KeyConstructor`` its class methods.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from asgiref.sync import sync_to_async

from restflow.caching import _hash_tags, scopes
from restflow.caching.backends import get_cache

if TYPE_CHECKING:
    from restflow.caching.wrapper import CachedWrapper

__all__ = ["ConstructorInvalidation", "purge_namespace", "wrappers_of"]

_WRAPPERS = "_restflow_wrappers"


def wrappers_of(constructor_class: type) -> list[CachedWrapper[Any, Any]]:
    """The wrappers registered with exactly ``constructor_class`` (in registration order)."""
    wrappers: list[CachedWrapper[Any, Any]] = constructor_class.__dict__.get(_WRAPPERS, [])
    return wrappers


class ConstructorInvalidation:
    """Class methods of :class:`~restflow.caching.KeyConstructor` that invalidate by class."""

    _meta: ClassVar[Any]

    @classmethod
    def register_wrapper(cls, wrapper: CachedWrapper[Any, Any]) -> None:
        wrappers = cls.__dict__.get(_WRAPPERS)
        if wrappers is None:
            wrappers = []
            setattr(cls, _WRAPPERS, wrappers)
        if wrapper not in wrappers:
            wrappers.append(wrapper)

    @classmethod
    def wipe(cls, *args: Any, **kwargs: Any) -> None:
        """Invalidate every wrapper of this class (a partition of each when given args)."""
        scopes.bump_targets(_wrapper_targets(wrappers_of(cls), args, kwargs))

    @classmethod
    async def awipe(cls, *args: Any, **kwargs: Any) -> None:
        await scopes.abump_targets(_wrapper_targets(wrappers_of(cls), args, kwargs))

    @classmethod
    def delete_previous_versions(cls, purge: bool = False) -> None:
        """Make every entry of this namespace at versions ``1 … version-1`` unreadable.

        One scope write per older version. ``purge=True`` additionally deletes the old
        keys physically where the backend can enumerate keys (django-redis, Redis).
        """
        targets = _version_targets(cls)
        if targets:
            scopes.bump_targets(targets)
            if purge:
                purge_namespace(cls._meta.namespace, targets)

    @classmethod
    async def adelete_previous_versions(cls, purge: bool = False) -> None:
        targets = _version_targets(cls)
        if targets:
            await scopes.abump_targets(targets)
            if purge:
                await sync_to_async(purge_namespace)(cls._meta.namespace, targets)


def _wrapper_targets(
    wrappers: list[CachedWrapper[Any, Any]], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> list[scopes.Target]:
    if not args and not kwargs:
        return [w.invalidation_target(None, None) for w in wrappers]
    return [w.invalidation_target(args, kwargs) for w in wrappers]


def _version_targets(cls: Any) -> list[scopes.Target]:
    version = cls._meta.version
    if version <= 1:
        return []
    namespace = cls._meta.namespace
    if not namespace:
        raise ValueError(
            f"{cls.__qualname__}.delete_previous_versions() needs Meta.namespace: "
            "without a namespace restflow cannot tell this constructor's entries apart"
        )
    aliases = sorted({w.cache_alias for w in wrappers_of(cls)} or {"default"})
    scope = scopes.namespace_scope(namespace)
    if _hash_tags.count():  # CLUSTER_HASH_TAGS: the copy of every shard
        scope = _hash_tags.wildcard(_hash_tags.family(namespace, "")) + scope
    return [(alias, v, scope, None) for alias in aliases for v in range(1, version)]


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def purge_namespace(namespace: str, targets: Iterable[scopes.Target]) -> int:
    """Delete ``<namespace>::*`` keys at the targets' versions where the backend can
    enumerate keys (django-redis ``delete_pattern``, Django's ``RedisCache``). Other
    backends are left to TTL and eviction. Returns the number of keys deleted."""
    deleted = 0
    pattern = _glob_escape(namespace) + "::*"
    if _hash_tags.count():  # keys start with their hash tag (CLUSTER_HASH_TAGS)
        pattern = _hash_tags.wildcard(_hash_tags.family(namespace, "")) + pattern
    for alias, version in sorted({(t[0], t[1]) for t in targets}):
        cache = get_cache(alias)
        delete_pattern = getattr(cache, "delete_pattern", None)
        if callable(delete_pattern):
            deleted += int(delete_pattern(pattern, version=version) or 0)
            continue
        backend = getattr(cache, "_cache", None)
        get_client = getattr(backend, "get_client", None)
        if not callable(get_client):
            continue
        client = get_client(write=True)
        batch: list[Any] = []
        for raw in client.scan_iter(match=cache.make_key(pattern, version=version), count=1000):
            batch.append(raw)
            if len(batch) >= 1000:
                deleted += client.delete(*batch)
                batch.clear()
        if batch:
            deleted += client.delete(*batch)
    return deleted
