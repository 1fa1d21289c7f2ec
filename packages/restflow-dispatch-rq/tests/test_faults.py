"""A Redis that is down or hangs at enqueue time never blocks or loses a job."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.test import override_settings
from restflow_testbed.hanging_server import HangingServer, returns
from restflow_testbed.redis_server import RedisServer, free_port
from rq_testapp.processes import RqWorker

from restflow.dispatch.base import DispatchError
from restflow.dispatch.django_rq import DjangoRqDispatcher
from restflow.dispatch.testing import RECORD_JOB_PATH, Journal

pytestmark = [pytest.mark.broker]

QUEUE = "restflow-faults"

def _dispatcher(**extra: Any) -> DjangoRqDispatcher:
    config = {"queue": QUEUE, "function_path": RECORD_JOB_PATH, "publish_timeout": 0.5}
    return DjangoRqDispatcher(**{**config, **extra})


def _send(dispatcher: DjangoRqDispatcher, token: str, n: int = 0) -> None:
    rule_id = f"tests.faults#{token}#{n}"
    dispatcher.dispatch(rule_ids=[rule_id], rule_kwargs={rule_id: {"pk": n}},
                        model_label="tests.Thing", pk=n)



def _queues(url: str, *names: str) -> Any:
    return override_settings(RQ_QUEUES={name: {"URL": url} for name in names or (QUEUE,)})


def _fallback_log_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "restflow.dispatch"
            and "'django_rq' could not hand off" in r.getMessage()]


def test_redis_down_runs_jobs_inline_and_logs_once(
    private_redis: Callable[[], RedisServer], conformance_journal: Journal,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = private_redis()
    server.stop()
    token = uuid.uuid4().hex
    dispatcher = _dispatcher()
    with _queues(server.db_url(0)), caplog.at_level(logging.ERROR, logger="restflow.dispatch"):
        for n in range(3):
            assert returns(lambda n=n: _send(dispatcher, token, n)) is None
    jobs = conformance_journal.jobs(token)
    assert sorted(job["rule_kwargs"][job["rule_ids"][0]]["pk"] for job in jobs) == [0, 1, 2]
    assert {job["fallback"] for job in jobs} == {"inline"}
    assert {job["pid"] for job in jobs} == {os.getpid()}
    [record] = _fallback_log_records(caplog)
    assert "ConnectionError" in record.getMessage()


def test_hanging_redis_is_given_up_after_the_publish_timeout(
    conformance_journal: Journal, caplog: pytest.LogCaptureFixture
) -> None:
    token = uuid.uuid4().hex
    with HangingServer() as server, _queues(f"redis://127.0.0.1:{server.port}/0"), \
            caplog.at_level(logging.ERROR, logger="restflow.dispatch"):
        assert returns(lambda: _send(_dispatcher(), token)) is None
        assert server.accepted == 1  # no retry after a timeout
    [job] = conformance_journal.jobs(token)
    assert job["fallback"] == "inline"
    [record] = _fallback_log_records(caplog)
    assert "Timeout" in record.getMessage()


def test_publish_timeout_comes_from_the_settings_block(conformance_journal: Journal) -> None:
    token = uuid.uuid4().hex
    block = {"DISPATCHER_SETTINGS": {"django_rq": {"PUBLISH_TIMEOUT": 0.3}}}
    with HangingServer() as server, _queues(f"redis://127.0.0.1:{server.port}/0"), \
            override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": block}):
        dispatcher = DjangoRqDispatcher(queue=QUEUE, function_path=RECORD_JOB_PATH)
        assert dispatcher.publish_timeout() == 0.3
        assert returns(lambda: _send(dispatcher, token)) is None
    assert conformance_journal.jobs(token)[0]["fallback"] == "inline"


@pytest.mark.parametrize("outage", ["down", "hanging"])
def test_fallback_raise_reraises_and_runs_nothing(
    outage: str, conformance_journal: Journal
) -> None:
    token = uuid.uuid4().hex
    with HangingServer() as server:
        port = server.port if outage == "hanging" else free_port()
        with _queues(f"redis://127.0.0.1:{port}/0"):
            error = returns(lambda: _send(_dispatcher(fallback="raise"), token))
    assert isinstance(error, DispatchError)
    assert "django_rq" in str(error)
    assert conformance_journal.jobs(token) == []


def test_an_unknown_queue_name_falls_back_and_names_the_queue(
    broker_redis: RedisServer, conformance_journal: Journal, caplog: pytest.LogCaptureFixture
) -> None:
    token = uuid.uuid4().hex
    with _queues(broker_redis.db_url(0), "some-other-queue"), \
            caplog.at_level(logging.ERROR, logger="restflow.dispatch"):
        _send(_dispatcher(), token)
    assert conformance_journal.jobs(token)[0]["fallback"] == "inline"
    [record] = _fallback_log_records(caplog)
    assert QUEUE in record.getMessage()


def test_jobs_reach_the_worker_again_once_redis_is_back(
    private_redis: Callable[[], RedisServer], conformance_journal: Journal,
) -> None:
    server = private_redis()
    queue = f"restflow-restart-{uuid.uuid4().hex[:8]}"
    worker = RqWorker(server.db_url(0), [queue])
    try:
        worker.start()
        dispatcher = _dispatcher(queue=queue)
        before, during, after = (uuid.uuid4().hex for _ in range(3))
        with _queues(server.db_url(0), queue):
            _send(dispatcher, before)
            [job] = conformance_journal.wait_for(before, 1, 30)
            assert job["pid"] != os.getpid()
            # RQ's worker survives an outage while it waits for jobs (it reconnects with
            # back-off) but quits on one in its bookkeeping between jobs; in production a
            # supervisor restarts it. Take Redis away while it waits.
            assert worker.wait_for_log("dequeueing jobs on queues", 2), worker.log()

            server.stop()
            _send(dispatcher, during)  # the pooled connection is dead: inline
            assert conformance_journal.jobs(during)[0]["fallback"] == "inline"

            server.start()  # same port; the worker reconnects on its own
            _send(dispatcher, after)
            found = conformance_journal.wait_for(after, 1, 60)
            assert found, worker.log()
            [job] = found
            assert job["fallback"] is None
            assert job["pid"] != os.getpid()
    finally:
        worker.stop()
