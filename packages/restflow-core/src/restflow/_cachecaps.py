"""What a cache backend object can do that restflow relies on, decided without a
connection: whether its ``set_many`` takes a ``timeout``, and whether it has Django's
async methods (``aget_many`` ...).

Not every backend is a Django ``BaseCache``: django-valkey's caches have no async methods,
and its cluster cache's ``set_many`` is ``MSET`` (no ``timeout`` parameter: a second
positional argument would be taken as the *version*). Callers use these answers to pick a
fallback instead of failing, and restflow-cache's start-up check reports them.
"""

from __future__ import annotations

import inspect
from typing import Any

__all__ = ["acache_call", "has_async_methods", "set_many_takes_timeout"]

#: The async methods restflow calls on a cache (Django's ``BaseCache`` has them all).
ASYNC_METHODS = ("aget", "aget_many", "aset", "aadd", "adelete", "atouch", "aset_many")


def _takes(function: Any, name: str) -> bool | None:
    """Whether ``function`` accepts the keyword ``name``: ``None`` when it only forwards
    ``*args, **kwargs`` (or has no signature), so the answer is elsewhere."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.name == name and p.kind is not p.POSITIONAL_ONLY for p in parameters):
        return True
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return False


def set_many_takes_timeout(cache: Any) -> bool:
    """Whether ``cache.set_many(mapping, timeout=...)`` sets that expiry. A method that
    forwards everything (django-valkey's backends) is judged by its client wrapper's
    ``set_many``; one that cannot be judged is given the benefit of the doubt."""
    found = _takes(cache.set_many, "timeout")
    if found is None:
        wrapper = getattr(cache, "client", None)
        inner = getattr(wrapper, "set_many", None)
        found = _takes(inner, "timeout") if callable(inner) else None
    return found is not False


def has_async_methods(cache: Any) -> bool:
    """Whether ``cache`` has every async method restflow calls."""
    return all(callable(getattr(cache, name, None)) for name in ASYNC_METHODS)


async def acache_call(cache: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    """``await cache.a<name>(...)``; a backend without that async method (django-valkey's
    caches are not ``BaseCache`` and have none) runs ``cache.<name>(...)`` in the thread
    where Django's own async methods would. restflow-cache's storage calls and
    restflow-jwt's blacklist both go through it."""
    method = getattr(cache, f"a{name}", None)
    if method is None:
        from asgiref.sync import sync_to_async

        return await sync_to_async(getattr(cache, name), thread_sensitive=True)(*args, **kwargs)
    return await method(*args, **kwargs)
