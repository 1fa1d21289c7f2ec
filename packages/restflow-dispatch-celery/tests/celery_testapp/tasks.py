"""Tasks of the Celery tests' worker (found by ``autodiscover_tasks``)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from restflow.dispatch.testing import RequestedFailure, record_job

RECORD_TASK_NAME = "celery_testapp.record_job"


@shared_task(name=RECORD_TASK_NAME)
def record_job_task(
    *, rule_ids: list[str], rule_kwargs: dict[str, dict[str, Any]], **context: Any
) -> None:
    """Like restflow's task, but runs the conformance kit's recorder."""
    record_job(rule_ids, rule_kwargs, dispatcher_name="celery", context=context)


RETRYING_TASK_NAME = "celery_testapp.record_job_retrying"


@shared_task(
    name=RETRYING_TASK_NAME,
    autoretry_for=(RequestedFailure,),
    max_retries=2,
    default_retry_delay=0,
    retry_backoff=False,
)
def record_job_retrying(
    *, rule_ids: list[str], rule_kwargs: dict[str, dict[str, Any]], **context: Any
) -> None:
    """The recorder behind Celery's automatic retries (what a project may configure)."""
    record_job(rule_ids, rule_kwargs, dispatcher_name="celery", context=context)
