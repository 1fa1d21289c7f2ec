"""The Celery task that runs a restflow-cache job on a worker."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from restflow.dispatch.celery.dispatcher import DEFAULT_TASK_NAME
from restflow.dispatch.worker import worker_entry

__all__ = ["task_run_cache_rules"]


@shared_task(name=DEFAULT_TASK_NAME)
def task_run_cache_rules(
    *, rule_ids: list[str], rule_kwargs: dict[str, dict[str, Any]], **context: Any
) -> None:
    """Run the rules of one job through the registered worker entry
    (restflow-cache's ``run_cache_rules``).

    ``context`` carries ``model_label``, ``pk`` and ``signal_type`` of the write that
    produced the job. Whether an error fails the task (so that Celery records FAILURE
    and applies your retry configuration) follows the ``RAISE_EXCEPTION`` resolution
    under the dispatcher name ``"celery"``.
    """
    worker_entry()(rule_ids, rule_kwargs, dispatcher_name="celery", context=context)
