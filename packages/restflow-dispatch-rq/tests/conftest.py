from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import override_settings
from restflow_testbed.dispatch_fixtures import BROKER_DB, CACHE_DB
from restflow_testbed.redis_server import RedisServer
from rq_testapp.processes import RqWorker

from restflow.dispatch.django_rq._publish import reset_connections


@pytest.fixture(autouse=True)
def _fresh_connections() -> Iterator[None]:
    yield
    reset_connections()


@pytest.fixture(scope="session")
def rq_worker(
    request: pytest.FixtureRequest, broker_redis: RedisServer, session_queue: str
) -> Iterator[RqWorker]:
    """A real ``rqworker`` consuming the session's queue."""
    request.getfixturevalue("conformance_journal")  # sets the journal for the worker
    with RqWorker(broker_redis.db_url(BROKER_DB), [session_queue],
                  cache_url=broker_redis.db_url(CACHE_DB)) as worker:
        worker.start()
        yield worker


@pytest.fixture
def rq_settings(broker_redis: RedisServer, session_queue: str
                ) -> Iterator[dict[str, dict[str, str]]]:
    """``RQ_QUEUES`` of the test process: the session's queue on the private Redis."""
    queues = {session_queue: {"URL": broker_redis.db_url(BROKER_DB)}}
    with override_settings(RQ_QUEUES=queues):
        yield queues
