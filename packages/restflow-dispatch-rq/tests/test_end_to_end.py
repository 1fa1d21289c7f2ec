"""restflow-cache rules through django-rq and a real ``rqworker``: the shared end-to-end
scenarios.

The worker consumes the session's queue on a private Redis (queues on db 0, shared cache
on db 2); the scenarios live in :mod:`restflow_testbed.broker_e2e`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.test import override_settings
from restflow_testbed.broker_e2e import BrokerEndToEnd, Job, LiveWorker
from restflow_testbed.redis_server import RedisServer, free_port
from rq.job import Job as RqJob
from rq_testapp import cached
from rq_testapp.processes import RqWorker


class TestDjangoRqEndToEnd(BrokerEndToEnd):
    dispatcher = "django_rq"
    cached = cached

    @pytest.fixture
    def e2e_live(self, rq_worker: RqWorker, rq_settings: dict[str, Any], session_queue: str,
                 broker_redis: RedisServer) -> LiveWorker:
        self.queues_url = broker_redis.db_url(0)
        return LiveWorker(session_queue, broker_redis.db_url(2), rq_worker.log)

    @contextlib.contextmanager
    def producer_knows(self, queue: str) -> Iterator[None]:
        """django-rq publishes only to the queues named in ``RQ_QUEUES``."""
        from django.conf import settings

        with override_settings(RQ_QUEUES={**settings.RQ_QUEUES, queue: {"URL": self.queues_url}}):
            yield

    def published(self, queue: str) -> list[Job]:
        client = redis.Redis.from_url(self.queues_url)
        try:
            ids = [raw.decode() for raw in client.lrange(f"rq:queue:{queue}", 0, -1)]
            jobs = RqJob.fetch_many(ids, connection=client)
            return [(list(job.args[0]), dict(job.args[1])) for job in jobs if job is not None]
        finally:
            client.close()

    @contextlib.contextmanager
    def unreachable_broker(self) -> Iterator[None]:
        down = {self.live.queue: {"URL": f"redis://127.0.0.1:{free_port()}/0"}}
        with override_settings(RQ_QUEUES=down):
            yield
