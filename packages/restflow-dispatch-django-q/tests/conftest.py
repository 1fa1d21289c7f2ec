from __future__ import annotations

import json
import socket
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The helper modules below live next to this file (workers import them too).
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from djangoq_support import RAISING_CLUSTER, django_q_redis
from restflow_testbed.redis_server import RedisServer
from restflow_testbed.worker_process import WorkerProcess, worker_env

from restflow.dispatch import registry
from restflow.dispatch.django_q import DjangoQDispatcher
from restflow.dispatch.testing import (
    RECORD_JOB_PATH,
    Journal,
    conformance_journal,  # noqa: F401  (fixture)
)
from restflow.log import reset_log_throttle

TESTS_DIR = Path(__file__).resolve().parent

#: Databases of the private Redis server of these tests: queues, shared cache.
BROKER_DB = 0
CACHE_DB = 1
WORKER_START_TIMEOUT = 60.0


@pytest.fixture(autouse=True)
def _clean_dispatch_state() -> Iterator[None]:
    explicit = dict(registry._explicit)
    reset_log_throttle()
    yield
    registry._explicit.clear()
    registry._explicit.update(explicit)


def _flushed(redis_server: RedisServer, db: int) -> str:
    import redis

    url = redis_server.db_url(db)
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()
    return url


@pytest.fixture(scope="session")
def djangoq_server() -> Iterator[RedisServer]:
    """A private Redis server for the broker and the shared cache of these tests."""
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def django_q_url(djangoq_server: RedisServer) -> str:
    return _flushed(djangoq_server, BROKER_DB)


@pytest.fixture(scope="session")
def shared_cache_url(djangoq_server: RedisServer) -> str:
    return _flushed(djangoq_server, CACHE_DB)


@pytest.fixture
def shared_cache(shared_cache_url: str) -> Iterator[str]:
    """The test process uses the workers' Redis cache for the test."""
    from django.test import override_settings

    caches = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": shared_cache_url}}
    with override_settings(CACHES=caches):
        yield shared_cache_url


@pytest.fixture(scope="session")
def producer_redis(django_q_url: str) -> Iterator[str]:
    """The test process (the web process, in a project) publishes to the test Redis."""
    with django_q_redis(django_q_url):
        yield django_q_url


def _start_cluster(name: str, url: str, cache_url: str, cluster: str,
                   settings: dict[str, Any] | None = None) -> WorkerProcess:
    env = worker_env(TESTS_DIR,
        DJANGO_SETTINGS_MODULE="djangoq_worker_settings",
        RESTFLOW_TEST_CACHE_URL=cache_url,
        RESTFLOW_TEST_DJANGO_Q_REDIS=url,
        RESTFLOW_TEST_Q_CLUSTER=cluster,
        RESTFLOW_TEST_SETTINGS_JSON=json.dumps(settings or {}),
    )
    worker = WorkerProcess(name, [sys.executable, "-m", "django", "qcluster"], env)
    worker.start()
    return worker


def _wait_ready(worker: WorkerProcess, journal: Journal, cluster: str | None) -> None:
    """The cluster is ready once it ran a job sent to it."""
    token = uuid.uuid4().hex
    rule_id = f"tests.django_q.ready#{token}#0"
    DjangoQDispatcher(function_path=RECORD_JOB_PATH, cluster=cluster, fallback="raise").dispatch(
        rule_ids=[rule_id], rule_kwargs={rule_id: {}})
    worker.wait_until(lambda: bool(journal.jobs(token)), WORKER_START_TIMEOUT, "first job")


@pytest.fixture(scope="session")
def qcluster(
    django_db_setup: Any, producer_redis: str, shared_cache_url: str,
    conformance_journal: Journal,  # noqa: F811
) -> Iterator[WorkerProcess]:
    """A real ``python -m django qcluster`` on the default cluster (queue).

    It opens the test database (created first) and shares the test's Redis cache.
    """
    worker = _start_cluster("qcluster", producer_redis, shared_cache_url, "default")
    try:
        _wait_ready(worker, conformance_journal, None)
        yield worker
    finally:
        worker.stop()


@pytest.fixture(scope="session")
def raising_qcluster(
    django_db_setup: Any, producer_redis: str, shared_cache_url: str,
    conformance_journal: Journal,  # noqa: F811
) -> Iterator[WorkerProcess]:
    """A cluster whose settings say ``DISPATCHER_SETTINGS["django_q"]["RAISE_EXCEPTION"]``."""
    settings = {"CACHE_SETTINGS": {"DISPATCHER_SETTINGS": {"django_q": {"RAISE_EXCEPTION": True}}}}
    worker = _start_cluster("qcluster-raising", producer_redis, shared_cache_url, RAISING_CLUSTER,
                            settings)
    try:
        _wait_ready(worker, conformance_journal, RAISING_CLUSTER)
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def hanging_server() -> Iterator[int]:
    """A TCP server that accepts connections and never answers; yields its port."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.2)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            accepted.append(conn)

    thread = threading.Thread(target=accept, name="hanging-server", daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in accepted:
            conn.close()
        server.close()
