"""``DjangoRqDispatcher``: enqueue a job on a django-rq queue."""

from __future__ import annotations

from typing import Any, ClassVar

from restflow.dispatch.base import WORKER_FUNCTION_PATH, Dispatcher, import_dotted

__all__ = ["DEFAULT_PUBLISH_TIMEOUT", "DEFAULT_QUEUE", "DjangoRqDispatcher"]

DEFAULT_QUEUE = "default"

#: Seconds an enqueue may take (connect, then send) before the job runs inline instead.
DEFAULT_PUBLISH_TIMEOUT = 2.0

_ROUTING_KEYS = ("queue", "function_path")


def _require_django_rq() -> None:
    try:
        import django_rq  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "django-rq is required for the 'django_rq' dispatcher: "
            'pip install "restflow-cache[rq]" (or restflow-dispatch-rq)'
        ) from exc


class DjangoRqDispatcher(Dispatcher):
    """Enqueues each job on an RQ queue configured in ``RQ_QUEUES``.

    Options (per-rule ``dispatcher_config`` key, else the ``django_rq`` settings block;
    empty values are skipped):

    * ``queue`` / ``QUEUE``: the django-rq queue name (default ``"default"``).
    * ``function_path`` / ``FUNCTION_PATH``: the worker entry the job calls (default
      ``restflow.caching.tasks.run_cache_rules``); also what runs inline when the
      enqueue fails.
    * ``publish_timeout`` / ``PUBLISH_TIMEOUT``: seconds one enqueue may take to connect
      and send (default 2). A Redis that is down or hangs then fails the hand-off
      quickly, and restflow runs the job inline (or raises, with ``fallback="raise"``).
      ``0`` enqueues with the connection exactly as ``RQ_QUEUES`` configures it.

    Jobs are enqueued immediately, whatever django-rq's ``COMMIT_MODE``: restflow already
    waits for the transaction to commit before it dispatches.
    """

    name: ClassVar[str] = "django_rq"
    supports_batching: ClassVar[bool] = True

    def validate_config(self) -> None:
        super().validate_config()
        _require_django_rq()
        timeout = self.config.get("publish_timeout")
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0
        ):
            raise ValueError(
                f"DjangoRqDispatcher: publish_timeout must be a number of seconds >= 0, "
                f"got {timeout!r}"
            )

    # -- options ---------------------------------------------------------------------

    def queue_name(self) -> str:
        value = self.config.get("queue") or self.settings().get("QUEUE")
        return str(value or DEFAULT_QUEUE)

    def worker_path(self) -> str:
        value = self.config.get("function_path") or self.settings().get("FUNCTION_PATH")
        return str(value or WORKER_FUNCTION_PATH)

    def publish_timeout(self) -> float | None:
        """Seconds allowed for one enqueue, or ``None`` for the configured connection."""
        value = self.option("publish_timeout", DEFAULT_PUBLISH_TIMEOUT)
        return float(value) if value else None

    def batch_key(self) -> tuple[Any, ...]:
        key: tuple[Any, ...] = (DjangoRqDispatcher, self.queue_name(), self.worker_path())
        extra = sorted(
            (name, value) for name, value in self.config.items() if name not in _ROUTING_KEYS
        )
        return (*key, tuple(extra)) if extra else key

    # -- hand-off --------------------------------------------------------------------

    def _dispatch(
        self, *, rule_ids: list[str], rule_kwargs: dict[str, dict[str, Any]], **context: Any
    ) -> None:
        from restflow.dispatch.django_rq._queues import get_queue

        worker = import_dotted(self.worker_path())
        queue = get_queue(self.queue_name(), timeout=self.publish_timeout())
        queue.enqueue(worker, rule_ids, rule_kwargs, dispatcher_name=self.name)
