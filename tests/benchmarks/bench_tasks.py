"""Worker-side helpers of the broker comparison: the no-op jobs and the worker modules.

``noop(key)`` is each broker's reference round trip: it writes one cache key (the same
kind of single cache write an invalidation performs) so the producer can see it ran.
"""

from __future__ import annotations


def noop(key: str) -> None:
    from django.core.cache import caches

    caches["default"].set(key, 1, 60)


def celery_app() -> object:
    """The Celery app of producer and worker (``celery -A bench_celery worker``)."""
    from celery import Celery
    from django.conf import settings

    app = Celery("restflow_bench", set_as_current=False)
    app.conf.update(
        broker_url=settings.CELERY_URL,
        task_serializer="json",
        accept_content=["json"],
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        worker_enable_remote_control=False,
        task_ignore_result=True,
    )
    app.task(name="bench.noop")(noop)
    import restflow.dispatch.celery.tasks  # noqa: F401  (restflow's shared task)

    return app


def dramatiq_broker() -> object:
    import dramatiq
    from django.conf import settings
    from dramatiq.brokers.redis import RedisBroker

    broker = RedisBroker(url=settings.DRAMATIQ_URL)
    dramatiq.set_broker(broker)
    dramatiq.actor(actor_name="bench_noop", queue_name="default")(noop)
    return broker
