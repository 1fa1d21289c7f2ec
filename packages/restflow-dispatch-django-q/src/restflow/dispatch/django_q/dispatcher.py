"""The ``django_q`` dispatcher: queues each job with ``django_q.tasks.async_task``."""

from __future__ import annotations

from typing import Any, ClassVar

from restflow.dispatch.broker import DEFAULT_PUBLISH_TIMEOUT, BrokerDispatcher

__all__ = ["DEFAULT_PUBLISH_TIMEOUT", "DjangoQDispatcher"]


class DjangoQDispatcher(BrokerDispatcher):
    """Hands jobs to a django-q2 cluster (``python manage.py qcluster``).

    The task is ``async_task(function_path, rule_ids, rule_kwargs,
    dispatcher_name="django_q", [cluster=…], [group=…])``: the function travels as a
    dotted string and the arguments are JSON-native values, so nothing restflow queues
    depends on pickling code objects (django-q2 signs and pickles its task package).

    Options (per-rule ``dispatcher_config`` key, else ``DISPATCHER_SETTINGS["django_q"]``
    key in upper case): ``cluster``, ``group`` (passed only when set), ``function_path``
    (default: the worker entry restflow-cache registers,
    ``restflow.caching.tasks.run_cache_rules``), ``publish_timeout`` (seconds, ``2``:
    the socket timeouts of the connection restflow publishes with when django-q uses its
    Redis broker, so a dead or hanging Redis makes the job fall back instead of blocking
    the request; ``0``: django-q's own broker as configured), ``fallback``.
    """

    name: ClassVar[str] = "django_q"
    default_settings: ClassVar[dict[str, Any]] = {
        "CLUSTER": None, "GROUP": None, "FUNCTION_PATH": None,
        "PUBLISH_TIMEOUT": DEFAULT_PUBLISH_TIMEOUT,
    }
    requires = ("django_q", "django-q2", "django-q", "restflow-dispatch-django-q")

    def validate_config(self) -> None:
        super().validate_config()
        for key in ("cluster", "group", "function_path"):
            value = self.config.get(key)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"DjangoQDispatcher: {key} must be a str, got {value!r}")

    def cluster(self) -> str | None:
        return self.option("cluster") or None

    def group(self) -> str | None:
        return self.option("group") or None

    def batch_key(self) -> tuple[Any, ...]:
        return (DjangoQDispatcher, self.cluster(), self.group(), self.worker_path())

    def _dispatch(
        self, *, rule_ids: list[str], rule_kwargs: dict[str, dict[str, Any]], **context: Any
    ) -> None:
        from django_q.tasks import async_task
        from restflow.dispatch.django_q._publish import publish_broker

        options: dict[str, Any] = {}
        cluster, group = self.cluster(), self.group()
        if cluster:
            options["cluster"] = cluster
        if group:
            options["group"] = group
        timeout = self.publish_timeout()
        broker = publish_broker(cluster, timeout) if timeout else None
        if broker is not None:
            options["broker"] = broker
        async_task(self.worker_path(), rule_ids, rule_kwargs, dispatcher_name=self.name, **options)
