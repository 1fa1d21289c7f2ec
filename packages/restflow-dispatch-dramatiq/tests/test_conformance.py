"""The conformance kit, against a real ``dramatiq`` worker process on Redis."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from dramatiq_support import use_broker
from dramatiq_test_actors import RECORD_ACTOR, RECORD_QUEUE, declare_test_actors
from restflow_testbed.redis_server import free_port

from restflow.dispatch.base import Dispatcher
from restflow.dispatch.testing import RECORD_JOB_PATH, BrokerDispatcherConformance


@pytest.mark.broker
@pytest.mark.redis
@pytest.mark.usefixtures("dramatiq_worker")
class TestDramatiqConformance(BrokerDispatcherConformance):
    dispatcher = "dramatiq"

    def dispatcher_config(self) -> dict[str, Any]:
        # The worker's test actor records the job; function_path is what the inline
        # fallback runs when the broker cannot be reached.
        return {"actor_name": RECORD_ACTOR, "queue": RECORD_QUEUE, "function_path": RECORD_JOB_PATH,
                "publish_timeout": 0.5}

    @contextlib.contextmanager
    def broken_handoff(self, dispatcher: Dispatcher) -> Iterator[None]:
        """A Redis broker on a port nothing listens on."""
        from dramatiq.brokers.redis import RedisBroker

        with use_broker(RedisBroker(url=f"redis://127.0.0.1:{free_port()}/0")):
            declare_test_actors()
            yield
