"""The ``dramatiq`` dispatcher: sends each job as a message to restflow's actor."""

from __future__ import annotations

from typing import Any, ClassVar

from restflow.dispatch.broker import DEFAULT_PUBLISH_TIMEOUT, BrokerDispatcher
from restflow.dispatch.dramatiq._publish import publishing_broker
from restflow.dispatch.dramatiq.registration import (
    DEFAULT_ACTOR_NAME,
    DEFAULT_QUEUE,
    DISPATCHER_NAME,
    register_actor,
)

__all__ = ["DramatiqDispatcher"]


class DramatiqDispatcher(BrokerDispatcher):
    """Hands jobs to Dramatiq workers through the broker set with ``dramatiq.set_broker``.

    Options (per-rule ``dispatcher_config`` key, else ``DISPATCHER_SETTINGS["dramatiq"]``
    key in upper case, else the default): ``queue`` (``"default"``), ``actor_name``
    (``"restflow.task_run_cache_rules"``), ``publish_timeout`` (seconds, ``2``: applied
    to a ``RedisBroker`` without socket timeouts of its own, by publishing through a
    private copy of it, never by changing it, so a dead or hanging Redis makes the job
    fall back instead of blocking the request; ``0``: the broker as configured),
    ``fallback``.
    The message carries ``args=(rule_ids, rule_kwargs)``, encoded as JSON by Dramatiq.
    """

    name: ClassVar[str] = DISPATCHER_NAME
    default_settings: ClassVar[dict[str, Any]] = {
        "QUEUE": DEFAULT_QUEUE, "ACTOR_NAME": DEFAULT_ACTOR_NAME,
        "PUBLISH_TIMEOUT": DEFAULT_PUBLISH_TIMEOUT,
    }
    requires = ("dramatiq", "dramatiq", "dramatiq", "restflow-dispatch-dramatiq")

    def validate_config(self) -> None:
        super().validate_config()
        for key in ("queue", "actor_name"):
            value = self.config.get(key)
            if value is not None and (not isinstance(value, str) or not value):
                raise ValueError(f"DramatiqDispatcher: {key} must be a non-empty str, got {value!r}")

    def queue_name(self) -> str:
        return str(self.option("queue") or DEFAULT_QUEUE)

    def actor_name(self) -> str:
        return str(self.option("actor_name") or DEFAULT_ACTOR_NAME)

    def batch_key(self) -> tuple[Any, ...]:
        return (DramatiqDispatcher, self.queue_name(), self.actor_name())

    def _dispatch(
        self, *, rule_ids: list[str], rule_kwargs: dict[str, dict[str, Any]], **context: Any
    ) -> None:
        actor = register_actor(self.actor_name(), self.queue_name())
        timeout = self.publish_timeout()
        broker = publishing_broker(actor.broker, timeout) if timeout else actor.broker
        if broker is actor.broker:
            actor.send(rule_ids, rule_kwargs)
        else:  # the same message, through the twin with socket timeouts
            broker.enqueue(actor.message(rule_ids, rule_kwargs))
