"""django-rq queues whose Redis connection bounds every socket call.

``django_rq.get_queue()`` builds a Redis client from ``RQ_QUEUES`` without socket
timeouts and with redis-py's default retries (several attempts with back-off), so a
Redis that is down or hangs would block the ``save()`` that triggered the job. With a
publish timeout, the queue gets a client of our own built from the same connection
settings, with that timeout on connect and on every read/write and with one immediate
reconnection on a connection error (for a connection that went stale after a Redis
restart), never a retry after a timeout. Clients are kept per process and per
connection settings, so enqueues reuse their connections.
"""

from __future__ import annotations

import inspect
import logging
import os
import threading
from typing import Any

from redis import BlockingConnectionPool, ConnectionPool, Redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry
from rq import Queue

import django_rq

__all__ = ["get_queue", "reset_connections"]

logger = logging.getLogger("restflow.dispatch.django_rq")

_clients: dict[tuple[Any, ...], Redis] = {}
_lock = threading.Lock()


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool | bytes)


def _bounded_client(base: Redis, timeout: float) -> Redis:
    """A client of our own with ``base``'s connection settings and ``timeout``, or ``base``.

    ``base`` (possibly a django-redis cache's client) is only read, never changed. A
    client or pool class of the project's own, or a redis-py that keeps its connection
    settings elsewhere, is used as configured, without the publish timeout.
    """
    pool = getattr(base, "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", None)
    connection_class = getattr(pool, "connection_class", None)
    if (
        type(base) is not Redis
        or type(pool) not in (ConnectionPool, BlockingConnectionPool)
        or not isinstance(kwargs, dict)
        or connection_class is None
    ):
        logger.debug("RQ client %s (pool %s) is used as configured (no publish timeout)",
                     type(base).__name__, type(pool).__name__)
        return base
    settings = {k: v for k, v in kwargs.items() if k not in ("retry",)}
    key = (
        os.getpid(),
        connection_class,
        tuple(sorted((k, v) for k, v in settings.items() if _plain(v))),
        timeout,
    )
    with _lock:
        client = _clients.get(key)
        if client is None:
            for stale in [k for k in _clients if k[0] != os.getpid()]:
                del _clients[stale]  # inherited through fork(): never reuse those sockets
            settings.update(
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
            )
            bounded = ConnectionPool(connection_class=connection_class, **settings)
            client = Redis(connection_pool=bounded)
            _clients[key] = client
    return client


def _enqueue_now_kwargs() -> dict[str, Any]:
    """Keyword that makes a DjangoRQ queue enqueue right away (any django-rq version)."""
    parameters = inspect.signature(django_rq.get_queue).parameters
    if "commit_mode" in parameters:
        return {"commit_mode": "auto"}
    return {"autocommit": True}


def get_queue(name: str, *, timeout: float | None) -> Queue:
    """The django-rq queue ``name``, with a bounded connection when ``timeout``."""
    kwargs = _enqueue_now_kwargs()
    if timeout:
        kwargs["connection"] = _bounded_client(django_rq.get_connection(name), timeout)
    queue: Queue = django_rq.get_queue(name, **kwargs)
    return queue


def reset_connections() -> None:
    """Close and forget every client (tests; after changing ``RQ_QUEUES``)."""
    with _lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        client.connection_pool.disconnect()
