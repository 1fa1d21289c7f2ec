"""redis-py access for the two Redis operations on restflow's hot paths: the hit read
(one MGET, :func:`mget`) and the scope bump (one script call, :func:`script_set_many`).

Django's ``RedisCacheClient`` builds a new ``redis.Redis`` (and its response callback
table) for every operation; restflow keeps one client per connection pool.

A bump writes new tokens to many scope keys at once. Django's ``RedisCache.set_many``
sends ``MSET`` and one ``EXPIRE`` per key inside ``MULTI``/``EXEC``, django-redis one
``SET`` per key inside ``MULTI``/``EXEC``: with 100 rules, 100+ commands to pack, queue
and answer. The script sets every key with its expiry in one command, atomically like
the transaction (no other client sees half of it), and leaves the state ``set_many``
leaves: the same keys (the backend's ``make_key``), the same encoded values (its
serializer), the same expiry. A server that refuses scripts (an ACL without
``@scripting``, ``EVAL`` renamed away) is remembered per backend object (Django keeps one
per thread; in a weak table here, the backend itself is not changed) and written with
``set_many`` from then on. Any other error propagates, as ``set_many``'s would: a bump is
never degraded.
"""

from __future__ import annotations

import logging
import sys
import weakref
from typing import Any, cast

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

from restflow._redisclient import shared_cache_client, stock_pool_class, telemetry_on
from restflow.caching import _cluster, _replication

__all__ = ["mget", "redis_client", "script_set_many"]

logger = logging.getLogger("restflow.caching.storage")

# ARGV[1]: "EX", "PX" or "" (no expiry); ARGV[2]: the expiry; ARGV[i + 2]: value of KEYS[i].
_SET_ALL = """
local unit, expiry = ARGV[1], ARGV[2]
for i, key in ipairs(KEYS) do
  if unit == '' then
    redis.call('SET', key, ARGV[i + 2])
  else
    redis.call('SET', key, ARGV[i + 2], unit, expiry)
  end
end
return #KEYS
"""
_script: list[Any] = []
# Kept beside, never on, the objects they describe (a user's cache backend, Django's client):
# the redis.Redis kept per pool of a Django RedisCacheClient; the backends refusing scripts.
_clients: weakref.WeakKeyDictionary[Any, dict[int, tuple[Any, Any]]] = weakref.WeakKeyDictionary()
_refused_by: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()
# The packed MGET of each key list, per stock connection pool (beside the pool, not on it).
_packed: weakref.WeakKeyDictionary[Any, dict[tuple[str, ...], Any]] = weakref.WeakKeyDictionary()
_PACKED_LIMIT = 4096


# -- clients and the hit read ----------------------------------------------------------
def redis_client(backend: Any, write: bool = False) -> Any:
    """A ``redis.Redis`` on the pool Django's ``get_client()`` would pick (for a read or
    a write).

    Django builds a new ``redis.Redis`` (and its response-callback table) on every
    operation; that construction costs more CPU than the MGET itself. Clients are
    thread-safe and hold no connection of their own, so one per pool is kept, in a table
    of restflow's own (weakly keyed by Django's client object, which is left as it is).
    """
    pool = backend._get_connection_pool(write)
    clients = _clients.get(backend)
    if clients is None:
        clients = _clients.setdefault(backend, {})
    client = clients.get(id(pool))
    if client is None or client[0] is not pool:
        client = clients[id(pool)] = (pool, backend._client(connection_pool=pool))
    return client[1]


