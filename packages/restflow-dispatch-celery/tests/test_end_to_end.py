"""restflow-cache rules through Celery and a real worker: the shared end-to-end scenarios.

The worker consumes the session's queue on a private Redis (broker on db 0, shared
cache on db 2); the scenarios live in :mod:`restflow_testbed.broker_e2e`.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Iterator

import pytest
import redis
from celery import Celery
from celery_testapp import cached
from celery_testapp.celery_app import current_celery_app, make_app
from celery_testapp.processes import CeleryWorker
from restflow_testbed.broker_e2e import BrokerEndToEnd, Job, LiveWorker
from restflow_testbed.redis_server import RedisServer, free_port


def _decoded(raw: bytes) -> Job:
    """The restflow job in a Celery task message as kombu's Redis transport keeps it."""
    message = json.loads(raw)
    body = message["body"]
    if message["properties"].get("body_encoding") == "base64":
        body = base64.b64decode(body)
    _args, kwargs, _embed = json.loads(body)
    return kwargs["rule_ids"], kwargs["rule_kwargs"]


class TestCeleryEndToEnd(BrokerEndToEnd):
    dispatcher = "celery"
    cached = cached

    @pytest.fixture
    def e2e_live(self, celery_worker: CeleryWorker, celery_app: Celery, session_queue: str,
                 broker_redis: RedisServer) -> LiveWorker:
        self.broker_url = broker_redis.db_url(0)
        return LiveWorker(session_queue, broker_redis.db_url(2), celery_worker.log)

    def published(self, queue: str) -> list[Job]:
        client = redis.Redis.from_url(self.broker_url)
        try:
            # kombu keeps a queue as lists named after it (one more per priority level),
            # pushing to the left: oldest last.
            keys = [key for key in client.scan_iter(f"{queue}*") if client.type(key) == b"list"]
            return [_decoded(raw) for key in keys for raw in reversed(client.lrange(key, 0, -1))]
        finally:
            client.close()

    @contextlib.contextmanager
    def unreachable_broker(self) -> Iterator[None]:
        app = make_app(f"redis://127.0.0.1:{free_port()}/0")
        with current_celery_app(app):
            yield
        app.close()
