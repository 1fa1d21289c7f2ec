"""Bounding how long a publish may block on an unreachable or hanging Redis broker."""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["DEFAULT_PUBLISH_TIMEOUT", "bound_redis_broker", "check_publish_timeout"]

logger = logging.getLogger("restflow.dispatch.dramatiq")

#: Seconds a publish may wait to connect to, or hear back from, a Redis broker.
DEFAULT_PUBLISH_TIMEOUT = 2.0

_TIMEOUT_KEYS = ("socket_connect_timeout", "socket_timeout")


def check_publish_timeout(value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"publish_timeout must be a number of seconds > 0, got {value!r}")


def bound_redis_broker(broker: Any, timeout: float) -> None:
    """Give a ``RedisBroker``'s client socket timeouts when it has none of its own.

    Without them a publish to a Redis server that accepts connections but never answers
    blocks the saving request forever. Timeouts the project configured (for instance
    ``?socket_timeout=5`` in the broker URL) are kept. Other brokers are left alone.
    """
    from dramatiq.brokers.redis import RedisBroker

    if not isinstance(broker, RedisBroker):
        return
    pool = getattr(broker.client, "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", None)
    if pool is None or not isinstance(kwargs, dict):
        return
    missing = [key for key in _TIMEOUT_KEYS if kwargs.get(key) is None]
    if not missing:
        return
    for key in missing:
        kwargs[key] = timeout
    # Idle connections were made without the timeouts: let them be made again.
    pool.disconnect(inuse_connections=False)
    logger.debug("bounded the Dramatiq Redis broker's %s to %ss", ", ".join(missing), timeout)
