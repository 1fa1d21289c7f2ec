"""A custom dispatcher in drf-restflow's form: it overrides ``dispatch()`` and is
registered through ``restflow.caching``."""

from __future__ import annotations

from typing import Any, ClassVar

from restflow.caching import Dispatcher, register_dispatcher

#: What a consumer process would read; the test plays that consumer.
OUTBOX: list[dict[str, Any]] = []


@register_dispatcher
class OutboxDispatcher(Dispatcher):
    name: ClassVar[str] = "outbox"

    def dispatch(self, *, rule_ids: list[str], rule_kwargs: dict[str, Any], **context: Any) -> None:
        topic = self.settings().get("TOPIC")
        OUTBOX.append({"topic": topic, "rule_ids": rule_ids, "rule_kwargs": rule_kwargs})


def drain() -> int:
    """The consumer: run every queued job through restflow's worker entry."""
    from restflow.dispatch.worker import worker_entry

    jobs = list(OUTBOX)
    OUTBOX.clear()
    for job in jobs:
        worker_entry()(job["rule_ids"], job["rule_kwargs"], dispatcher_name="outbox")
    return len(jobs)
