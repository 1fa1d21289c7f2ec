from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from djangoq_support import RAISING_CLUSTER, django_q_redis, qcluster_process
from restflow_testbed.dispatch_fixtures import BROKER_DB, CACHE_DB
from restflow_testbed.redis_server import RedisServer
from restflow_testbed.worker_process import WorkerProcess, start_until_first_job

from restflow.dispatch.django_q import DjangoQDispatcher
from restflow.dispatch.testing import (
    RECORD_JOB_PATH,
    Journal,
)


@pytest.fixture(scope="session")
def producer_redis(broker_redis: RedisServer) -> Iterator[str]:
    """The test process (the web process, in a project) publishes to the test Redis."""
    url = broker_redis.db_url(BROKER_DB)
    with django_q_redis(url):
        yield url


def _cluster(name: str, server: RedisServer, cluster: str | None, journal: Journal,
             settings: dict[str, Any] | None = None) -> WorkerProcess:
    """A started qcluster that ran a first job."""
    worker = qcluster_process(name, server.db_url(BROKER_DB), server.db_url(CACHE_DB), cluster,
                             settings)
    dispatcher = DjangoQDispatcher(function_path=RECORD_JOB_PATH, cluster=cluster, fallback="raise")
    start_until_first_job(worker, journal, lambda ids, kwargs: dispatcher.dispatch(
        rule_ids=ids, rule_kwargs=kwargs))
    return worker


@pytest.fixture(scope="session")
def qcluster(
    django_db_setup: Any, producer_redis: str, broker_redis: RedisServer,
    conformance_journal: Journal,
) -> Iterator[WorkerProcess]:
    """A real ``python -m django qcluster`` on the default cluster (queue).

    It opens the test database (created first) and shares the test's Redis cache.
    """
    worker = _cluster("qcluster", broker_redis, None, conformance_journal)
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture(scope="session")
def raising_qcluster(
    django_db_setup: Any, producer_redis: str, broker_redis: RedisServer,
    conformance_journal: Journal,
) -> Iterator[WorkerProcess]:
    """A cluster whose settings say ``DISPATCHER_SETTINGS["django_q"]["RAISE_EXCEPTION"]``."""
    settings = {"CACHE_SETTINGS": {"DISPATCHER_SETTINGS": {"django_q": {"RAISE_EXCEPTION": True}}}}
    worker = _cluster("qcluster-raising", broker_redis, RAISING_CLUSTER, conformance_journal,
                      settings)
    try:
        yield worker
    finally:
        worker.stop()
