"""A memcached server that leaves the ring and rejoins it (docs/caching.md, memcached
pools): with pymemcache's ring removal, a bump made while the server is out lands on
another server and is forgotten when the server rejoins with its old scope tokens, so
an invalidated entry is served again (bounded by its TTL). With the server kept in the
ring, the same bump fails, is held by the outbox and replayed after the server is back:
no stale read. Real pool of two (the test bed's), one server frozen with SIGSTOP."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import caches
from django.test import override_settings
from restflow_testbed.memcached_server import MemcachedServer, memcached_cache_settings
from test_storage_backends import make_items

from restflow.caching import outbox

#: pymemcache options: a failing server leaves the ring at once and rejoins after 1 s;
#: or it never leaves (every failure is an error restflow sees).
RING = {
    "leaves_the_ring": {"retry_attempts": 0, "dead_timeout": 1},
    "stays_in_the_ring": {"retry_attempts": 1000, "retry_timeout": 0},
}


@pytest.fixture
def pool(memcached_servers: list[MemcachedServer]) -> Iterator[list[MemcachedServer]]:
    for server in memcached_servers:
        server.resume()
    yield memcached_servers
    for server in memcached_servers:
        server.resume()


def owner(cache: Any, name: str) -> str:
    return str(cache._cache.hasher.get_node(cache.make_key(name, version=1)))


@pytest.mark.parametrize("ring", list(RING))
def test_a_server_rejoining_the_ring(
    pool: list[MemcachedServer], ring: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "REPLAY_INTERVAL", 0.0)
    frozen = pool[1]
    with override_settings(
        CACHES={"default": memcached_cache_settings([s.location for s in pool], **RING[ring])}
    ):
        cache = caches["default"]
        cache.clear()
        items = make_items(Counter())
        tenant = next(  # the entry and its partition scope both on the server to freeze
            t for t in range(200)
            if owner(cache, items.invalidation_target((), {"tenant": t})[2]) == frozen.location
            and owner(cache, items.get_cache_key(t, 1)) == frozen.location
        )
        assert items(tenant, 1) == f"{tenant}/1#1"
        assert items(tenant, 1) == f"{tenant}/1#1"  # a hit
        frozen.freeze()
        during = items(tenant, 1)  # a read times out on the frozen server (a logged miss)
        try:
            items.delete_by_prefix(tenant=tenant)  # the scope's server does not answer
            failed = False
        except Exception:
            failed = True
        held = outbox.pending_count()
        frozen.resume()
        time.sleep(1.2)  # past dead_timeout: a removed server is back in the ring
        after = items(tenant, 1)
        again = items(tenant, 1)
        cache.close()
    if ring == "leaves_the_ring":
        # pymemcache moved the scope to the other server: the bump "succeeded" there, so
        # nothing was held; the rejoined server still has the old token, and the entry
        # stamped with it is valid again.
        assert (failed, held) == (False, 0)
        assert during == f"{tenant}/1#2"
        assert after == again == f"{tenant}/1#1"  # stale, until the entry's TTL
    else:
        assert (failed, held) == (True, 1)  # the bump failed loudly and was held
        assert during == f"{tenant}/1#2"
        assert after == again == f"{tenant}/1#3"  # replayed on the right server: fresh
        assert outbox.pending_count() == 0
