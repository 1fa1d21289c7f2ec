"""A broker that is down or hangs at publish time never blocks or loses a job.

The shared scenarios live in :mod:`restflow_testbed.broker_faults`; they run here on a
Redis broker and on an AMQP one (a port nothing listens on, or a hung server).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from celery_testapp.celery_app import current_celery_app, make_app
from celery_testapp.processes import CeleryWorker
from celery_testapp.tasks import RECORD_TASK_NAME
from restflow_testbed.broker_faults import BrokerFaults, PublishTimeoutSetting
from restflow_testbed.worker_process import WorkerProcess

pytestmark = [pytest.mark.broker]

QUEUE = "restflow-faults"


class TestCeleryFaults(BrokerFaults, PublishTimeoutSetting):
    dispatcher = "celery"
    down_error = "OperationalError"
    forms = ("redis", "amqp")
    reconnects_when_hung = True  # restflow's kombu retry policy allows one reconnection

    def options(self) -> dict[str, Any]:
        return {**super().options(), "task_name": RECORD_TASK_NAME, "queue": QUEUE}

    @contextlib.contextmanager
    def producer_at(self, port: int, form: str) -> Iterator[None]:
        url = (f"redis://127.0.0.1:{port}/0" if form == "redis"
               else f"amqp://guest:guest@127.0.0.1:{port}//")
        with current_celery_app(make_app(url)):
            yield

    def hang_error(self, form: str) -> str:
        """py-amqp's socket timeout reaches kombu as a plain "timed out"."""
        return "Timeout" if form == "redis" else "OperationalError: timed out"

    def new_worker(self, url: str) -> WorkerProcess:
        return CeleryWorker(url, [QUEUE])

    def ran_in(self, worker: WorkerProcess, job: dict[str, Any]) -> bool:
        """The solo pool runs each task in the worker's own process."""
        return worker.proc is not None and job["pid"] == worker.proc.pid
