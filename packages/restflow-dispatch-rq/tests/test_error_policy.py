"""Where a worker-side error ends up: RQ's failed-job registry, or the log."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from django.test import override_settings
from restflow_testbed.redis_server import RedisServer
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry, FinishedJobRegistry
from rq_testapp.processes import RqWorker

from restflow.dispatch.django_rq import DjangoRqDispatcher
from restflow.dispatch.testing import RECORD_JOB_PATH, Journal

pytestmark = [pytest.mark.broker]

RAISING = {"CACHE_SETTINGS": {"DISPATCHER_SETTINGS": {"django_rq": {"RAISE_EXCEPTION": True}}}}


@pytest.fixture(scope="module")
def raising_worker(conformance_journal: Journal, broker_redis: RedisServer) -> Iterator[str]:
    """A worker whose settings say ``django_rq.RAISE_EXCEPTION = True``."""
    queue = f"restflow-raising-{uuid.uuid4().hex[:8]}"
    with RqWorker(broker_redis.db_url(0), [queue], restflow_settings=RAISING) as worker:
        worker.start()
        yield queue


def _failing_job(queue: str, url: str) -> str:
    token = uuid.uuid4().hex
    rule_id = f"tests.policy#{token}#0"
    with override_settings(RQ_QUEUES={queue: {"URL": url}}):
        DjangoRqDispatcher(queue=queue, function_path=RECORD_JOB_PATH).dispatch(
            rule_ids=[rule_id], rule_kwargs={rule_id: {"__fail__": True}}
        )
    return token


def _jobs_in(registry_cls: type, queue: str, url: str, token: str,
             timeout: float = 30.0) -> list[Job]:
    client = redis.Redis.from_url(url)
    try:
        registry = registry_cls(queue, connection=client)
        deadline = time.monotonic() + timeout
        while True:
            jobs = [job for job in Job.fetch_many(registry.get_job_ids(), connection=client)
                    if job is not None and any(token in r for r in job.args[0])]
            if jobs or time.monotonic() >= deadline:
                return jobs
            time.sleep(0.05)
    finally:
        client.close()


def test_raise_exception_true_puts_the_job_in_the_failed_registry(
    raising_worker: str, broker_redis: RedisServer, conformance_journal: Journal
) -> None:
    token = _failing_job(raising_worker, broker_redis.db_url(0))
    [entry] = conformance_journal.wait_for(token, 1, 30)
    assert entry["raised"] is True
    [job] = _jobs_in(FailedJobRegistry, raising_worker, broker_redis.db_url(0), token)
    assert "RequestedFailure" in (job.latest_result().exc_string or "")


def test_default_policy_logs_and_the_job_finishes(
    rq_worker: RqWorker, session_queue: str, broker_redis: RedisServer, conformance_journal: Journal
) -> None:
    token = _failing_job(session_queue, broker_redis.db_url(0))
    [entry] = conformance_journal.wait_for(token, 1, 30)
    assert entry["raised"] is False
    assert _jobs_in(FinishedJobRegistry, session_queue, broker_redis.db_url(0), token)
    assert _jobs_in(FailedJobRegistry, session_queue, broker_redis.db_url(0), token, timeout=0) == []
    client = redis.Redis.from_url(broker_redis.db_url(0))
    try:
        assert Queue(session_queue, connection=client).count == 0
    finally:
        client.close()
