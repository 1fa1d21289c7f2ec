"""``CeleryDispatcher``: publish a job as a Celery task message."""

from __future__ import annotations

import enum
from typing import Any, ClassVar

from restflow.dispatch.broker import DEFAULT_PUBLISH_TIMEOUT, BrokerDispatcher

__all__ = ["DEFAULT_PUBLISH_TIMEOUT", "DEFAULT_TASK_NAME", "CeleryDispatcher"]

DEFAULT_TASK_NAME = "restflow.caching.tasks.task_run_cache_rules"

# Options that select the message's destination; every other config key joins the
# batch key only when given, so that rules with different policies are not merged.
_ROUTING_KEYS = ("task_name", "queue")


def _signal_value(signal_type: Any) -> str | None:
    if isinstance(signal_type, enum.Enum):
        return str(signal_type.value)
    if isinstance(signal_type, str):
        return signal_type
    return None


def _json_pk(pk: Any) -> Any:
    """The primary key as a JSON value: ints and strings as they are, others as str."""
    if pk is None or isinstance(pk, bool | int | str):
        return pk
    return str(pk)  # a UUID, a Decimal, ...


def _kwargs_summary(kwargs: dict[str, Any]) -> str:
    """The message's ``kwargsrepr`` (shown by Flower and worker logs): everything but the
    per-rule keyword arguments, which can be large and which Celery's default ``saferepr``
    would walk on every publish (the body still carries them in full)."""
    shown = {name: value for name, value in kwargs.items() if name != "rule_kwargs"}
    shown["rule_kwargs"] = f"<{len(kwargs.get('rule_kwargs') or {})} rules>"
    return repr(shown)


class CeleryDispatcher(BrokerDispatcher):
    """Publishes each job to a Celery broker; a worker runs it.

    Options (per-rule ``dispatcher_config`` key, else the ``celery`` settings block):

    * ``task_name`` / ``TASK_NAME``: the task to call (default
      ``restflow.caching.tasks.task_run_cache_rules``). A task registered in this
      process is called with ``apply_async`` (honours ``task_always_eager``), any other
      name with ``send_task`` (a task that exists only on the workers).
    * ``queue`` / ``QUEUE``: the queue to route to; ``None`` uses Celery's routing.
    * ``publish_timeout`` / ``PUBLISH_TIMEOUT``: see :class:`BrokerDispatcher`; ``0``
      publishes with the Celery app's own connection and retry settings.
    """

    name: ClassVar[str] = "celery"
    default_settings: ClassVar[dict[str, Any]] = {
        "TASK_NAME": DEFAULT_TASK_NAME, "QUEUE": None, "PUBLISH_TIMEOUT": DEFAULT_PUBLISH_TIMEOUT
    }
    requires = ("celery", "celery", "celery", "restflow-dispatch-celery")

    # -- options ---------------------------------------------------------------------

    def task_name(self) -> str:
        name = self.config.get("task_name") or self.settings().get("TASK_NAME")
        return str(name or DEFAULT_TASK_NAME)

    def queue(self) -> str | None:
        value = self.config["queue"] if "queue" in self.config else self.settings().get("QUEUE")
        return str(value) if value else None

    def batch_key(self) -> tuple[Any, ...]:
        return self.routed_batch_key(self.task_name(), self.queue(), routing=_ROUTING_KEYS)

    # -- hand-off --------------------------------------------------------------------

    def task_kwargs(
        self, rule_ids: list[str], rule_kwargs: dict[str, dict[str, Any]], context: dict[str, Any]
    ) -> dict[str, Any]:
        """The keyword arguments of the task message."""
        return {
            "model_label": context.get("model_label"),
            "pk": _json_pk(context.get("pk")),
            "rule_ids": list(rule_ids),
            "signal_type": _signal_value(context.get("signal_type")),
            "rule_kwargs": rule_kwargs,
        }

    def _dispatch(
        self, *, rule_ids: list[str], rule_kwargs: dict[str, dict[str, Any]], **context: Any
    ) -> None:
        from restflow.dispatch.celery._publish import publish

        kwargs = self.task_kwargs(rule_ids, rule_kwargs, context)
        options: dict[str, Any] = {"argsrepr": "()", "kwargsrepr": _kwargs_summary(kwargs)}
        queue = self.queue()
        if queue:
            options["queue"] = queue
        publish(
            self.task_name(),
            kwargs,
            options,
            timeout=self.publish_timeout(),
        )