def mget(client: Any, made: list[str]) -> list[Any]:
    """``client.mget(made)``.

    On a stock ``redis.ConnectionPool`` (no client-side cache, no single-connection
    client, redis-py's telemetry off) the command is packed once per key list and pool and
    sent on a pooled connection under that connection's own retry policy, as
    ``execute_command`` does: a hit is one round trip, and redis-py's per-call packing and
    bookkeeping cost more CPU than the MGET itself. The reply is what ``execute_command``
    returns (MGET has no response callback).
    """
    if not made:
        return []
    if _cluster.is_cluster_client(client):
        node = _cluster.slot_client(client, made)
        if node is not None:  # one hash tag (CLUSTER_HASH_TAGS): one MGET on its primary
            try:
                return mget(node, made)
            except Exception as exc:  # MOVED, a failover: the cluster client follows them
                logger.debug("restflow: direct read of one slot failed (%s); read again", exc)
        return _cluster.mget(client, made)  # keys of several slots: one MGET per slot
    pool: Any = client.connection_pool
    if not _is_stock_pool(pool):
        return client.execute_command("MGET", *made, keys=made)
    packed_by_keys = _packed.get(pool)
    if packed_by_keys is None:
        if getattr(pool, "cache", None) is not None:
            return client.execute_command("MGET", *made, keys=made)
        packed_by_keys = _packed.setdefault(pool, {})
    if client.connection is not None or telemetry_on():
        return client.execute_command("MGET", *made, keys=made)
    wanted = tuple(made)
    conn = pool.get_connection()  # stock_pool_class(): this redis-py takes no argument
    try:
        packed = packed_by_keys.get(wanted)
        if packed is None:
            if len(packed_by_keys) >= _PACKED_LIMIT:
                packed_by_keys.clear()
            packed = packed_by_keys[wanted] = conn.pack_command("MGET", *made)
        return conn.retry.call_with_retry(
            lambda: _round_trip(conn, packed), lambda _error: conn.disconnect()
        )
    finally:
        pool.release(conn)


def _is_stock_pool(pool: Any) -> bool:
    """Exactly ``redis.ConnectionPool`` on a redis-py the packed read supports."""
    return type(pool) is stock_pool_class()


def _round_trip(conn: Any, packed: Any) -> Any:
    conn.send_packed_command(packed)
    return conn.read_response()


# -- scope bumps ----------------------------------------------------------------------
def script_set_many(
    cache: Any, mapping: dict[str, Any], timeout: int | None, version: int, acknowledged: bool = False
) -> bool:
    """Write ``mapping`` like ``cache.set_many`` in one script call; ``False`` (nothing
    written) when this backend cannot take that path and ``set_many`` must.
    ``acknowledged``: a scope bump, followed by ``WAIT`` under ``CLUSTER_WAIT_REPLICAS``."""
    target = _django_target(cache, mapping, timeout, version) or _django_redis_target(
        cache, mapping, timeout, version
    )
    if target is None:
        return _cluster_set_many(cache, mapping, timeout, version, acknowledged)
    if _refused_by.get(cache):  # exact classes only: hashable by identity
        return False
    client, keys, args = target
    if _cluster.is_cluster_client(client):
        _cluster.set_all(client, keys, args, acknowledged)
        return True
    from redis.exceptions import NoPermissionError, ResponseError

    try:
        _script_write(client, keys, args, acknowledged)
    except NoPermissionError as exc:
        _refused(cache, exc)
        return False
    except ResponseError as exc:
        if "unknown command" not in str(exc).lower():
            raise
        _refused(cache, exc)
        return False
    return True


def _cluster_set_many(
    cache: Any, mapping: dict[str, Any], timeout: int | None, version: int, acknowledged: bool
) -> bool:
    """Another django-redis-style backend whose client is a cluster client (django-valkey's
    cluster cache: its ``set_many`` is ``MSET`` without expiry) written per key with its
    expiry; ``False`` for any other backend."""
    found = _cluster.cluster_wrapper(cache, write=True)
    if found is None:
        return False
    wrapper, client = found
    written = _wrapper_write(wrapper, mapping, timeout, version)
    if written is None:
        return False
    _cluster.set_all(client, *written, acknowledged)
    return True


def _script_write(client: Any, keys: list[Any], args: list[Any], acknowledged: bool) -> None:
    """The script call of a bump; with ``CLUSTER_WAIT_REPLICAS`` followed by ``WAIT`` in
    the same pipeline (one connection: ``WAIT`` counts that connection's writes)."""
    need = _replication.wanted() if acknowledged else 0
    if not need:
        _set_all(client)(keys=keys, args=args, client=client)
        return
    pipe = client.pipeline(transaction=False)
    _set_all(client)(keys=keys, args=args, client=pipe)
    pipe.execute_command("WAIT", need, _replication.timeout_ms())
    acks = pipe.execute()[-1]
    pool_kwargs = getattr(getattr(client, "connection_pool", None), "connection_kwargs", {})
    _replication.check_acks(acks, f"{pool_kwargs.get('host')}:{pool_kwargs.get('port')}")


