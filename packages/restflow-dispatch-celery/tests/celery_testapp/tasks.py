"""Tasks of the Celery tests' worker (found by ``autodiscover_tasks``)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from restflow.dispatch.testing import record_job

RECORD_TASK_NAME = "celery_testapp.record_job"


@shared_task(name=RECORD_TASK_NAME)
def record_job_task(
    *, rule_ids: list[str], rule_kwargs: dict[str, dict[str, Any]], **context: Any
) -> None:
    """Like restflow's task, but runs the conformance kit's recorder."""
    record_job(rule_ids, rule_kwargs, dispatcher_name="celery", context=context)
