"""The Celery app of the tests' worker processes and of the test process.

Broker and result backend come from the environment (the fixtures start private
servers), so the same module serves every worker a test starts.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from celery import Celery
from celery import _state as celery_state

BROKER_ENV = "RESTFLOW_TEST_CELERY_BROKER"
BACKEND_ENV = "RESTFLOW_TEST_CELERY_BACKEND"


def make_app(broker_url: str, backend_url: str | None = None) -> Celery:
    app = Celery("restflow_celery_tests", set_as_current=False)
    app.conf.update(
        broker_url=broker_url,
        result_backend=backend_url or None,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        worker_enable_remote_control=False,
        worker_prefetch_multiplier=4,
        task_acks_late=False,
        result_extended=True,
    )
    return app


@contextlib.contextmanager
def current_celery_app(app: Celery) -> Iterator[Celery]:
    """Make ``app`` Celery's current and default app for the block."""
    previous_default = celery_state.default_app
    previous_current = celery_state._tls.current_app
    app.set_current()
    app.set_default()
    try:
        yield app
    finally:
        celery_state.set_default_app(previous_default)
        celery_state._set_current_app(previous_current)
        from restflow.dispatch.celery._publish import reset_pools

        reset_pools()


app = make_app(os.environ.get(BROKER_ENV, "memory://"), os.environ.get(BACKEND_ENV))
app.autodiscover_tasks()
