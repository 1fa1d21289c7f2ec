"""The redis-py differences restflow's Redis fast paths depend on, and the one Django
``RedisCacheClient`` per configuration they send their commands through, in one place.

restflow-jwt's blacklist read and restflow-cache's hit read take connections from a
redis-py pool themselves. What a pool offers differs by release: ``get_connection()``
requires the command name up to redis-py 5.2 and deprecates any argument from 5.3;
newer releases record commands for OpenTelemetry inside ``execute_command``. Each gate
is decided here once per pool class or process.

Django makes a cache object per alias and thread, each with its own ``RedisCacheClient``
and connection pools. Under ASGI servers (uvicorn, Daphne; and ``runserver``) each
request's sync code runs in a thread of its own, so every request opened new Redis
connections: a TCP connect and a handshake before its first read, about a tenth of a
request's CPU in the rig (docs/benchmarks.md). :func:`shared_cache_client` keeps one client
per configuration and process, shared by every cache object Django makes for it.

restflow-core does not depend on redis: nothing here imports it until called.
"""

from __future__ import annotations

import functools
import inspect
import sys
import threading
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.core.signals import setting_changed
from django.dispatch import receiver

__all__ = ["connection_getter", "kept_client", "shared_cache_client", "stock_pool_class", "telemetry_on"]


@functools.cache
def _takes_command_name(pool_class: Any) -> bool:
    """Whether ``pool_class.get_connection`` requires the command name (redis-py < 5.3)."""
    try:
        parameters = inspect.signature(pool_class.get_connection).parameters
    except (TypeError, ValueError):
        return True  # unknown: every release accepts the name (5.3+ only warns)
    command_name = parameters.get("command_name")
    return command_name is not None and command_name.default is inspect.Parameter.empty


def connection_getter(pool: Any, command_name: str) -> Callable[[], Any]:
    """A callable taking a connection from ``pool`` for ``command_name``.

    redis-py 5.0-5.2 pools require the command name (a ``TypeError`` without it);
    5.3 and later take no argument and warn about one. Resolved once, outside the hot path.
    """
    if _takes_command_name(pool.__class__):
        return functools.partial(pool.get_connection, command_name)
    return pool.get_connection


@functools.cache
def stock_pool_class() -> type | None:
    """``redis.ConnectionPool`` on redis-py 6 and later; ``None`` otherwise, which keeps
    reads on redis-py's public path. Before 6, ``get_connection()`` needs the command name
    (up to 5.2), and a connection's own retry policy does not retry a read whose
    connection dropped the way ``execute_command`` does (5.x), so a hand-sent command
    would fail where the public call succeeds."""
    import redis

    pool_class: type = redis.ConnectionPool
    major = int(str(getattr(redis, "__version__", "0")).split(".", 1)[0] or 0)
    return None if major < 6 or _takes_command_name(pool_class) else pool_class


def telemetry_on() -> bool:
    """Whether redis-py's OpenTelemetry metrics (newer redis-py releases) are enabled: they
    record every command sent through ``execute_command``, so reads must take that path."""
    providers = sys.modules.get("redis.observability.providers")
    return providers is not None and bool(providers.get_observability_instance().is_enabled())


# -- one Django RedisCacheClient per configuration -------------------------------------
# False: every cache object's own client (Django's behaviour; the benchmark's "public" side).
SHARE_CLIENTS = True
# Server list -> [(OPTIONS, client)]: the clients kept, a few per server list (two aliases
# may name the same servers with different OPTIONS).
_shared: dict[tuple[str, ...], list[tuple[dict[str, Any], RedisCacheClient]]] = {}
_shared_lock = threading.Lock()
_PER_SERVERS = 8


@receiver(setting_changed)
def _forget_clients(*, setting: str, **kwargs: Any) -> None:
    if setting == "CACHES":
        _shared.clear()  # their pools close as the clients are collected


def shared_cache_client(cache: Any) -> Any:
    """The ``RedisCacheClient`` restflow sends its own commands on ``cache`` through;
    ``None`` unless ``cache`` is Django's ``RedisCache`` (the exact class) with its stock
    client class.

    One client per configuration (server list and ``OPTIONS``) and process: the client of
    the first cache object seen with it, built by Django's own code and then shared by
    every cache object Django makes for that configuration, in every thread. Its
    redis-py pools are thread-safe and start afresh in a forked child. Nothing is set on
    the cache object, and the cache object is not kept (the client does not refer to it).
    A configuration that changes (``CACHES`` overridden) gets a client of its own.
    """
    if type(cache) is not RedisCache:
        return None
    redis_cache: Any = cache  # the private attributes Django's RedisCache sets in __init__
    if redis_cache._class is not RedisCacheClient:
        return None
    if not SHARE_CLIENTS:
        return redis_cache._cache
    options = redis_cache._options
    servers = tuple(redis_cache._servers)
    for held_options, client in _shared.get(servers, ()):
        if held_options is options or held_options == options:
            return client
    with _shared_lock:
        kept = _shared.setdefault(servers, [])
        for held_options, client in kept:
            if held_options is options or held_options == options:
                return client
        client = redis_cache._cache
        kept.append((options, client))
        del kept[:-_PER_SERVERS]
        return client


def kept_client(cache: Any, method: str) -> Any:
    """The client :func:`shared_cache_client` keeps for ``cache``'s configuration when
    ``cache`` is Django's ``RedisCache`` with its own ``method`` (not replaced on the
    object); else ``None``. The caller then does what that method does (make and
    validate the key, convert the timeout, call the client's method of the same name) on
    the kept client: Django's per-thread cache object would connect for it under ASGI."""
    if getattr(getattr(cache, method, None), "__func__", None) is not getattr(RedisCache, method, None):
        return None
    return shared_cache_client(cache)
