"""restflow-cache rules through Dramatiq and a real worker: the shared end-to-end scenarios.

The worker consumes restflow's default queue on a private Redis (broker on db 0, shared
cache on db 2); the scenarios live in :mod:`restflow_testbed.broker_e2e`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from dramatiq_support import use_broker
from dramatiq_testapp import cached
from restflow_testbed.broker_e2e import BrokerEndToEnd, Job, LiveWorker
from restflow_testbed.dispatch_fixtures import CACHE_DB
from restflow_testbed.redis_server import RedisServer, free_port
from restflow_testbed.worker_process import WorkerProcess

from restflow.dispatch.dramatiq.registration import DEFAULT_ACTOR_NAME


class TestDramatiqEndToEnd(BrokerEndToEnd):
    dispatcher = "dramatiq"
    cached = cached

    @pytest.fixture
    def e2e_live(self, dramatiq_worker: WorkerProcess, producer_broker: Any,
                 broker_redis: RedisServer) -> LiveWorker:
        self.client = producer_broker.client
        return LiveWorker("default", broker_redis.db_url(CACHE_DB), dramatiq_worker.log)

    def routing(self, queue: str) -> dict[str, Any]:
        """One Dramatiq actor lives on one queue: a queue of its own gets an actor of its own."""
        actor = DEFAULT_ACTOR_NAME if queue == "default" else f"restflow.e2e.{queue}"
        return {**super().routing(queue), "ACTOR_NAME": actor}

    def published(self, queue: str) -> list[Job]:
        # Dramatiq's Redis broker keeps the message ids in a list and the messages in a hash.
        ids = [raw.decode() for raw in self.client.lrange(f"dramatiq:{queue}", 0, -1)]
        messages = self.client.hmget(f"dramatiq:{queue}.msgs", ids) if ids else []
        return [tuple(json.loads(raw)["args"]) for raw in messages if raw]  # type: ignore[misc]

    @contextlib.contextmanager
    def unreachable_broker(self) -> Iterator[None]:
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(url=f"redis://127.0.0.1:{free_port()}/0")
        with use_broker(broker):
            yield
        broker.close()
