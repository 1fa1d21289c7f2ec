"""Where a worker-side error ends up: Celery's result state and retries, or the log."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from celery import Celery
from celery_testapp.processes import CeleryWorker
from celery_testapp.tasks import RECORD_TASK_NAME, RETRYING_TASK_NAME
from restflow_testbed.redis_server import RedisServer

from restflow.dispatch.celery import CeleryDispatcher
from restflow.dispatch.testing import RECORD_JOB_PATH, Journal

pytestmark = [pytest.mark.broker]

RAISING = {"CACHE_SETTINGS": {"DISPATCHER_SETTINGS": {"celery": {"RAISE_EXCEPTION": True}}}}


@pytest.fixture(scope="module")
def raising_worker(
    conformance_journal: Journal, broker_redis: RedisServer
) -> Iterator[tuple[CeleryWorker, str]]:
    """A worker whose settings say ``celery.RAISE_EXCEPTION = True``."""
    queue = f"restflow-raising-{uuid.uuid4().hex[:8]}"
    with CeleryWorker(
        broker_redis.db_url(0), [queue], backend_url=broker_redis.db_url(1),
        env={"RESTFLOW_TEST_SETTINGS_JSON": json.dumps(RAISING)},
    ) as worker:
        worker.start()
        yield worker, queue


def _task_states(backend_url: str, token: str, timeout: float = 30.0,
                 until: str | None = None) -> list[dict[str, Any]]:
    """Task results stored by the worker for jobs carrying ``token``."""
    client = redis.Redis.from_url(backend_url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            found = []
            for key in client.scan_iter("celery-task-meta-*"):
                raw = client.get(key)
                meta = json.loads(raw) if raw else {}
                ids = (meta.get("kwargs") or {}).get("rule_ids") or []
                if any(token in rule_id for rule_id in ids):
                    found.append(meta)
            if (until is None and found) or any(m["status"] == until for m in found) \
                    or time.monotonic() >= deadline:
                return found
            time.sleep(0.05)
    finally:
        client.close()


def _failing_job(task_name: str, queue: str) -> str:
    """Publish a job that asks to fail to ``task_name`` on ``queue``; its token."""
    dispatcher = CeleryDispatcher(task_name=task_name, queue=queue, function_path=RECORD_JOB_PATH)
    token = uuid.uuid4().hex
    rule_id = f"tests.policy#{token}#0"
    dispatcher.dispatch(rule_ids=[rule_id], rule_kwargs={rule_id: {"__fail__": True}},
                        model_label="tests.Thing", pk=1)
    return token


def test_raise_exception_true_marks_the_task_failed(
    raising_worker: tuple[CeleryWorker, str], celery_app: Celery,
    broker_redis: RedisServer, conformance_journal: Journal,
) -> None:
    token = _failing_job(RECORD_TASK_NAME, raising_worker[1])
    [job] = conformance_journal.wait_for(token, 1, 30)
    assert job["raised"] is True
    [meta] = _task_states(broker_redis.db_url(1), token, until="FAILURE")
    assert meta["status"] == "FAILURE"
    assert meta["result"]["exc_type"] == "RequestedFailure"


def test_reraised_errors_drive_celery_autoretry(
    raising_worker: tuple[CeleryWorker, str], celery_app: Celery,
    broker_redis: RedisServer, conformance_journal: Journal,
) -> None:
    token = _failing_job(RETRYING_TASK_NAME, raising_worker[1])
    attempts = conformance_journal.wait_for(token, 3, 30)
    assert len(attempts) == 3  # the first run and max_retries=2 retries
    metas = _task_states(broker_redis.db_url(1), token, until="FAILURE")
    assert [m["status"] for m in metas] == ["FAILURE"]


def test_default_policy_logs_and_the_task_succeeds(
    celery_worker: CeleryWorker, celery_app: Celery, session_queue: str,
    broker_redis: RedisServer, conformance_journal: Journal,
) -> None:
    token = _failing_job(RECORD_TASK_NAME, session_queue)
    [job] = conformance_journal.wait_for(token, 1, 30)
    assert job["raised"] is False
    [meta] = _task_states(broker_redis.db_url(1), token, until="SUCCESS")
    assert meta["status"] == "SUCCESS"
    deadline = time.monotonic() + 10
    while token not in celery_worker.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "swallowed by the error policy" in celery_worker.log()
