"""Broker outages at publish time and worker-side errors, with real Redis and workers."""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from dramatiq_support import use_broker
from dramatiq_test_actors import (
    RAISING_ACTOR,
    RAISING_QUEUE,
    RECORD_ACTOR,
    RECORD_QUEUE,
    declare_test_actors,
)
from restflow_testbed.hanging_server import returns
from restflow_testbed.redis_server import RedisServer
from restflow_testbed.worker_process import wait_until

from restflow.dispatch.base import DispatchError
from restflow.dispatch.dramatiq import DramatiqDispatcher
from restflow.dispatch.testing import RECORD_JOB_PATH, Journal

pytestmark = [pytest.mark.redis, pytest.mark.broker]


def _dispatcher(**extra: Any) -> DramatiqDispatcher:
    config = {"actor_name": RECORD_ACTOR, "queue": RECORD_QUEUE,
              "function_path": RECORD_JOB_PATH, "publish_timeout": 0.3}
    return DramatiqDispatcher(**{**config, **extra})


def _job(prefix: str) -> tuple[str, list[str], dict[str, dict[str, Any]]]:
    token = uuid.uuid4().hex
    rule_id = f"tests.dramatiq.{prefix}#{token}#0"
    return token, [rule_id], {rule_id: {"pk": 7}}



def test_broker_down_runs_the_job_inline_and_logs_once(
    private_redis: Callable[[], RedisServer], conformance_journal: Journal,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from dramatiq.brokers.redis import RedisBroker

    server = private_redis()
    broker = RedisBroker(url=server.db_url(0))
    with use_broker(broker), caplog.at_level(logging.ERROR, logger="restflow.dispatch"):
        declare_test_actors()
        dispatcher = _dispatcher()
        token, ids, kwargs = _job("up")
        dispatcher.dispatch(rule_ids=ids, rule_kwargs=kwargs)
        assert broker.client.llen(f"dramatiq:{RECORD_QUEUE}") == 1  # went to the broker
        assert conformance_journal.jobs(token) == []

        server.stop()
        down = [_job("down") for _ in range(3)]
        for _, ids, kwargs in down:
            assert returns(lambda i=ids, k=kwargs: dispatcher.dispatch(  # type: ignore[misc]
                rule_ids=i, rule_kwargs=k, model_label="tests.Thing", pk=7)) is None
        for token, _ids, _ in down:
            [job] = conformance_journal.jobs(token)
            assert (job["fallback"], job["pid"], job["dispatcher_name"]) == (
                "inline", os.getpid(), "dramatiq")
        outage_logs = [r for r in caplog.records if "'dramatiq'" in r.getMessage()]
        assert len(outage_logs) == 1, "the outage is logged once per interval, not per job"

        server.start()
        token, ids, kwargs = _job("back")
        dispatcher.dispatch(rule_ids=ids, rule_kwargs=kwargs)
        assert conformance_journal.jobs(token) == []  # queued again, not run here
        assert broker.client.llen(f"dramatiq:{RECORD_QUEUE}") == 1  # restarted empty
    broker.close()


def test_broker_down_with_fallback_raise_raises(
    closed_port: int, conformance_journal: Journal
) -> None:
    from dramatiq.brokers.redis import RedisBroker

    with use_broker(RedisBroker(url=f"redis://127.0.0.1:{closed_port}/0")):
        declare_test_actors()
        token, ids, kwargs = _job("raise")
        with pytest.raises(DispatchError, match=r"dramatiq.*ConnectionError"):
            _dispatcher(fallback="raise").dispatch(rule_ids=ids, rule_kwargs=kwargs)
    assert conformance_journal.jobs(token) == []


def test_hanging_broker_times_out_and_runs_the_job_inline(
    hanging_server: int, conformance_journal: Journal
) -> None:
    from dramatiq.brokers.redis import RedisBroker

    with use_broker(RedisBroker(url=f"redis://127.0.0.1:{hanging_server}/0")):
        declare_test_actors()
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


def _dead_letters(client: Any, queue: str, token: str) -> list[dict[str, Any]]:
    raw = client.hvals(f"dramatiq:{queue}.XQ.msgs")
    messages = [json.loads(value) for value in raw]
    return [m for m in messages if any(token in rule_id for rule_id in m["args"][0])]



def test_worker_error_reaches_dramatiq_retries_and_dead_letters_when_policy_raises(
    raising_dramatiq_worker: Any, producer_broker: Any, conformance_journal: Journal
) -> None:
    token, ids, _ = _job("policy-raise")
    DramatiqDispatcher(actor_name=RAISING_ACTOR, queue=RAISING_QUEUE).dispatch(
        rule_ids=ids, rule_kwargs={ids[0]: {"__fail__": True}})
    client = producer_broker.client
    assert wait_until(lambda: bool(_dead_letters(client, RAISING_QUEUE, token))), (
        "the failed message never reached the dead-letter set")
    jobs = conformance_journal.jobs(token)
    assert len(jobs) == 2  # the first run and Retries' one retry
    assert all(job["raised"] is True and job["pid"] != os.getpid() for job in jobs)
    [dead] = _dead_letters(client, RAISING_QUEUE, token)
    assert dead["options"]["retries"] == 1


def test_worker_error_is_swallowed_by_default(
    dramatiq_worker: Any, producer_broker: Any, conformance_journal: Journal
) -> None:
    token, ids, _ = _job("policy-swallow")
    _dispatcher().dispatch(rule_ids=ids, rule_kwargs={ids[0]: {"__fail__": True}})
    assert wait_until(lambda: bool(conformance_journal.jobs(token)))
    time.sleep(0.5)  # a retry, if any, would show up here
    [job] = conformance_journal.jobs(token)
    assert job["raised"] is False
    assert _dead_letters(producer_broker.client, RECORD_QUEUE, token) == []
