"""The ``django_q`` dispatcher: queues each job with ``django_q.tasks.async_task``."""

from __future__ import annotations

from typing import Any, ClassVar

from restflow.dispatch.base import WORKER_FUNCTION_PATH, Dispatcher

__all__ = ["DEFAULT_PUBLISH_TIMEOUT", "DjangoQDispatcher"]

#: Seconds a publish may wait to connect to, or hear back from, django-q's Redis.
DEFAULT_PUBLISH_TIMEOUT = 2.0


def _require_django_q() -> None:
    try:
        import django_q  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "django-q2 is required by the 'django_q' dispatcher: "
            'pip install "restflow-cache[django-q]" (or restflow-dispatch-django-q)'
        ) from exc


def _check_publish_timeout(value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"publish_timeout must be a number of seconds > 0, got {value!r}")


class DjangoQDispatcher(Dispatcher):
    """Hands jobs to a django-q2 cluster (``python manage.py qcluster``).

    The task is ``async_task(function_path, rule_ids, rule_kwargs,
    dispatcher_name="django_q", [cluster=…], [group=…])``: the function travels as a
    dotted string and the arguments are JSON-native values, so nothing restflow queues
    depends on pickling code objects (django-q2 signs and pickles its task package).

    Options (per-rule ``dispatcher_config`` key, else ``DISPATCHER_SETTINGS["django_q"]``
    key in upper case): ``cluster``, ``group`` (passed only when set), ``function_path``
    (``restflow.caching.tasks.run_cache_rules``), ``publish_timeout`` (seconds, ``2``:
    the socket timeouts of the connection restflow publishes with when django-q uses its
    Redis broker, so a dead or hanging Redis makes the job fall back instead of blocking
    the request), ``fallback``.
    """

    name: ClassVar[str] = "django_q"
    supports_batching: ClassVar[bool] = True

    def validate_config(self) -> None:
        super().validate_config()
        _require_django_q()
        for key in ("cluster", "group", "function_path"):
            value = self.config.get(key)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"DjangoQDispatcher: {key} must be a str, got {value!r}")
        _check_publish_timeout(self.config.get("publish_timeout"))

    def cluster(self) -> str | None:
        return self.option("cluster") or None

    def group(self) -> str | None:
        return self.option("group") or None

    def worker_path(self) -> str:
        return str(self.option("function_path") or WORKER_FUNCTION_PATH)

    def publish_timeout(self) -> float:
        value = self.option("publish_timeout", DEFAULT_PUBLISH_TIMEOUT)
        _check_publish_timeout(value)
        return float(value)

    def batch_key(self) -> tuple[Any, ...]:
        return (DjangoQDispatcher, self.cluster(), self.group(), self.worker_path())

    def _dispatch(
        self, *, rule_ids: list[str], rule_kwargs: dict[str, dict[str, Any]], **context: Any
    ) -> None:
        from django_q.tasks import async_task
        from restflow.dispatch.django_q.publisher import publish_broker

        options: dict[str, Any] = {}
        cluster, group = self.cluster(), self.group()
        if cluster:
            options["cluster"] = cluster
        if group:
            options["group"] = group
        broker = publish_broker(cluster, self.publish_timeout())
        if broker is not None:
            options["broker"] = broker
        async_task(self.worker_path(), rule_ids, rule_kwargs, dispatcher_name=self.name, **options)
