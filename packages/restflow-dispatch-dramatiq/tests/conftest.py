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

from dramatiq_support import use_broker
from dramatiq_test_actors import RAISING_QUEUE, RECORD_ACTOR, RECORD_QUEUE, declare_test_actors
from restflow_testbed.redis_server import RedisServer
from restflow_testbed.worker_process import WorkerProcess, worker_env

from restflow.dispatch import registry
from restflow.dispatch.testing import (
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
def dramatiq_server() -> Iterator[RedisServer]:
    """A private Redis server for the broker and the shared cache of these tests."""
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def dramatiq_url(dramatiq_server: RedisServer) -> str:
    return _flushed(dramatiq_server, BROKER_DB)


@pytest.fixture(scope="session")
def shared_cache_url(dramatiq_server: RedisServer) -> str:
    return _flushed(dramatiq_server, CACHE_DB)


@pytest.fixture
def shared_cache(shared_cache_url: str) -> Iterator[str]:
    """The test process uses the workers' Redis cache for the test."""
    from django.test import override_settings

    caches = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": shared_cache_url}}
    with override_settings(CACHES=caches):
        yield shared_cache_url


@pytest.fixture(scope="session")
def producer_broker(dramatiq_url: str) -> Iterator[Any]:
    """The test process's broker (the web process, in a project)."""
    from dramatiq.brokers.redis import RedisBroker

    with use_broker(RedisBroker(url=dramatiq_url)) as broker:
        declare_test_actors()
        yield broker


def _start_worker(name: str, url: str, cache_url: str, queues: list[str],
                  settings: dict[str, Any] | None = None) -> WorkerProcess:
    env = worker_env(TESTS_DIR,
        RESTFLOW_TEST_DRAMATIQ_URL=url,
        RESTFLOW_TEST_CACHE_URL=cache_url,
        DJANGO_SETTINGS_MODULE="dramatiq_worker_settings",
        RESTFLOW_TEST_SETTINGS_JSON=json.dumps(settings or {}),
    )
    cmd = [sys.executable, "-m", "dramatiq", "--processes", "1", "--threads", "1",
           "--queues", *queues, "--", "dramatiq_test_worker"]
    worker = WorkerProcess(name, cmd, env)
    worker.start()
    return worker


def _wait_ready(worker: WorkerProcess, journal: Journal, actor_name: str) -> None:
    """The worker is ready once it ran a job sent to it."""
    import dramatiq

    token = uuid.uuid4().hex
    rule_id = f"tests.dramatiq.ready#{token}#0"
    dramatiq.get_broker().get_actor(actor_name).send([rule_id], {rule_id: {}})
    worker.wait_until(lambda: bool(journal.jobs(token)), WORKER_START_TIMEOUT, "first job")


@pytest.fixture(scope="session")
def dramatiq_worker(
    django_db_setup: Any, producer_broker: Any, dramatiq_url: str, shared_cache_url: str,
    conformance_journal: Journal,  # noqa: F811
) -> Iterator[WorkerProcess]:
    """A real ``dramatiq`` worker on the conformance queue and restflow's default queue.

    It opens the test database (created first) and shares the test's Redis cache.
    """
    worker = _start_worker("dramatiq-worker", dramatiq_url, shared_cache_url,
                           [RECORD_QUEUE, "default"])
    try:
        _wait_ready(worker, conformance_journal, RECORD_ACTOR)
        yield worker
    finally:
        worker.stop()


@pytest.fixture(scope="session")
def raising_dramatiq_worker(
    django_db_setup: Any, producer_broker: Any, dramatiq_url: str, shared_cache_url: str,
    conformance_journal: Journal,  # noqa: F811
) -> Iterator[WorkerProcess]:
    """A worker whose settings say ``DISPATCHER_SETTINGS["dramatiq"]["RAISE_EXCEPTION"]``."""
    settings = {"CACHE_SETTINGS": {"DISPATCHER_SETTINGS": {"dramatiq": {"RAISE_EXCEPTION": True}}}}
    worker = _start_worker("dramatiq-raising-worker", dramatiq_url, shared_cache_url,
                           [RAISING_QUEUE], settings)
    try:
        # Readiness through the raising actor: a job that does not ask to fail.
        _wait_ready(worker, conformance_journal, "restflow.test.record_raising")
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
