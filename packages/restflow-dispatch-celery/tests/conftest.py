from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery
from restflow_testbed.redis_server import RedisServer

from restflow.dispatch import registry
from restflow.dispatch.testing import conformance_journal  # noqa: F401  (fixture)
from restflow.log import reset_log_throttle

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from celery_testapp.celery_app import current_celery_app, make_app
from celery_testapp.processes import CeleryWorker


@pytest.fixture(autouse=True)
def _clean_dispatch_state() -> Iterator[None]:
    explicit = dict(registry._explicit)
    reset_log_throttle()
    yield
    registry._explicit.clear()
    registry._explicit.update(explicit)


@pytest.fixture(scope="session")
def celery_redis() -> Iterator[RedisServer]:
    """A private Redis: broker on db 0, result backend on db 1, shared cache on db 2."""
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def celery_queue() -> str:
    return f"restflow-tests-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def celery_worker(
    request: pytest.FixtureRequest, celery_redis: RedisServer, celery_queue: str
) -> Iterator[CeleryWorker]:
    """A real worker on the private Redis, consuming the session's queue."""
    request.getfixturevalue("conformance_journal")  # sets the journal for the worker
    worker = CeleryWorker(
        celery_redis.db_url(0), [celery_queue], backend_url=celery_redis.db_url(1),
        env={"RESTFLOW_TEST_CACHE_URL": celery_redis.db_url(2)},
    )
    try:
        worker.start()
        yield worker
    finally:
        worker.cleanup()


@pytest.fixture
def celery_app(celery_redis: RedisServer) -> Iterator[Celery]:
    """The producer side: an app on the private Redis, current for the test."""
    app = make_app(celery_redis.db_url(0), celery_redis.db_url(1))
    with current_celery_app(app):
        yield app
    app.close()
