"""The hit read on Redis (Django's RedisCache and django-redis): one MGET packed once per
key list and sent on a pooled connection. It must answer and fail exactly like the
backend's public ``get_many``: under each pool kind, and when a connection drops in the
middle of a command (the connection's own retry policy decides, as in redis-py)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
from django.core.cache import caches
from django.test import override_settings
from redis.backoff import NoBackoff
from redis.retry import Retry
from restflow_testbed.plugin import redis_cache_settings

from restflow.caching import _redis, backends

pytestmark = [pytest.mark.redis, pytest.mark.usefixtures("fresh_django_redis_pools")]

VALUES = {"token": 1234567890123, "entry": ("envelope", b"body", {"k": "v"}), "text": "x" * 300}
KEYS = [*VALUES, "missing"]


class DroppingProxy:
    """A loopback TCP proxy to a Redis server. Once armed, it closes the next client
    connection that sends a command instead of forwarding it (a connection lost in the
    middle of a command: written, never answered)."""

    def __init__(self, host: str, port: int) -> None:
        self._upstream = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._armed = threading.Event()
        self.dropped = 0
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def drop_next_command(self) -> None:
        self._armed.set()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._upstream)
            self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, commands: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if commands and self._armed.is_set():
                    self._armed.clear()
                    self.dropped += 1
                    break
                target.sendall(data)
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._listener.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()


@pytest.fixture
def proxy(redis_url: str) -> Iterator[tuple[DroppingProxy, str]]:
    parts = urlsplit(redis_url)
    dropping = DroppingProxy(parts.hostname or "127.0.0.1", parts.port or 6379)
    try:
        yield dropping, f"redis://127.0.0.1:{dropping.port}{parts.path}"
    finally:
        dropping.close()


def settings_for(url: str, backend: str, **pool_options: Any) -> dict[str, Any]:
    conf = redis_cache_settings(url, backend=backend)
    if backend == "django":
        conf["OPTIONS"] = pool_options
    elif pool_options:
        conf["OPTIONS"] = {**conf["OPTIONS"], "CONNECTION_POOL_KWARGS": pool_options}
    return conf


def outcome(call: Any) -> Any:
    try:
        return call()
    except Exception as exc:
        return type(exc)


@pytest.mark.parametrize("backend", ["django", "django_redis"])
@pytest.mark.parametrize("retries", [0, 2])
def test_a_connection_dropped_mid_read_is_retried_like_get_many(
    proxy: tuple[DroppingProxy, str], backend: str, retries: int
) -> None:
    dropping, url = proxy
    with override_settings(CACHES={"default": settings_for(url, backend, retry=Retry(NoBackoff(), retries))}):
        cache = caches["default"]
        cache.set_many(VALUES, version=1)
        assert backends.get_many(cache, KEYS, 1) == VALUES  # a pooled, warm connection

        dropping.drop_next_command()
        public = outcome(lambda: cache.get_many(KEYS, version=1))
        dropping.drop_next_command()
        fast = outcome(lambda: backends.get_many(cache, KEYS, 1))

        assert dropping.dropped == 2
        if retries:
            # redis-py 5.0-5.2 connections ignore ``retry`` without ``retry_on_error``:
            # the outcome is redis-py's, and the same on both sides.
            assert fast == public
            assert public == VALUES or issubclass(public, redis.ConnectionError)
        else:
            assert isinstance(public, type)
            assert issubclass(public, redis.ConnectionError)
            assert fast is public
        assert backends.get_many(cache, KEYS, 1) == VALUES  # the pool recovered


@pytest.mark.parametrize("backend", ["django", "django_redis"])
def test_a_blocking_pool_reads_like_get_many(redis_url: str, backend: str) -> None:
    conf = redis_cache_settings(redis_url, backend=backend)
    if backend == "django":
        conf["OPTIONS"] = {"pool_class": "redis.BlockingConnectionPool"}
    else:
        conf["OPTIONS"] = {**conf["OPTIONS"], "CONNECTION_POOL_CLASS": "redis.BlockingConnectionPool"}
    with override_settings(CACHES={"default": conf}):
        cache = caches["default"]
        for round_ in range(3):
            values = {key: (round_, value) for key, value in VALUES.items()}
            cache.set_many(values, version=1)
            assert backends.get_many(cache, KEYS, 1) == cache.get_many(KEYS, version=1) == values


class RecordingClient:
    """A ``redis.Redis`` stand-in on a real pool that records what goes through
    ``execute_command`` (a unit test of when the packed read is used)."""

    def __init__(self, pool: Any, connection: Any = None) -> None:
        self.connection_pool = pool
        self.connection = connection
        self.sent: list[tuple[Any, ...]] = []

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.sent.append(args)
        return redis.Redis(connection_pool=self.connection_pool).execute_command(*args, **options)


@pytest.fixture
def stored(redis_url: str) -> Iterator[tuple[Any, list[bytes | None]]]:
    pool = redis.ConnectionPool.from_url(redis_url)
    writer = redis.Redis(connection_pool=pool)
    writer.mset({"a": b"1", "b": b"two"})
    try:
        yield pool, [b"1", b"two", None]
    finally:
        pool.disconnect()


def test_a_stock_pool_is_read_with_one_packed_command(stored: tuple[Any, list[Any]]) -> None:
    """redis-py 6 and later: packed once, sent by hand; before 6 every read goes through
    ``execute_command`` (the version gate of ``restflow._redisclient``)."""
    pool, expected = stored
    client = RecordingClient(pool)
    for _ in range(2):
        assert _redis.mget(client, ["a", "b", "c"]) == expected
        assert _redis.mget(client, ["b", "a"]) == expected[1::-1]
    packed = int(redis.__version__.split(".", 1)[0]) >= 6
    assert client.sent == ([] if packed else [("MGET", "a", "b", "c"), ("MGET", "b", "a")] * 2)


@pytest.mark.parametrize("case", ["client-side-cache", "single-connection", "blocking-pool", "telemetry"])
def test_reads_take_execute_command_where_redis_py_must_see_them(
    stored: tuple[Any, list[Any]], case: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pool with redis-py's client-side cache, a single-connection client, another
    pool class, and redis-py's OpenTelemetry metrics all live in ``execute_command``."""
    pool, expected = stored
    client = RecordingClient(pool)
    if case == "client-side-cache":
        monkeypatch.setattr(pool, "cache", object(), raising=False)
        client.execute_command = lambda *args, **options: client.sent.append(args) or expected
    elif case == "single-connection":
        client.connection = object()
        client.execute_command = lambda *args, **options: client.sent.append(args) or expected
    elif case == "blocking-pool":
        client = RecordingClient(redis.BlockingConnectionPool.from_url(redis_url))
    else:
        providers = pytest.importorskip("redis.observability.providers")
        monkeypatch.setattr(providers.ObservabilityInstance, "is_enabled", lambda self: True)
    assert _redis.mget(client, ["a", "b", "c"]) == expected
    assert client.sent == [("MGET", "a", "b", "c")]
