"""Declaring restflow's Dramatiq actor: one actor per name, on the queue it was asked for."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from restflow.dispatch.worker import worker_entry

if TYPE_CHECKING:
    import dramatiq

__all__ = [
    "DEFAULT_ACTOR_NAME",
    "DEFAULT_QUEUE",
    "DISPATCHER_NAME",
    "register_actor",
    "run_cache_rules_job",
]

DISPATCHER_NAME = "dramatiq"
DEFAULT_ACTOR_NAME = "restflow.task_run_cache_rules"
DEFAULT_QUEUE = "default"

_lock = threading.Lock()


def run_cache_rules_job(rule_ids: list[str], rule_kwargs: dict[str, dict[str, Any]]) -> None:
    """Body of restflow's actor: run the job through the registered worker entry."""
    worker_entry()(rule_ids, rule_kwargs, dispatcher_name=DISPATCHER_NAME)


def register_actor(
    actor_name: str | None = None, queue_name: str | None = None, **options: Any
) -> dramatiq.Actor[Any, Any]:
    """Declare restflow's actor ``actor_name`` on ``queue_name`` (on the current broker).

    ``None`` resolves from ``DISPATCHER_SETTINGS["dramatiq"]`` (``ACTOR_NAME``,
    ``QUEUE``). ``options`` go to :func:`dramatiq.actor` (e.g. ``max_retries``) when the
    actor is declared. Idempotent per broker and actor name: an actor already declared
    under that name (by restflow or by you) is returned as is. One Dramatiq actor lives
    on one queue, so asking for a declared name on another queue raises ``ValueError``.
    """
    from restflow.dispatch.dramatiq.dispatcher import DramatiqDispatcher

    # Resolved as the dispatcher resolves them (and the library checked on the way).
    resolved = DramatiqDispatcher(actor_name=actor_name or None, queue=queue_name or None)
    name, queue = resolved.actor_name(), resolved.queue_name()
    import dramatiq

    broker = dramatiq.get_broker()
    with _lock:
        existing: dramatiq.Actor[Any, Any] | None = broker.actors.get(name)
        if existing is not None:
            if existing.queue_name != queue:
                raise ValueError(
                    f"the Dramatiq actor {name!r} is declared on queue "
                    f"{existing.queue_name!r}, not {queue!r}; one actor lives on one queue: "
                    f"give the rule routed to {queue!r} its own actor_name"
                )
            return existing
        declare = dramatiq.actor(actor_name=name, queue_name=queue, broker=broker, **options)
        return declare(run_cache_rules_job)
