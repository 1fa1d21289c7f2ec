"""Blacklist reads on Django's ``RedisCache`` without its per-operation client.

Django's RedisCache builds a new ``redis.Redis`` object for every operation. On the
per-request hot path we keep one per cache object (it is thread-safe and shares the
connection pool), and can split a ``GET`` into "send now" and "read the reply later" so
the round trip overlaps the user query. Other caches go through the public cache API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.cache import BaseCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

__all__ = ["reader_for", "starter_for"]


def _single_redis_client(cache: BaseCache) -> Any:
    """The reusable ``redis.Redis`` of Django's RedisCache with one server, else None."""
    client_wrapper = getattr(cache, "_cache", None)
    if (
        type(cache) is RedisCache
        and type(client_wrapper) is RedisCacheClient
        and len(getattr(client_wrapper, "_servers", ())) == 1
    ):
        return client_wrapper.get_client(write=False)
    return None


def starter_for(cache: BaseCache) -> Any:
    """Pipelined ``GET`` on Django's RedisCache: send now, read the reply later."""
    client = _single_redis_client(cache)
    if client is None:
        return False
    import redis

    from restflow._redisclient import connection_getter

    retryable = (redis.ConnectionError, redis.TimeoutError)
    pool = client.connection_pool
    get_connection = connection_getter(pool, "GET")

    def start(key: str) -> Callable[[], bool]:
        full_key = cache.make_and_validate_key(key)
        try:
            connection = get_connection()
        except retryable:
            result = client.get(full_key) is not None  # the client retries, or raises
            return lambda: result
        try:
            connection.send_command("GET", full_key)
        except BaseException as exc:
            connection.disconnect()
            pool.release(connection)
            if not isinstance(exc, retryable):
                raise
            result = client.get(full_key) is not None
            return lambda: result

        def finish() -> bool:
            try:
                return connection.read_response() is not None
            except retryable:
                connection.disconnect()
                return client.get(full_key) is not None
            except BaseException:
                connection.disconnect()
                raise
            finally:
                pool.release(connection)

        return finish

    return start


def reader_for(cache: BaseCache) -> Callable[[str], bool]:
    """A lookup for ``cache``; on Django's RedisCache with one server, one reused client.

    Django's RedisCache builds a new ``redis.Redis`` object for every operation; on
    the per-request hot path we keep one (it is thread-safe and shares the pool).
    Anything else goes through the public cache API.
    """
    client = _single_redis_client(cache)
    if client is not None:

        def read_redis(key: str) -> bool:
            return client.get(cache.make_and_validate_key(key)) is not None

        return read_redis

    def read(key: str) -> bool:
        return bool(cache.get(key))

    return read
