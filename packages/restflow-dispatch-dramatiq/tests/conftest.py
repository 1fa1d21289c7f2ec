from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from dramatiq_support import dramatiq_worker_process, use_broker
from dramatiq_test_actors import RAISING_QUEUE, RECORD_ACTOR, RECORD_QUEUE, declare_test_actors
from restflow_testbed.dispatch_fixtures import BROKER_DB, CACHE_DB
from restflow_testbed.redis_server import RedisServer
from restflow_testbed.worker_process import WorkerProcess, start_until_first_job

from restflow.dispatch.testing import (
    Journal,
)


@pytest.fixture(scope="session")
def dramatiq_url(broker_redis: RedisServer) -> str:
    return broker_redis.db_url(BROKER_DB)


@pytest.fixture(scope="session")
def producer_broker(dramatiq_url: str) -> Iterator[Any]:
    """The test process's broker (the web process, in a project)."""
    from dramatiq.brokers.redis import RedisBroker

    with use_broker(RedisBroker(url=dramatiq_url)) as broker:
        declare_test_actors()
        yield broker


def _worker(name: str, server: RedisServer, queues: list[str], journal: Journal,
            ready_actor: str, settings: dict[str, Any] | None = None) -> WorkerProcess:
    """A started ``dramatiq`` worker that ran a first job."""
    import dramatiq

    worker = dramatiq_worker_process(name, server.db_url(BROKER_DB), server.db_url(CACHE_DB), queues,
                             settings)
    start_until_first_job(worker, journal, dramatiq.get_broker().get_actor(ready_actor).send)
    return worker


@pytest.fixture(scope="session")
def dramatiq_worker(
    django_db_setup: Any, producer_broker: Any, broker_redis: RedisServer,
    conformance_journal: Journal,
) -> Iterator[WorkerProcess]:
    """A real ``dramatiq`` worker on the conformance queue and restflow's default queue.

    It opens the test database (created first) and shares the test's Redis cache.
    """
    worker = _worker("dramatiq-worker", broker_redis, [RECORD_QUEUE, "default"],
                     conformance_journal, RECORD_ACTOR)
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture(scope="session")
def raising_dramatiq_worker(
    django_db_setup: Any, producer_broker: Any, broker_redis: RedisServer,
    conformance_journal: Journal,
) -> Iterator[WorkerProcess]:
    """A worker whose settings say ``DISPATCHER_SETTINGS["dramatiq"]["RAISE_EXCEPTION"]``."""
    settings = {"CACHE_SETTINGS": {"DISPATCHER_SETTINGS": {"dramatiq": {"RAISE_EXCEPTION": True}}}}
    # Readiness through the raising actor: a job that does not ask to fail.
    worker = _worker("dramatiq-raising-worker", broker_redis, [RAISING_QUEUE],
                     conformance_journal, "restflow.test.record_raising", settings)
    try:
        yield worker
    finally:
        worker.stop()
