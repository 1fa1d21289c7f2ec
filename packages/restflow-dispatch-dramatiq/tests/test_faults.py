"""Broker outages at publish time and worker-side errors, with real Redis and workers.

The outage scenarios live in :mod:`restflow_testbed.broker_faults`; Dramatiq's handling
of a job that fails in the worker (its error policy, retries, dead letters) is tested here.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from collections.abc import Iterator
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
from restflow_testbed.broker_faults import BrokerFaults
from restflow_testbed.worker_process import wait_until

from restflow.dispatch.dramatiq import DramatiqDispatcher
from restflow.dispatch.testing import Journal

pytestmark = [pytest.mark.redis, pytest.mark.broker]


def _dead_letters(client: Any, queue: str, token: str) -> list[dict[str, Any]]:
    raw = client.hvals(f"dramatiq:{queue}.XQ.msgs")
    messages = [json.loads(value) for value in raw]
    return [m for m in messages if any(token in rule_id for rule_id in m["args"][0])]


class TestDramatiqFaults(BrokerFaults):
    dispatcher = "dramatiq"
    publish_timeout = 0.3

    def options(self) -> dict[str, Any]:
        return {**super().options(), "actor_name": RECORD_ACTOR, "queue": RECORD_QUEUE}

    @contextlib.contextmanager
    def producer_at(self, port: int, form: str) -> Iterator[None]:
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(url=f"redis://127.0.0.1:{port}/0")
        with use_broker(broker):
            declare_test_actors()
            yield
        broker.close()

    def queue_key(self) -> str:
        return f"dramatiq:{RECORD_QUEUE}"

    def test_worker_error_reaches_dramatiq_retries_and_dead_letters_when_policy_raises(
        self, raising_dramatiq_worker: Any, producer_broker: Any, conformance_journal: Journal
    ) -> None:
        token = uuid.uuid4().hex
        self.send(DramatiqDispatcher(actor_name=RAISING_ACTOR, queue=RAISING_QUEUE), token,
                  fail=True)
        client = producer_broker.client
        assert wait_until(lambda: bool(_dead_letters(client, RAISING_QUEUE, token))), (
            "the failed message never reached the dead-letter set")
        jobs = conformance_journal.jobs(token)
        assert len(jobs) == 2  # the first run and Retries' one retry
        assert all(job["raised"] is True and job["pid"] != os.getpid() for job in jobs)
        [dead] = _dead_letters(client, RAISING_QUEUE, token)
        assert dead["options"]["retries"] == 1

    def test_worker_error_is_swallowed_by_default(
        self, dramatiq_worker: Any, producer_broker: Any, conformance_journal: Journal
    ) -> None:
        token = uuid.uuid4().hex
        self.send(self.make_dispatcher(), token, fail=True)
        assert wait_until(lambda: bool(conformance_journal.jobs(token)))
        time.sleep(0.5)  # a retry, if any, would show up here
        [job] = conformance_journal.jobs(token)
        assert job["raised"] is False
        assert _dead_letters(producer_broker.client, RECORD_QUEUE, token) == []
