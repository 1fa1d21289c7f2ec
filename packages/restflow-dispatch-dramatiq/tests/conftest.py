from __future__ import annotations

from collections.abc import Callable, Iterator
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


@pytest.fixture(scope="session")
def start_worker(
    django_db_setup: Any, producer_broker: Any, broker_redis: RedisServer,
    conformance_journal: Journal,
) -> Callable[..., WorkerProcess]:
    """Start a real ``dramatiq`` worker on ``queues`` and wait until it ran a first job
    (sent to ``ready_actor``); use the worker as a ``with`` block, which stops it.

    It opens the test database (created first) and shares the test's Redis cache.
    """
    import dramatiq

    def start(name: str, queues: list[str], ready_actor: str,
              settings: dict[str, Any] | None = None) -> WorkerProcess:
        worker = dramatiq_worker_process(name, broker_redis.db_url(BROKER_DB),
                                         broker_redis.db_url(CACHE_DB), queues, settings)
        start_until_first_job(worker, conformance_journal,
                              dramatiq.get_broker().get_actor(ready_actor).send)
        return worker

    return start


@pytest.fixture(scope="session")
def dramatiq_worker(start_worker: Callable[..., WorkerProcess]) -> Iterator[WorkerProcess]:
    """A worker on the conformance queue and restflow's default queue."""
    with start_worker("dramatiq-worker", [RECORD_QUEUE, "default"], RECORD_ACTOR) as worker:
        yield worker


@pytest.fixture(scope="session")
def raising_dramatiq_worker(
    start_worker: Callable[..., WorkerProcess],
) -> Iterator[WorkerProcess]:
    """A worker whose settings say ``DISPATCHER_SETTINGS["dramatiq"]["RAISE_EXCEPTION"]``."""
    settings = {"CACHE_SETTINGS": {"DISPATCHER_SETTINGS": {"dramatiq": {"RAISE_EXCEPTION": True}}}}
    # Readiness through the raising actor: a job that does not ask to fail.
    with start_worker("dramatiq-raising-worker", [RAISING_QUEUE], "restflow.test.record_raising",
                      settings) as worker:
        yield worker