def _set_all(client: Any) -> Any:
    """redis-py's ``Script`` of :data:`_SET_ALL` (EVALSHA; loaded on first NOSCRIPT)."""
    if not _script:
        _script.append(client.register_script(_SET_ALL))
    return _script[0]


def _refused(cache: Any, exc: Exception) -> None:
    _refused_by[cache] = True
    logger.warning(
        "restflow: the Redis server of a %s refuses scripts (%s: %s); scope bumps use "
        "set_many (MULTI/EXEC) from now on",
        f"{type(cache).__module__}.{type(cache).__qualname__}",
        type(exc).__name__,
        exc,
    )


def _django_target(
    cache: Any, mapping: dict[str, Any], timeout: int | None, version: int
) -> tuple[Any, list[str], list[Any]] | None:
    """Django's ``RedisCache`` (exact classes, ``set_many`` not replaced)."""
    if (
        type(cache) is not RedisCache
        or getattr(cache.set_many, "__func__", None) is not RedisCache.set_many
    ):
        return None
    backend: Any = shared_cache_client(cache)  # one per configuration, not per thread
    if type(backend) is not RedisCacheClient:
        return None
    expiry = cache.get_backend_timeout(timeout)
    if expiry is not None and expiry <= 0:
        return None  # set_many writes then expires at once: leave that to it
    dumps = cast(Any, backend)._serializer.dumps  # Any: the stub has no _serializer
    keys = [cache.make_key(key, version=version) for key in mapping]
    args: list[Any] = ["EX" if expiry is not None else "", expiry or 0]
    args.extend(_encoded(mapping, dumps))
    return redis_client(backend, write=True), keys, args


def _django_redis_target(
    cache: Any, mapping: dict[str, Any], timeout: int | None, version: int
) -> tuple[Any, list[str], list[Any]] | None:
    """django-redis's ``RedisCache`` with its ``DefaultClient``, ``IGNORE_EXCEPTIONS`` off
    (with it on, ``set_many`` swallows errors: that path keeps its own behaviour)."""
    cache_module = sys.modules.get("django_redis.cache")
    client_module = sys.modules.get("django_redis.client.default")
    if (
        cache_module is None
        or client_module is None
        or type(cache) is not cache_module.RedisCache
        or getattr(cache.set_many, "__func__", None) is not cache_module.RedisCache.set_many
        or cache._ignore_exceptions
    ):
        return None
    client = cache.client
    if type(client) is not client_module.DefaultClient:
        return None
    written = _wrapper_write(client, mapping, timeout, version)
    return None if written is None else (client.get_client(write=True), *written)


def _wrapper_write(
    wrapper: Any, mapping: dict[str, Any], timeout: int | None, version: int
) -> tuple[list[Any], list[Any]] | None:
    """Keys and script arguments of a write through a django-redis-style client wrapper
    (its ``make_key`` and ``encode``; expiry in ms); ``None`` for an expiry of 0 or less,
    which ``set_many`` handles (it writes, then expires at once)."""
    expiry = None if timeout is None else int(timeout * 1000)
    if expiry is not None and expiry <= 0:
        return None
    keys = [wrapper.make_key(key, version=version) for key in mapping]
    args: list[Any] = ["PX" if expiry is not None else "", expiry or 0]
    args.extend(_encoded(mapping, wrapper.encode))
    return keys, args


def _encoded(mapping: dict[str, Any], encode: Any) -> list[Any]:
    """Each value encoded once per distinct object (a bump shares one token)."""
    out: list[Any] = []
    previous: Any = object()
    encoded: Any = None
    for value in mapping.values():
        if value is not previous:
            previous, encoded = value, encode(value)
        out.append(encoded)
    return out
