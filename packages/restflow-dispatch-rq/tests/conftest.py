from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings
from restflow_testbed.redis_server import RedisServer

from restflow.dispatch import registry
from restflow.dispatch.testing import conformance_journal  # noqa: F401  (fixture)
from restflow.log import reset_log_throttle

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from rq_testapp.processes import RqWorker

from restflow.dispatch.django_rq._queues import reset_connections


@pytest.fixture(autouse=True)
def _clean_dispatch_state() -> Iterator[None]:
    explicit = dict(registry._explicit)
    reset_log_throttle()
    yield
    registry._explicit.clear()
    registry._explicit.update(explicit)
    reset_connections()


@pytest.fixture(scope="session")
def rq_redis() -> Iterator[RedisServer]:
    """A private Redis: queues on db 0, shared cache on db 2."""
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def rq_queue() -> str:
    return f"restflow-tests-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def rq_worker(
    request: pytest.FixtureRequest, rq_redis: RedisServer, rq_queue: str
) -> Iterator[RqWorker]:
    """A real ``rqworker`` consuming the session's queue."""
    request.getfixturevalue("conformance_journal")  # sets the journal for the worker
    worker = RqWorker(rq_redis.db_url(0), [rq_queue], cache_url=rq_redis.db_url(2))
    try:
        worker.start()
        yield worker
    finally:
        worker.cleanup()


@pytest.fixture
def rq_settings(rq_redis: RedisServer, rq_queue: str) -> Iterator[dict[str, dict[str, str]]]:
    """``RQ_QUEUES`` of the test process: the session's queue on the private Redis."""
    queues = {rq_queue: {"URL": rq_redis.db_url(0)}}
    with override_settings(RQ_QUEUES=queues):
        yield queues
