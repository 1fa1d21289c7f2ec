"""restflow-cache rules through django-q2 and a real ``qcluster``: the shared end-to-end
scenarios.

The cluster consumes the default cluster (queue) on a private Redis (broker on db 0,
shared cache on db 2); the scenarios live in :mod:`restflow_testbed.broker_e2e`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
import redis
from djangoq_support import django_q_redis
from djangoq_testapp import cached
from restflow_testbed.broker_e2e import BrokerEndToEnd, Job, LiveWorker
from restflow_testbed.dispatch_fixtures import CACHE_DB
from restflow_testbed.redis_server import RedisServer, free_port
from restflow_testbed.worker_process import WorkerProcess


class TestDjangoQEndToEnd(BrokerEndToEnd):
    dispatcher = "django_q"
    cached = cached
    queue_option = "cluster"

    @pytest.fixture
    def e2e_live(self, qcluster: WorkerProcess, producer_redis: str,
                 broker_redis: RedisServer) -> LiveWorker:
        self.broker_url = producer_redis
        return LiveWorker("default", broker_redis.db_url(CACHE_DB), qcluster.log)

    def published(self, queue: str) -> list[Job]:
        from django_q.signing import SignedPackage

        client = redis.Redis.from_url(self.broker_url)
        try:
            # django-q2 signs and pickles each task package; a list per cluster, oldest first.
            tasks = [SignedPackage.loads(raw)
                     for raw in client.lrange(f"django_q:{queue}:q", 0, -1)]
        finally:
            client.close()
        assert all(task["func"] == "restflow.caching.tasks.run_cache_rules" for task in tasks)
        assert all(task["kwargs"] == {"dispatcher_name": "django_q"} for task in tasks)
        return [(task["args"][0], task["args"][1]) for task in tasks]

    @contextlib.contextmanager
    def unreachable_broker(self) -> Iterator[None]:
        with django_q_redis(f"redis://127.0.0.1:{free_port()}/0"):
            yield
