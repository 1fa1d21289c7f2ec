"""Requests in fresh threads reuse restflow's Redis connections (Django's ``RedisCache``).

ASGI servers run each request's sync code in a new thread, and Django makes a cache
object, with its own connection pools, per thread. restflow's reads, stores, bumps and
deletes go through the client it keeps per configuration: Redis must not see a new
connection per request, and every operation must still do what the cache's own method
does (same key, same expiry, same value).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from django.core.cache import caches
from django.test import override_settings
from restflow_testbed.redis_server import connected_clients
from test_storage_backends import make_items

from restflow.caching import backends

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_default(private_redis: Any) -> Iterator[str]:
    """``default`` on a redis-server of the test's own: other tests' connections to the
    shared server would blur the count."""
    url = private_redis().url
    backend = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    with override_settings(CACHES={"default": backend}):
        yield url


def each_in_a_new_thread(work: Callable[[int], Any], times: int) -> None:
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            work(n)
        except BaseException as exc:  # reported below
            errors.append(exc)

    for n in range(times):
        thread = threading.Thread(target=run, args=(n,))
        thread.start()
        thread.join()
    assert not errors, errors


def test_hits_misses_bumps_and_deletes_open_no_connection_per_thread(redis_default: str) -> None:
    calls: Counter[str] = Counter()
    items = make_items(calls)
    assert items(1, 1) == "1/1#1"
    before = connected_clients(redis_default)

    def request(n: int) -> None:
        assert items(1, 1) == "1/1#1"  # a hit
        assert items(2, n) == f"2/{n}#1"  # a miss, stored
        assert items(2, n) == f"2/{n}#1"  # ...and read back
        items.delete_cache(2, n)  # a delete
        assert items(2, n) == f"2/{n}#2"
        items.delete_by_prefix(tenant=3)  # a bump

    each_in_a_new_thread(request, 15)
    assert connected_clients(redis_default) <= before  # counted at once: no garbage collection needed


def test_a_store_and_a_touch_are_what_the_cache_methods_write(redis_default: str) -> None:
    """``set_one`` / ``touch`` / ``delete`` on the kept client write what ``cache.set``,
    ``cache.touch`` and ``cache.delete`` would: the same made key, value and expiry."""
    cache = caches["default"]
    backends.set_one(cache, "entry", {"a": 1}, 120, 3)
    assert cache.get("entry", version=3) == {"a": 1}
    server = redis.Redis.from_url(redis_default)
    try:
        made = cache.make_key("entry", version=3)
        assert 110 < server.ttl(made) <= 120
        backends.touch(cache, "entry", None, 3)  # None: no expiry, as cache.touch(None)
        assert server.ttl(made) == -1
        backends.set_one(cache, "entry", "short", 0, 3)  # 0: expired at once, as cache.set
        assert cache.get("entry", "gone", version=3) == "gone"
        backends.set_one(cache, "entry", "again", 60, 3)
        backends.delete(cache, "entry", 3)
        assert not server.exists(made)
    finally:
        server.close()


def test_a_replaced_method_on_the_cache_object_is_still_called(redis_default: str) -> None:
    """A user's or a test's replacement of ``cache.set`` is honoured: only Django's own
    method is done on the kept client."""
    cache = caches["default"]
    written: list[tuple[Any, ...]] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cache, "set", lambda *args, **kwargs: written.append((args, kwargs)))
        backends.set_one(cache, "entry", 1, 60, 1)
    assert written == [(("entry", 1), {"timeout": 60, "version": 1})]
    assert cache.get("entry") is None
