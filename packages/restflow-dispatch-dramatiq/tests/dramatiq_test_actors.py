"""Actors of the tests: they run the conformance kit's recorder instead of restflow-cache."""

from __future__ import annotations

from typing import Any

from restflow.dispatch.testing import record_job

RECORD_ACTOR = "restflow.test.record"
RECORD_QUEUE = "restflow-conformance"
RAISING_ACTOR = "restflow.test.record_raising"
RAISING_QUEUE = "restflow-raise"


def record(rule_ids: list[str], rule_kwargs: dict[str, dict[str, Any]]) -> None:
    record_job(rule_ids, rule_kwargs, dispatcher_name="dramatiq")


def declare_test_actors() -> None:
    """Declare the recorder actors on the current broker (idempotent)."""
    import dramatiq

    broker = dramatiq.get_broker()
    if RECORD_ACTOR not in broker.actors:
        dramatiq.actor(actor_name=RECORD_ACTOR, queue_name=RECORD_QUEUE, max_retries=0)(record)
    if RAISING_ACTOR not in broker.actors:
        # One retry, quickly, then the dead-letter set.
        dramatiq.actor(
            actor_name=RAISING_ACTOR, queue_name=RAISING_QUEUE,
            max_retries=1, min_backoff=50, max_backoff=200,
        )(record)
