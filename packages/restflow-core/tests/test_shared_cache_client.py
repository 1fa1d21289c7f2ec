"""One Django ``RedisCacheClient`` per configuration and process (``shared_cache_client``).

Django makes a cache object per alias and thread, each with its own client and Redis
connection pools; ASGI servers run each request's sync code in a new thread, so without
this every request opened new Redis connections. These tests use real redis-server
processes: the connections Redis sees are counted, a server is restarted under a kept
client, and a forked child reads through the client its parent kept.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import pytest
import redis
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.test import override_settings
from restflow_testbed.redis_server import connected_clients

from restflow import _redisclient
from restflow._redisclient import shared_cache_client

pytestmark = pytest.mark.redis

DJANGO_REDIS = "django.core.cache.backends.redis.RedisCache"


class SubclassedRedisCache(RedisCache):
    """A user's subclass: it may build its client differently, so it keeps its own."""


def in_new_thread(work: Callable[[], Any]) -> Any:
    box: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            box.append(work())
        except BaseException as exc:  # re-raised below
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return box[0]


def test_every_thread_gets_the_client_kept_for_the_configuration(redis_url: str) -> None:
    with override_settings(CACHES={"default": {"BACKEND": DJANGO_REDIS, "LOCATION": redis_url}}):
        here = caches["default"]
        there = in_new_thread(lambda: caches["default"])
        assert here is not there  # Django's cache objects are per thread...
        assert shared_cache_client(here) is shared_cache_client(there)  # ...the client is not
        assert shared_cache_client(there) is not there._cache


def test_aliases_with_other_options_keep_their_own_clients(redis_url: str) -> None:
    configured = {
        "a": {"BACKEND": DJANGO_REDIS, "LOCATION": redis_url},
        "b": {"BACKEND": DJANGO_REDIS, "LOCATION": redis_url, "OPTIONS": {"db": 3}},
    }
    with override_settings(CACHES={"default": configured["a"], **configured}):
        first = {alias: shared_cache_client(caches[alias]) for alias in ("a", "b")}
        assert first["a"] is not first["b"]
        assert first["b"]._pool_options["db"] == 3
        for _ in range(3):  # alternating aliases does not replace either client
            for alias in ("a", "b"):
                assert in_new_thread(lambda alias=alias: shared_cache_client(caches[alias])) is first[alias]
        # Two aliases with equal settings share one client.
        assert shared_cache_client(caches["default"]) is first["a"]


def test_changed_caches_setting_gets_a_new_client(redis_url: str, private_redis: Any) -> None:
    with override_settings(CACHES={"default": {"BACKEND": DJANGO_REDIS, "LOCATION": redis_url}}):
        before = shared_cache_client(caches["default"])
        before.set("where", "shared redis", None)
        assert before.get("where", None) == "shared redis"
    other = private_redis()
    with override_settings(CACHES={"default": {"BACKEND": DJANGO_REDIS, "LOCATION": other.url}}):
        after = shared_cache_client(caches["default"])
        assert after is not before
        assert after._servers == [other.url]
        assert after.get("where", None) is None  # reads the new server, not the old one


def test_other_caches_have_no_shared_client(redis_url: str) -> None:
    caches_ = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "sub": {"BACKEND": f"{__name__}.SubclassedRedisCache", "LOCATION": redis_url},
    }
    with override_settings(CACHES=caches_):
        assert shared_cache_client(caches["default"]) is None
        assert shared_cache_client(caches["sub"]) is None


def test_with_sharing_off_each_cache_object_uses_its_own_client(redis_url: str) -> None:
    with override_settings(CACHES={"default": {"BACKEND": DJANGO_REDIS, "LOCATION": redis_url}}):
        cache = caches["default"]
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(_redisclient, "SHARE_CLIENTS", False)
            assert shared_cache_client(cache) is cache._cache


def test_fresh_threads_reuse_the_kept_connections(private_redis: Any) -> None:
    """25 requests' threads, one after the other: Redis sees one connection, not 25 (on
    a server of this test's own: other tests' connections would blur the count)."""
    redis_url = private_redis().url
    with override_settings(CACHES={"default": {"BACKEND": DJANGO_REDIS, "LOCATION": redis_url}}):
        caches["default"].set("k", "v")

        def read() -> Any:  # what restflow's reads do: Django's key, the kept client
            cache = caches["default"]
            return shared_cache_client(cache).get(cache.make_key("k"), None)

        assert read() == "v"
        before = connected_clients(redis_url)
        for _ in range(25):
            assert in_new_thread(read) == "v"
        assert connected_clients(redis_url) <= before  # no garbage collection needed


def test_a_kept_client_reconnects_after_redis_restarts(private_redis: Any) -> None:
    server = private_redis()
    with override_settings(CACHES={"default": {"BACKEND": DJANGO_REDIS, "LOCATION": server.url}}):
        client = shared_cache_client(caches["default"])
        client.set("k", "before", None)
        assert in_new_thread(lambda: shared_cache_client(caches["default"]).get("k", None)) == "before"
        server.stop()
        with pytest.raises(redis.ConnectionError):
            in_new_thread(lambda: shared_cache_client(caches["default"]).get("k", None))
        server.start()  # same port, empty (it keeps nothing on disk)
        kept = in_new_thread(lambda: shared_cache_client(caches["default"]))
        assert kept is client
        assert kept.get("k", "gone") == "gone"
        kept.set(caches["default"].make_key("k"), "after", None)
        assert in_new_thread(lambda: caches["default"].get("k")) == "after"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_forked_child_opens_connections_of_its_own(redis_url: str) -> None:
    """gunicorn forks its workers: a client kept before the fork must not share its
    sockets with the children (redis-py's pools start afresh in a new process)."""
    with override_settings(CACHES={"default": {"BACKEND": DJANGO_REDIS, "LOCATION": redis_url}}):
        client = shared_cache_client(caches["default"])
        client.set("k", "parent", None)
        assert client.get("k", None) == "parent"  # the parent holds a pooled connection
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: read through the same kept client
            try:
                value = shared_cache_client(caches["default"]).get("k", None)
                ids = {connection.pid for connection in client._pools[0]._available_connections}
                os.write(write_end, f"{value}|{ids == {os.getpid()}}".encode())
            finally:
                os._exit(0)
        os.close(write_end)
        answer = os.read(read_end, 200).decode()
        os.close(read_end)
        os.waitpid(pid, 0)
        assert answer == "parent|True"
        assert client.get("k", None) == "parent"  # the parent's connection still works
