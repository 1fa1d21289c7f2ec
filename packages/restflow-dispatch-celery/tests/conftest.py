from __future__ import annotations

from collections.abc import Iterator

import pytest
from celery import Celery
from celery_testapp.celery_app import current_celery_app, make_app
from celery_testapp.processes import CeleryWorker
from restflow_testbed.dispatch_fixtures import BROKER_DB, CACHE_DB
from restflow_testbed.redis_server import RedisServer

#: The Celery result backend's database on the private Redis (``broker_redis``).
BACKEND_DB = 1


@pytest.fixture(scope="session")
def celery_worker(
    request: pytest.FixtureRequest, broker_redis: RedisServer, session_queue: str
) -> Iterator[CeleryWorker]:
    """A real worker on the private Redis, consuming the session's queue."""
    request.getfixturevalue("conformance_journal")  # sets the journal for the worker
    with CeleryWorker(
        broker_redis.db_url(BROKER_DB), [session_queue], backend_url=broker_redis.db_url(BACKEND_DB),
        env={"RESTFLOW_TEST_CACHE_URL": broker_redis.db_url(CACHE_DB)},
    ) as worker:
        worker.start()
        yield worker


@pytest.fixture
def celery_app(broker_redis: RedisServer) -> Iterator[Celery]:
    """The producer side: an app on the private Redis, current for the test."""
    app = make_app(broker_redis.db_url(BROKER_DB), broker_redis.db_url(BACKEND_DB))
    with current_celery_app(app):
        yield app
    app.close()
