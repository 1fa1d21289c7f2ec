"""Bounding how long a publish may block on an unreachable or hanging Redis broker.

The project's broker is never changed. When its Redis client has no socket timeouts of
its own, messages are published through a private twin of it: a ``RedisBroker`` built
with dramatiq's and redis-py's public constructors on a connection pool of our own, with
the broker's connection settings plus the timeouts, its namespace, heartbeat settings
and middleware. Anything else (another broker class, a ``RedisBroker`` subclass, a
connection pool class of its own, or a library version whose constructors differ) is
published through as configured.
"""

from __future__ import annotations

import logging
import threading
import weakref
from typing import Any

__all__ = ["publishing_broker"]

logger = logging.getLogger("restflow.dispatch.dramatiq")

_TIMEOUT_KEYS = ("socket_connect_timeout", "socket_timeout")

# Twin brokers per project broker, keyed by (connection pool, timeout); they go with it.
_twins: weakref.WeakKeyDictionary[Any, dict[tuple[int, float], Any]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def publishing_broker(broker: Any, timeout: float) -> Any:
    """The broker to publish through: ``broker``, or a twin of it with socket timeouts.

    Without timeouts a publish to a Redis server that accepts connections but never
    answers blocks the saving request forever. Timeouts the project configured (for
    instance ``?socket_timeout=5`` in the broker URL) are kept: the broker is returned.
    """
    from redis import BlockingConnectionPool, ConnectionPool

    from dramatiq.brokers.redis import RedisBroker

    if type(broker) is not RedisBroker:  # a subclass may enqueue its own way
        return broker
    pool = getattr(broker.client, "connection_pool", None)
    settings = getattr(pool, "connection_kwargs", None)
    if type(pool) not in (ConnectionPool, BlockingConnectionPool) or not isinstance(settings, dict):
        return broker
    missing = [key for key in _TIMEOUT_KEYS if settings.get(key) is None]
    if not missing:
        return broker
    key = (id(pool), timeout)
    with _lock:
        twins = _twins.setdefault(broker, {})
        twin = twins.get(key)
        if twin is None:
            twin = _twin(broker, pool, {**settings, **dict.fromkeys(missing, timeout)})
            if twin is None:
                return broker
            twins[key] = twin
            logger.debug("publishing to the Dramatiq Redis broker with %s of %ss",
                         ", ".join(missing), timeout)
    return twin


def _twin(broker: Any, pool: Any, settings: dict[str, Any]) -> Any:
    from redis import ConnectionPool, Redis

    from dramatiq.brokers.redis import RedisBroker

    try:
        bounded = ConnectionPool(
            connection_class=pool.connection_class, max_connections=pool.max_connections, **settings
        )
        return RedisBroker(
            client=Redis(connection_pool=bounded),
            middleware=list(broker.middleware),
            namespace=broker.namespace,
            maintenance_chance=broker.maintenance_chance,
            heartbeat_timeout=broker.heartbeat_timeout,
            dead_message_ttl=broker.dead_message_ttl,
        )
    except (AttributeError, TypeError) as exc:  # another dramatiq or redis-py
        logger.debug("Dramatiq Redis broker published to as configured (no publish timeout): %s", exc)
        return None
