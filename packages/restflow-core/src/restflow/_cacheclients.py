"""Loading a cache alias's client library at start-up instead of at its first use.

Django's ``RedisCache`` imports redis-py when its client is first built, inside the first
request that touches the cache; django-redis imports its client class then. redis-py
alone takes 0.1-1 s to import (more on a busy machine), so the first requests of every
fresh worker stalled on it. restflow's ``AppConfig.ready()`` methods call
:func:`load_cache_client` for the aliases their hot paths read: the import then happens
while the worker boots (once in the master with ``gunicorn --preload``).

Only imports: no cache object is built and no connection is opened.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

__all__ = ["load_cache_client"]

logger = logging.getLogger("restflow.startup")

_DJANGO_REDIS_CLIENT = "django_redis.client.DefaultClient"
# Options of Django's RedisCache that name classes it imports when building its client.
_DJANGO_REDIS_OPTIONS = ("pool_class", "parser_class", "serializer")


def _import(path: str) -> Any:
    from django.utils.module_loading import import_string

    return import_string(path)


def _client_imports(backend: type, options: dict[str, Any]) -> list[str]:
    """Dotted paths the backend imports when its client is first used."""
    from django.core.cache.backends.redis import RedisCache

    if issubclass(backend, RedisCache):
        return ["redis"] + [
            options[name] for name in _DJANGO_REDIS_OPTIONS if isinstance(options.get(name), str)
        ]
    if backend.__module__.split(".", 1)[0] == "django_redis":
        return [str(options.get("CLIENT_CLASS") or _DJANGO_REDIS_CLIENT)]
    return []


def load_cache_client(alias: str) -> bool:
    """Import the backend of cache ``alias`` and the client library it would import on
    its first operation; ``False`` (logged at DEBUG) when that fails or the alias is not
    configured: the error is then reported where it always was, at first use."""
    from django.conf import settings

    config = getattr(settings, "CACHES", {}).get(alias)
    if not isinstance(config, dict) or not isinstance(config.get("BACKEND"), str):
        return False
    try:
        backend = _import(config["BACKEND"])
        options = config.get("OPTIONS") or {}
        for path in _client_imports(backend, options):
            if "." in path:
                _import(path)  # a class: "package.module.Class"
            else:
                importlib.import_module(path)
    except Exception:
        logger.debug("Could not load the client of cache %r at start-up", alias, exc_info=True)
        return False
    return True
