"""A broker that is down or hangs at publish time never blocks or loses a job."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from celery import Celery
from celery_testapp.celery_app import current_celery_app, make_app
from celery_testapp.processes import CeleryWorker
from celery_testapp.tasks import RECORD_TASK_NAME
from django.test import override_settings
from restflow_testbed.hanging_server import HangingServer, returns
from restflow_testbed.redis_server import RedisServer, free_port

from restflow.dispatch.base import DispatchError
from restflow.dispatch.celery import CeleryDispatcher
from restflow.dispatch.testing import RECORD_JOB_PATH, Journal

pytestmark = [pytest.mark.broker]


def _dispatcher(**extra: Any) -> CeleryDispatcher:
    config = {"task_name": RECORD_TASK_NAME, "function_path": RECORD_JOB_PATH,
              "queue": "restflow-faults", "publish_timeout": 0.5}
    return CeleryDispatcher(**{**config, **extra})


def _send(dispatcher: CeleryDispatcher, token: str, n: int = 0) -> None:
    rule_id = f"tests.faults#{token}#{n}"
    dispatcher.dispatch(rule_ids=[rule_id], rule_kwargs={rule_id: {"pk": n}},
                        model_label="tests.Thing", pk=n)



@pytest.fixture
def app_on(request: pytest.FixtureRequest) -> Callable[[str], Celery]:
    apps: list[Celery] = []

    def use(url: str) -> Celery:
        app = make_app(url)
        apps.append(app)
        context = current_celery_app(app)
        context.__enter__()
        request.addfinalizer(lambda: context.__exit__(None, None, None))
        return app

    return use


def _fallback_log_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records
            if r.name == "restflow.dispatch" and "'celery' could not hand off" in r.getMessage()]


@pytest.mark.parametrize("scheme", ["redis", "amqp"])
def test_broker_down_runs_jobs_inline_and_logs_once(
    scheme: str, private_redis: Callable[[], RedisServer], app_on: Callable[[str], Celery],
    conformance_journal: Journal, caplog: pytest.LogCaptureFixture,
) -> None:
    if scheme == "redis":
        server = private_redis()
        url = server.db_url(0)
        server.stop()  # the broker goes down
    else:
        url = f"amqp://guest:guest@127.0.0.1:{free_port()}//"
    app_on(url)
    token = uuid.uuid4().hex
    dispatcher = _dispatcher()
    with caplog.at_level(logging.ERROR, logger="restflow.dispatch"):
        for n in range(3):
            assert returns(lambda n=n: _send(dispatcher, token, n)) is None
    jobs = conformance_journal.jobs(token)
    assert sorted(job["rule_kwargs"][job["rule_ids"][0]]["pk"] for job in jobs) == [0, 1, 2]
    assert {job["fallback"] for job in jobs} == {"inline"}
    assert {job["pid"] for job in jobs} == {os.getpid()}
    records = _fallback_log_records(caplog)
    assert len(records) == 1, "the outage must be logged once per interval, not per job"
    assert "OperationalError" in records[0].getMessage()


def test_hanging_broker_is_given_up_after_the_publish_timeout(
    app_on: Callable[[str], Celery], conformance_journal: Journal,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = uuid.uuid4().hex
    with HangingServer() as server:
        app_on(f"redis://127.0.0.1:{server.port}/0")
        with caplog.at_level(logging.ERROR, logger="restflow.dispatch"):
            assert returns(lambda: _send(_dispatcher(), token)) is None
        assert server.accepted >= 1  # it really talked to the hung server
    [job] = conformance_journal.jobs(token)
    assert job["fallback"] == "inline"
    [record] = _fallback_log_records(caplog)
    assert "Timeout" in record.getMessage()


def test_hanging_amqp_broker_is_given_up_too(
    app_on: Callable[[str], Celery], conformance_journal: Journal
) -> None:
    token = uuid.uuid4().hex
    with HangingServer() as server:
        app_on(f"amqp://guest:guest@127.0.0.1:{server.port}//")
        assert returns(lambda: _send(_dispatcher(), token)) is None
        assert server.accepted >= 1
    [job] = conformance_journal.jobs(token)
    assert job["fallback"] == "inline"


def test_publish_timeout_comes_from_the_settings_block(
    app_on: Callable[[str], Celery], conformance_journal: Journal
) -> None:
    token = uuid.uuid4().hex
    block = {"DISPATCHER_SETTINGS": {"celery": {"PUBLISH_TIMEOUT": 0.3}}}
    with HangingServer() as server, override_settings(
        RESTFLOW_SETTINGS={"CACHE_SETTINGS": block}
    ):
        app_on(f"redis://127.0.0.1:{server.port}/0")
        dispatcher = CeleryDispatcher(task_name=RECORD_TASK_NAME, function_path=RECORD_JOB_PATH)
        assert dispatcher.publish_timeout() == 0.3
        assert returns(lambda: _send(dispatcher, token)) is None
    assert conformance_journal.jobs(token)[0]["fallback"] == "inline"


@pytest.mark.parametrize("outage", ["down", "hanging"])
def test_fallback_raise_reraises_and_runs_nothing(
    outage: str, app_on: Callable[[str], Celery], conformance_journal: Journal
) -> None:
    token = uuid.uuid4().hex
    with HangingServer() as server:
        port = server.port if outage == "hanging" else free_port()
        app_on(f"redis://127.0.0.1:{port}/0")
        error = returns(lambda: _send(_dispatcher(fallback="raise"), token))
    assert isinstance(error, DispatchError)
    assert "celery" in str(error)
    assert conformance_journal.jobs(token) == []


def test_jobs_reach_the_worker_again_once_the_broker_is_back(
    private_redis: Callable[[], RedisServer], app_on: Callable[[str], Celery],
    conformance_journal: Journal,
) -> None:
    server = private_redis()
    queue = f"restflow-restart-{uuid.uuid4().hex[:8]}"
    worker = CeleryWorker(server.db_url(0), [queue])
    try:
        worker.start()
        app_on(server.db_url(0))
        dispatcher = _dispatcher(queue=queue)
        before, during, after = (uuid.uuid4().hex for _ in range(3))
        _send(dispatcher, before)
        [job] = conformance_journal.wait_for(before, 1, 30)
        assert job["pid"] == worker.pid

        server.stop()
        _send(dispatcher, during)  # the pooled connection is dead: inline
        assert conformance_journal.jobs(during)[0]["fallback"] == "inline"

        server.start()  # same port; the worker reconnects on its own
        _send(dispatcher, after)
        [job] = conformance_journal.wait_for(after, 1, 60)
        assert job["fallback"] is None
        assert job["pid"] == worker.pid
    finally:
        worker.stop()
