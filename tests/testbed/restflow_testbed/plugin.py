"""pytest plugin of the test bed (loaded with ``-p restflow_testbed.plugin``).

Fixtures:

``redis_server``
    The session's Redis server: the one named by ``RESTFLOW_TEST_REDIS_URL``, or a
    private ``redis-server`` started on a free loopback port and stopped at the end.
``redis_url``
    ``redis://host:port/0`` of that server, flushed before the test.
``private_redis``
    A factory of extra private servers owned by one test (for outage tests that stop
    and restart the server); each is removed after the test.
``redis_caches``
    ``CACHES`` settings pointing ``default`` at Django's ``RedisCache`` on ``redis_url``.
``closed_port``
    A loopback port nothing listens on (a broker that is down).
``hanging_server``
    The port of a TCP server that accepts connections and never answers (a hung broker).
``mariadb_server``
    A private ``mariadbd`` (Debian's ``mariadb-server``) on a free loopback port with a
    temporary data directory, started once per session and stopped by its pid.
``memcached_servers``
    Two private ``memcached`` servers on free loopback ports (one session-wide pair:
    a single server and a two-server pool for ``PyMemcacheCache``), stopped by pid.
``redis_cluster``
    A private Redis Cluster, 3 masters + 3 replicas on free loopback ports, started once
    per session and stopped by pid; ``redis_cluster_clean`` is the same, flushed first.

Also registered here: ``conformance_journal`` (restflow-core's conformance kit) and
``broker_redis`` / ``clean_dispatch_state`` (:mod:`restflow_testbed.dispatch_fixtures`).

``bash tests/testbed/install_services.sh`` installs mariadb-server and memcached.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from restflow_testbed.hanging_server import HangingServer
from restflow_testbed.mariadb_server import MariaDBServer
from restflow_testbed.memcached_server import MemcachedServer
from restflow_testbed.redis_cluster import RedisCluster
from restflow_testbed.redis_server import ExternalRedis, RedisServer, free_port, given_redis_url

try:  # Property-based tests replay the same examples in CI: a failure there is reproducible.
    from hypothesis import settings as _hypothesis_settings
except ImportError:  # an isolated distribution whose tests do not use hypothesis
    pass
else:
    _hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
    if os.environ.get("CI"):
        _hypothesis_settings.load_profile("ci")

# Fixtures every distribution's tests may use, registered once here instead of being
# imported by name into conftest files.
pytest_plugins = ["restflow.dispatch.testing", "restflow_testbed.dispatch_fixtures"]

# Worker processes started by tests inherit this and open the same SQLite files.
os.environ.setdefault("RESTFLOW_TEST_RUN_ID", str(os.getpid()))


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer | ExternalRedis]:
    given = given_redis_url()
    if given:
        yield ExternalRedis(given)
        return
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


def _flushdb(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


@pytest.fixture
def redis_url(redis_server: RedisServer | ExternalRedis) -> str:
    if isinstance(redis_server, RedisServer) and not redis_server.running:
        redis_server.start()  # a previous test stopped it
    url = redis_server.db_url(0)
    _flushdb(url)
    return url


@pytest.fixture
def private_redis() -> Iterator[Callable[[], RedisServer]]:
    servers: list[RedisServer] = []

    def make() -> RedisServer:
        server = RedisServer()
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.cleanup()


def redis_cache_settings(url: str, backend: str = "django") -> dict[str, Any]:
    """A ``CACHES["default"]`` entry for Django's RedisCache or django-redis."""
    if backend == "django":
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    if backend == "django_redis":
        return {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        }
    raise ValueError(f"unknown redis cache backend {backend!r}")


@pytest.fixture
def redis_caches(redis_url: str) -> dict[str, dict[str, Any]]:
    return {"default": redis_cache_settings(redis_url)}


@pytest.fixture
def closed_port() -> int:
    return free_port()


@pytest.fixture
def hanging_server() -> Iterator[int]:
    with HangingServer() as server:
        yield server.port


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[MariaDBServer]:
    server = MariaDBServer()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def memcached_servers() -> Iterator[list[MemcachedServer]]:
    servers = [MemcachedServer(), MemcachedServer()]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.cleanup()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisCluster]:
    cluster = RedisCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.cleanup()


@pytest.fixture
def redis_cluster_clean(redis_cluster: RedisCluster) -> RedisCluster:
    redis_cluster.wait_ok()
    redis_cluster.flush()
    return redis_cluster
