"""Broker outages at publish time and worker-side errors, with real Redis and qclusters.

The outage scenarios live in :mod:`restflow_testbed.broker_faults`; they run with
django-q's Redis configured as a URL and as a dict. How a qcluster records a job that
fails in it (the error policy) is tested here.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from djangoq_support import RAISING_CLUSTER, django_q_redis
from restflow_testbed.broker_faults import BrokerFaults
from restflow_testbed.worker_process import wait_until

from restflow.dispatch.testing import RECORD_JOB_PATH, Journal

pytestmark = [pytest.mark.redis, pytest.mark.broker]


def _failures(token: str) -> list[Any]:
    from django_q.models import Failure

    return [task for task in Failure.objects.filter(func=RECORD_JOB_PATH)
            if any(token in rule_id for rule_id in task.args[0])]


class TestDjangoQFaults(BrokerFaults):
    dispatcher = "django_q"
    forms = ("url", "dict")
    publish_timeout = 0.3

    @contextlib.contextmanager
    def producer_at(self, port: int, form: str) -> Iterator[None]:
        config: Any = (f"redis://127.0.0.1:{port}/0" if form == "url"
                       else {"host": "127.0.0.1", "port": port, "db": 0})
        with django_q_redis(config):
            yield

    def queue_key(self) -> str:
        from django_q.conf import Conf

        return f"django_q:{Conf.CLUSTER_NAME}:q"

    @pytest.mark.django_db(transaction=True)
    def test_worker_error_is_recorded_as_a_failed_task_when_policy_raises(
        self, raising_qcluster: Any, conformance_journal: Journal
    ) -> None:
        token = uuid.uuid4().hex
        self.send(self.make_dispatcher(cluster=RAISING_CLUSTER, group="restflow-cache"), token,
                  fail=True)
        assert wait_until(lambda: bool(_failures(token))), "the failed task was never recorded"
        [failure] = _failures(token)
        assert failure.success is False
        assert failure.group == "restflow-cache"
        assert "RequestedFailure" in str(failure.result)
        assert failure.kwargs == {"dispatcher_name": "django_q"}
        [job] = conformance_journal.jobs(token)
        assert job["raised"] is True
        assert job["pid"] != os.getpid()

    @pytest.mark.django_db(transaction=True)
    def test_worker_error_is_swallowed_by_default(
        self, qcluster: Any, conformance_journal: Journal
    ) -> None:
        token = uuid.uuid4().hex
        self.send(self.make_dispatcher(), token, fail=True)
        assert wait_until(lambda: bool(conformance_journal.jobs(token)))
        [job] = conformance_journal.jobs(token)
        assert job["raised"] is False
        time.sleep(0.5)  # a failure record, if any, is saved by the monitor right after
        assert _failures(token) == []
