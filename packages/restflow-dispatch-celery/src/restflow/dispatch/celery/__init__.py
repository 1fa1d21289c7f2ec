"""Run restflow-cache jobs on Celery workers.

``CeleryDispatcher`` (registered as ``"celery"``) publishes each job as a call of the
shared task :data:`task_run_cache_rules`, registered under the name
``"restflow.caching.tasks.task_run_cache_rules"`` (the default ``TASK_NAME``). Workers
find the task through ``app.autodiscover_tasks()``: restflow-cache's ``tasks`` module
re-exports it when Celery is already imported, as it is in a worker.

This package imports without Celery installed; ``CeleryDispatcher()`` then raises
``ImportError`` ("celery is required") and :data:`task_run_cache_rules` is absent.
"""

from __future__ import annotations

from restflow.dispatch.celery.dispatcher import (
    DEFAULT_PUBLISH_TIMEOUT,
    DEFAULT_TASK_NAME,
    CeleryDispatcher,
)

__all__ = [
    "DEFAULT_PUBLISH_TIMEOUT",
    "DEFAULT_TASK_NAME",
    "CeleryDispatcher",
    "task_run_cache_rules",
]

try:
    from restflow.dispatch.celery.tasks import task_run_cache_rules
except ImportError:  # Celery is not installed: the dispatcher explains what to install.
    __all__.remove("task_run_cache_rules")
