"""Blacklist reads on Django's ``RedisCache`` without its per-operation client.

Django's RedisCache builds a new ``redis.Redis`` object for every operation. On the
per-request hot path we keep one per configuration (it is thread-safe and shares the
connection pool of the client restflow-core keeps for it, ``shared_cache_client``), and
can split a read into "send now" and "read the reply later" so the round trip overlaps
the user query. A token's id and its family's record are read
together with the user's revocation epoch: one ``GET`` for one key, one ``MGET`` for
several, always one round trip. The readers return the stored values (``None`` for a
missing key; raw bytes on the direct Redis path, where an int is stored as its digits).
Other caches go through the public cache API.

The blacklist keeps one reader per configuration (weakly keyed by the kept client; per
cache object for other caches): the reader takes the cache as its first argument and
holds no reference to it, so a cache object Django drops is collected. (Under ASGI, and
under servers that start a thread per request, Django makes a cache object per request:
a reader that held its cache kept every one of them, and their Redis connections, alive.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.cache import BaseCache
from django.core.cache.backends.redis import RedisCacheClient

from restflow._redisclient import shared_cache_client

__all__ = ["reader_for", "starter_for"]


def _single_redis_client(cache: BaseCache) -> Any:
    """The reusable ``redis.Redis`` of Django's RedisCache with one server, else None:
    on the client restflow keeps per configuration (one set of connections for every
    thread, where Django would open new ones in each)."""
    client_wrapper = shared_cache_client(cache)
    if type(client_wrapper) is RedisCacheClient and len(getattr(client_wrapper, "_servers", ())) == 1:
        return client_wrapper.get_client(write=False)
    return None


def _values(reply: Any) -> list[Any]:
    """The values of a ``GET`` reply (a value or None) or an ``MGET`` reply (a list)."""
    return reply if isinstance(reply, list) else [reply]


def starter_for(cache: BaseCache) -> Any:
    """Pipelined ``GET``/``MGET`` on Django's RedisCache: ``start(cache, *keys)`` sends
    now and returns the function that reads the reply; ``False`` for other caches."""
    client = _single_redis_client(cache)
    if client is None:
        return False
    import redis

    from restflow._redisclient import connection_getter

    retryable = (redis.ConnectionError, redis.TimeoutError)
    pool = client.connection_pool
    get_connection = connection_getter(pool, "GET")

    def read_again(full_keys: list[str]) -> list[Any]:
        return _values(client.mget(full_keys) if len(full_keys) > 1 else client.get(full_keys[0]))

    def start(cache: BaseCache, *keys: str) -> Callable[[], list[Any]]:
        full_keys = [cache.make_and_validate_key(key) for key in keys]
        command = ("MGET", *full_keys) if len(full_keys) > 1 else ("GET", full_keys[0])
        try:
            connection = get_connection()
        except retryable:
            result = read_again(full_keys)  # the client retries, or raises
            return lambda: result
        try:
            connection.send_command(*command)
        except BaseException as exc:
            connection.disconnect()
            pool.release(connection)
            if not isinstance(exc, retryable):
                raise
            result = read_again(full_keys)
            return lambda: result

        def finish() -> list[Any]:
            try:
                return _values(connection.read_response())
            except retryable:
                connection.disconnect()
                return read_again(full_keys)
            except BaseException:
                connection.disconnect()
                raise
            finally:
                pool.release(connection)

        return finish

    return start


def _cluster_reader(cache: BaseCache) -> Callable[..., list[Any]] | None:
    """A django-redis-style backend (django-redis with a ``RedisCluster`` from its
    connection factory, django-valkey's cluster cache) whose client is a cluster client:
    its ``get_many`` sends one MGET, which a cluster refuses across slots. Read with
    the client's ``mget_nonatomic`` (one MGET per slot) and decode with the backend's own
    client wrapper; ``None`` for any other backend."""
    wrapper: Any = getattr(type(cache), "client", None) and getattr(cache, "client", None)
    needed = ("get_client", "make_key", "decode")
    if wrapper is None or not all(callable(getattr(wrapper, name, None)) for name in needed):
        return None
    try:
        client = wrapper.get_client(write=False)
    except NotImplementedError:  # a sharded client: no one client, its get_many works
        return None
    if not callable(getattr(client, "mget_nonatomic", None)):
        return None

    def read_cluster(cache: Any, *keys: str) -> list[Any]:
        wrapper = cache.client  # the backend's own (it refers to the cache: not kept)
        raw = client.mget_nonatomic([wrapper.make_key(key) for key in keys])
        return [None if value is None else wrapper.decode(value) for value in raw]

    return read_cluster


def reader_for(cache: BaseCache) -> Callable[..., list[Any]]:
    """``read(cache, *keys)``: the value of each key (``None`` when missing); one
    ``GET``/``MGET`` on Django's RedisCache with one server (through one reused
    client), else the public cache API. ``cache`` is the one given here.

    Django's RedisCache builds a new ``redis.Redis`` object for every operation; on
    the per-request hot path we keep one (it is thread-safe and shares the pool).
    """
    client = _single_redis_client(cache)
    if client is not None:

        def read_redis(cache: BaseCache, *keys: str) -> list[Any]:
            if len(keys) == 1:
                return [client.get(cache.make_and_validate_key(keys[0]))]
            return list(client.mget([cache.make_and_validate_key(key) for key in keys]))

        return read_redis

    clustered = _cluster_reader(cache)
    if clustered is not None:
        return clustered

    def read(cache: BaseCache, *keys: str) -> list[Any]:
        if len(keys) == 1:
            return [cache.get(keys[0])]
        found = cache.get_many(keys)
        return [found.get(key) for key in keys]

    return read
