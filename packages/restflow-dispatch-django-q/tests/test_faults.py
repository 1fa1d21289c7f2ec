"""Broker outages at publish time and worker-side errors, with real Redis and qclusters."""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from djangoq_support import RAISING_CLUSTER, django_q_redis
from restflow_testbed.hanging_server import returns
from restflow_testbed.redis_server import RedisServer
from restflow_testbed.worker_process import wait_until

from restflow.dispatch.base import DispatchError
from restflow.dispatch.django_q import DjangoQDispatcher
from restflow.dispatch.testing import RECORD_JOB_PATH, Journal

pytestmark = [pytest.mark.redis, pytest.mark.broker]


def _dispatcher(**extra: Any) -> DjangoQDispatcher:
    return DjangoQDispatcher(**{"function_path": RECORD_JOB_PATH, "publish_timeout": 0.3, **extra})


def _job(prefix: str) -> tuple[str, list[str], dict[str, dict[str, Any]]]:
    token = uuid.uuid4().hex
    rule_id = f"tests.django_q.{prefix}#{token}#0"
    return token, [rule_id], {rule_id: {"pk": 7}}




def test_broker_down_runs_the_job_inline_and_logs_once(
    private_redis: Callable[[], RedisServer], conformance_journal: Journal,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import redis
    from django_q.conf import Conf

    server = private_redis()
    client = redis.Redis.from_url(server.db_url(0))
    queue = f"django_q:{Conf.CLUSTER_NAME}:q"
    with django_q_redis(server.db_url(0)), caplog.at_level(logging.ERROR,
                                                           logger="restflow.dispatch"):
        dispatcher = _dispatcher()
        token, ids, kwargs = _job("up")
        dispatcher.dispatch(rule_ids=ids, rule_kwargs=kwargs)
        assert client.llen(queue) == 1  # went to the broker
        assert conformance_journal.jobs(token) == []

        server.stop()
        down = [_job("down") for _ in range(3)]
        for _, ids, kwargs in down:
            assert returns(lambda i=ids, k=kwargs: dispatcher.dispatch(  # type: ignore[misc]
                rule_ids=i, rule_kwargs=k, model_label="tests.Thing", pk=7)) is None
        for token, _ids, _ in down:
            [job] = conformance_journal.jobs(token)
            assert (job["fallback"], job["pid"], job["dispatcher_name"]) == (
                "inline", os.getpid(), "django_q")
        outage_logs = [r for r in caplog.records if "'django_q'" in r.getMessage()]
        assert len(outage_logs) == 1, "the outage is logged once per interval, not per job"

        server.start()
        token, ids, kwargs = _job("back")
        dispatcher.dispatch(rule_ids=ids, rule_kwargs=kwargs)
        assert conformance_journal.jobs(token) == []  # queued again, not run here
        assert client.llen(queue) == 1  # the restarted server keeps nothing
    client.close()


def test_broker_down_with_fallback_raise_raises(
    closed_port: int, conformance_journal: Journal
) -> None:
    token, ids, kwargs = _job("raise")
    with django_q_redis(f"redis://127.0.0.1:{closed_port}/0"):
        with pytest.raises(DispatchError, match=r"django_q.*ConnectionError"):
            _dispatcher(fallback="raise").dispatch(rule_ids=ids, rule_kwargs=kwargs)
    assert conformance_journal.jobs(token) == []


@pytest.mark.parametrize("config", ["url", "dict"])
def test_hanging_broker_times_out_and_runs_the_job_inline(
    hanging_server: int, conformance_journal: Journal, config: str
) -> None:
    redis_config: Any = (f"redis://127.0.0.1:{hanging_server}/0" if config == "url"
                         else {"host": "127.0.0.1", "port": hanging_server, "db": 0})
    with django_q_redis(redis_config):
        token, ids, kwargs = _job("hang")
        assert returns(lambda: _dispatcher().dispatch(rule_ids=ids, rule_kwargs=kwargs)) is None
        [job] = conformance_journal.jobs(token)
        assert job["fallback"] == "inline"

        token, ids, kwargs = _job("hang-raise")
        error = returns(
            lambda: _dispatcher(fallback="raise").dispatch(rule_ids=ids, rule_kwargs=kwargs))
        assert isinstance(error, DispatchError)
        assert "Timeout" in str(error)
        assert conformance_journal.jobs(token) == []


def _failures(token: str) -> list[Any]:
    from django_q.models import Failure

    return [task for task in Failure.objects.filter(func=RECORD_JOB_PATH)
            if any(token in rule_id for rule_id in task.args[0])]


@pytest.mark.django_db(transaction=True)
def test_worker_error_is_recorded_as_a_failed_task_when_policy_raises(
    raising_qcluster: Any, conformance_journal: Journal
) -> None:
    token, ids, _ = _job("policy-raise")
    _dispatcher(cluster=RAISING_CLUSTER, group="restflow-cache").dispatch(
        rule_ids=ids, rule_kwargs={ids[0]: {"__fail__": True}})
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
    qcluster: Any, conformance_journal: Journal
) -> None:
    token, ids, _ = _job("policy-swallow")
    _dispatcher().dispatch(rule_ids=ids, rule_kwargs={ids[0]: {"__fail__": True}})
    assert wait_until(lambda: bool(conformance_journal.jobs(token)))
    [job] = conformance_journal.jobs(token)
    assert job["raised"] is False
    time.sleep(0.5)  # a failure record, if any, is saved by the monitor right after
    assert _failures(token) == []
