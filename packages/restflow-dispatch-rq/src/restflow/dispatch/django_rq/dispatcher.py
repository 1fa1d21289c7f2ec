"""``DjangoRqDispatcher``: enqueue a job on a django-rq queue."""

from __future__ import annotations

from typing import Any, ClassVar

from restflow.dispatch.broker import DEFAULT_PUBLISH_TIMEOUT, BrokerDispatcher
from restflow.dispatch.worker import import_dotted

__all__ = ["DEFAULT_PUBLISH_TIMEOUT", "DEFAULT_QUEUE", "DjangoRqDispatcher"]

DEFAULT_QUEUE = "default"

_ROUTING_KEYS = ("queue", "function_path")


class DjangoRqDispatcher(BrokerDispatcher):
    """Enqueues each job on an RQ queue configured in ``RQ_QUEUES``.

    Options (per-rule ``dispatcher_config`` key, else the ``django_rq`` settings block;
    empty values are skipped):

    * ``queue`` / ``QUEUE``: the django-rq queue name (default ``"default"``).
    * ``function_path`` / ``FUNCTION_PATH``: the worker entry the job calls (default
      ``None``: the entry restflow-cache registers, ``restflow.caching.tasks.run_cache_rules``);
      also what runs inline when the enqueue fails.
    * ``publish_timeout`` / ``PUBLISH_TIMEOUT``: see :class:`BrokerDispatcher`; ``0``
      enqueues with the connection exactly as ``RQ_QUEUES`` configures it.

    Jobs are enqueued immediately, whatever django-rq's ``COMMIT_MODE``: restflow already
    waits for the transaction to commit before it dispatches.
    """

    name: ClassVar[str] = "django_rq"
    default_settings: ClassVar[dict[str, Any]] = {
        "QUEUE": DEFAULT_QUEUE, "FUNCTION_PATH": None, "PUBLISH_TIMEOUT": DEFAULT_PUBLISH_TIMEOUT
    }
    requires = ("django_rq", "django-rq", "rq", "restflow-dispatch-rq")

    # -- options ---------------------------------------------------------------------

    def queue_name(self) -> str:
        return str(self.config.get("queue") or self.settings().get("QUEUE") or DEFAULT_QUEUE)

    def batch_key(self) -> tuple[Any, ...]:
        return self.routed_batch_key(self.queue_name(), self.worker_path(), routing=_ROUTING_KEYS)

    # -- hand-off --------------------------------------------------------------------

    def _dispatch(
        self, *, rule_ids: list[str], rule_kwargs: dict[str, dict[str, Any]], **context: Any
    ) -> None:
        from restflow.dispatch.django_rq._publish import get_queue

        worker = import_dotted(self.worker_path())
        queue = get_queue(self.queue_name(), timeout=self.publish_timeout())
        queue.enqueue(worker, rule_ids, rule_kwargs, dispatcher_name=self.name)
