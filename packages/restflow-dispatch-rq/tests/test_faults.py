"""A Redis that is down or hangs at enqueue time never blocks or loses a job.

The shared scenarios live in :mod:`restflow_testbed.broker_faults`; django-rq's own
fault (a queue missing from ``RQ_QUEUES``) is tested here.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings
from restflow_testbed.broker_faults import BrokerFaults, PublishTimeoutSetting
from restflow_testbed.redis_server import RedisServer
from restflow_testbed.worker_process import WorkerProcess
from rq_testapp.processes import RqWorker

from restflow.dispatch.testing import Journal

pytestmark = [pytest.mark.broker]

QUEUE = "restflow-faults"


def _queues(url: str, *names: str) -> Any:
    return override_settings(RQ_QUEUES={name: {"URL": url} for name in names or (QUEUE,)})


class TestDjangoRqFaults(BrokerFaults, PublishTimeoutSetting):
    dispatcher = "django_rq"

    def options(self) -> dict[str, Any]:
        return {**super().options(), "queue": QUEUE}

    @contextlib.contextmanager
    def producer_at(self, port: int, form: str) -> Iterator[None]:
        with _queues(f"redis://127.0.0.1:{port}/0"):
            yield

    def new_worker(self, url: str) -> WorkerProcess:
        return RqWorker(url, [QUEUE])

    def worker_idle(self, worker: WorkerProcess) -> None:
        """RQ's worker survives an outage while it waits for jobs (it reconnects with
        back-off) but quits on one in its bookkeeping between jobs; in production a
        supervisor restarts it. Redis is taken away while it waits."""
        assert worker.wait_for_log("dequeueing jobs on queues", 2), worker.log()

    def test_an_unknown_queue_name_falls_back_and_names_the_queue(
        self, broker_redis: RedisServer, conformance_journal: Journal,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """A queue missing from ``RQ_QUEUES`` is a configuration fault, not an outage: the
        job still runs inline and the log names the queue to add."""
        token = uuid.uuid4().hex
        with _queues(broker_redis.db_url(0), "some-other-queue"), \
                caplog.at_level(logging.ERROR, logger="restflow.dispatch"):
            self.send(self.make_dispatcher(), token)
        assert conformance_journal.jobs(token)[0]["fallback"] == "inline"
        [record] = self.fallback_records(caplog)
        assert QUEUE in record.getMessage()
