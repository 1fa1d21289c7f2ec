"""Publishing a task message with a bounded connect-and-send time.

Celery's default publish path retries connecting for a long time and reads from the
broker without a socket timeout, so a broker that is down or hangs would block the
``save()`` that triggered the job. With a publish timeout, messages go through a
producer pool of our own whose connections carry that timeout, with at most one
reconnection attempt (which lets a connection that went stale after a broker restart
recover). On RabbitMQ each publish waits for the broker's confirmation, so a message the
broker did not take raises (and runs inline) instead of vanishing. Pools are per process
(a forked child builds its own) and per broker connection settings.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from kombu import Connection
from kombu.pools import ProducerPool

from celery import Celery, current_app

__all__ = ["publish"]

#: kombu ``retry_policy`` of a bounded publish: one reconnection, right away.
RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1}

_pools: dict[tuple[Any, ...], ProducerPool] = {}
_lock = threading.Lock()


def _transport_options(app: Celery, timeout: float) -> dict[str, Any]:
    """Transport options that bound every blocking socket call by ``timeout``."""
    options: dict[str, Any] = dict(RETRY_POLICY)
    driver = app.connection_for_write().transport.driver_type
    if driver == "redis":
        options.update(socket_timeout=timeout, socket_connect_timeout=timeout)
    elif driver == "amqp":
        # Publisher confirms: a message RabbitMQ did not take raises instead of vanishing.
        options.update(read_timeout=timeout, write_timeout=timeout, confirm_publish=True)
    return options


def _bounded_connection(app: Celery, timeout: float) -> Connection:
    return app.connection_for_write(
        connect_timeout=timeout, transport_options=_transport_options(app, timeout)
    )


def _pool_key(app: Celery, timeout: float) -> tuple[Any, ...]:
    """What the bounded connection of ``app`` depends on (cheap: no Connection built)."""
    conf = app.conf
    options = conf.broker_transport_options or {}
    return (
        os.getpid(),
        id(app),
        str(conf.broker_write_url),
        conf.broker_transport,
        repr(sorted(options.items(), key=lambda item: str(item[0]))),
        repr(conf.broker_use_ssl),
        timeout,
    )


def _producer_pool(app: Celery, timeout: float) -> ProducerPool:
    key = _pool_key(app, timeout)
    with _lock:
        pool = _pools.get(key)
        if pool is None:
            for stale in [k for k in _pools if k[0] != os.getpid()]:
                del _pools[stale]  # inherited through fork(): never reuse those sockets
            limit = max(int(app.conf.broker_pool_limit or 10), 1)
            connection = _bounded_connection(app, timeout)
            pool = ProducerPool(connection.Pool(limit=limit), limit=limit)
            _pools[key] = pool
    return pool


def _send(app: Celery, name: str, kwargs: dict[str, Any], options: dict[str, Any]) -> None:
    task = app.tasks.get(name)
    if task is not None:
        task.apply_async(kwargs=kwargs, **options)
    else:
        app.send_task(name, kwargs=kwargs, **options)


def publish(
    name: str,
    kwargs: dict[str, Any],
    options: dict[str, Any],
    *,
    timeout: float | None,
) -> None:
    """Send task ``name`` with ``kwargs`` on the current Celery app; raise on failure."""
    app: Celery = current_app._get_current_object()
    options = {**options, "serializer": "json"}
    if not timeout or app.conf.task_always_eager:
        _send(app, name, kwargs, options)
        return
    pool = _producer_pool(app, timeout)
    with pool.acquire(block=True, timeout=timeout) as producer:
        _send(
            app,
            name,
            kwargs,
            {**options, "producer": producer, "retry": True, "retry_policy": RETRY_POLICY},
        )


def reset_pools() -> None:
    """Forget every producer pool (tests; after changing the broker of an app)."""
    with _lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.force_close_all()
        pool.connections.force_close_all()
