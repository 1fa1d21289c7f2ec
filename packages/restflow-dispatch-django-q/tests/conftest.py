from __future__ import annotations

from collections.abc import Callable, Iterator
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


@pytest.fixture(scope="session")
def start_cluster(
    django_db_setup: Any, producer_redis: str, broker_redis: RedisServer,
    conformance_journal: Journal,
) -> Callable[..., WorkerProcess]:
    """Start a real ``python -m django qcluster`` and wait until it ran a first job; use
    the worker as a ``with`` block, which stops it.

    It opens the test database (created first) and shares the test's Redis cache.
    """

    def start(name: str, cluster: str | None,
              settings: dict[str, Any] | None = None) -> WorkerProcess:
        worker = qcluster_process(name, broker_redis.db_url(BROKER_DB),
                                  broker_redis.db_url(CACHE_DB), cluster, settings)
        dispatcher = DjangoQDispatcher(function_path=RECORD_JOB_PATH, cluster=cluster,
                                       fallback="raise")
        start_until_first_job(worker, conformance_journal, lambda ids, kwargs: dispatcher.dispatch(
            rule_ids=ids, rule_kwargs=kwargs))
        return worker

    return start


@pytest.fixture(scope="session")
def qcluster(start_cluster: Callable[..., WorkerProcess]) -> Iterator[WorkerProcess]:
    """A qcluster on the default cluster (queue)."""
    with start_cluster("qcluster", None) as worker:
        yield worker


@pytest.fixture(scope="session")
def raising_qcluster(start_cluster: Callable[..., WorkerProcess]) -> Iterator[WorkerProcess]:
    """A cluster whose settings say ``DISPATCHER_SETTINGS["django_q"]["RAISE_EXCEPTION"]``."""
    settings = {"CACHE_SETTINGS": {"DISPATCHER_SETTINGS": {"django_q": {"RAISE_EXCEPTION": True}}}}
    with start_cluster("qcluster-raising", RAISING_CLUSTER, settings) as worker:
        yield worker
