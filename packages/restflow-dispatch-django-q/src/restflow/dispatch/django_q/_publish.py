"""A django-q Redis broker whose connection cannot block a request for long.

django-q2 reads ``Q_CLUSTER`` once, when ``django_q.conf`` is imported, and opens its
Redis connection without socket timeouts. restflow publishes through a broker of its own
built from the same ``Q_CLUSTER["redis"]`` configuration plus the publish timeout; the
queue (list key) is the one ``async_task`` would use. Other django-q brokers (ORM, SQS,
Mongo, IronMQ, a custom ``broker_class``, ``django_redis``) are used as configured.
"""

from __future__ import annotations

import threading
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from django_q.brokers.redis_broker import Redis as RedisBroker
from django_q.conf import Conf

__all__ = ["publish_broker"]

_lock = threading.Lock()
_brokers: dict[tuple[str, float, str], RedisBroker] = {}


def _uses_plain_redis() -> bool:
    others = (Conf.BROKER_CLASS, Conf.IRON_MQ, Conf.ORM, Conf.MONGO, Conf.DJANGO_REDIS)
    return not any(others) and not isinstance(Conf.SQS, dict)


def _connect(config: Any, timeout: float) -> redis.Redis:
    if isinstance(config, str):
        # Options given in the URL's query string (e.g. ?socket_timeout=5) win.
        return redis.Redis.from_url(
            config, socket_connect_timeout=timeout, socket_timeout=timeout
        )
    options = dict(config or {})
    for key in ("socket_connect_timeout", "socket_timeout"):
        if options.get(key) is None:
            options[key] = timeout
    options.setdefault("retry", Retry(NoBackoff(), 0))
    return redis.Redis(**options)


class _BoundedRedisBroker(RedisBroker):
    def __init__(self, list_key: str, timeout: float) -> None:
        self._publish_timeout = timeout
        super().__init__(list_key=list_key)

    def get_connection(self, list_key: str | None = None) -> redis.Redis:
        return _connect(Conf.REDIS, self._publish_timeout)


def publish_broker(cluster: str | None, timeout: float) -> RedisBroker | None:
    """The broker to publish to ``cluster`` with, or ``None`` for django-q's own."""
    if not _uses_plain_redis():
        return None
    list_key = cluster or Conf.CLUSTER_NAME
    key = (list_key, timeout, repr(Conf.REDIS))
    with _lock:
        broker = _brokers.get(key)
        if broker is None:
            broker = _brokers[key] = _BoundedRedisBroker(list_key, timeout)
        return broker
