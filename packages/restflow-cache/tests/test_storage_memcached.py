"""restflow-cache on a real two-server memcached pool (Django's ``PyMemcacheCache``, the
test bed's servers and socket timeouts), with one server frozen (SIGSTOP) and resumed:
a failed invalidation is never silent (docs/caching.md, Scaling out, memcached pools)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.core.cache import caches
from django.test import override_settings
from restflow_testbed.memcached_server import MemcachedServer, memcached_cache_settings
from test_storage_backends import make_items

from restflow.caching import backends, outbox, scopes
from restflow.caching._cluster import IncompleteWrite

SCOPES = [f"restflow:test-scope-{n}" for n in range(20)]


def owner(cache: Any, name: str) -> str:
    """The ``host:port`` of the pool server that holds scope ``name``."""
    return str(cache._cache.hasher.get_node(cache.make_key(name, version=1)))


def test_hit_miss_and_invalidation_on_the_pool(memcached_pool: list[MemcachedServer]) -> None:
    calls: Counter[str] = Counter()
    items = make_items(calls)
    assert [items(n, 1) for n in range(4)] == [f"{n}/1#1" for n in range(4)]
    assert [items(n, 1) for n in range(4)] == [f"{n}/1#1" for n in range(4)]  # hits
    items.delete_by_prefix(tenant=1)
    assert items(1, 1) == "1/1#2"
    assert items(2, 1) == "2/1#1"
    items.invalidate_all()
    assert items(2, 1) == "2/1#2"
    scopes.bump_targets([("default", 1, name, 120) for name in SCOPES])
    cache = caches["default"]
    assert {owner(cache, name) for name in SCOPES} == {s.location for s in memcached_pool}
    assert len(backends.get_many(cache, SCOPES, 1)) == len(SCOPES)


def test_a_frozen_server_fails_the_bump_loudly_every_time(memcached_pool: list[MemcachedServer]) -> None:
    """The first attempt of a bump times out (pymemcache raises); the retries, while
    pymemcache waits before trying the server again, get its keys back from ``set_many``
    without an error: restflow raises for those too, instead of dropping them."""
    with override_settings(
        CACHES={
            "default": memcached_cache_settings(
                [s.location for s in memcached_pool], retry_attempts=5, retry_timeout=60
            )
        }
    ):
        cache = caches["default"]
        targets = [("default", 1, name, 120) for name in SCOPES]
        scopes.bump_targets(targets)
        memcached_pool[1].freeze()
        with pytest.raises(IncompleteWrite, match="could not store"):
            scopes.bump_targets(targets)
        assert outbox.pending_count() == len(SCOPES)  # held for replay, not dropped
        memcached_pool[1].resume()
        with pytest.raises(IncompleteWrite):  # pymemcache still waits before retrying it
            scopes.bump_targets(targets)
        cache._cache.close()
    with override_settings(
        CACHES={"default": memcached_cache_settings([s.location for s in memcached_pool])}
    ):
        cache = caches["default"]
        after = backends.get_many(cache, SCOPES, 1)
    # One bump writes one token to all its scopes. The running server's scopes hold the
    # last bump's; the frozen server's do not: exactly the keys the errors reported. (The
    # timed-out bump was queued in the frozen server's socket and applied on SIGCONT: a
    # timed-out write may land late, never wrongly.)
    frozen = memcached_pool[1].location
    running_tokens = {after[n] for n in SCOPES if owner(cache, n) != frozen}
    frozen_tokens = {after[n] for n in SCOPES if owner(cache, n) == frozen}
    assert len(running_tokens) == 1
    assert frozen_tokens
    assert not frozen_tokens & running_tokens


def test_reads_with_a_frozen_server_are_answered_and_recover(memcached_pool: list[MemcachedServer]) -> None:
    calls: Counter[str] = Counter()
    items = make_items(calls)
    warm = [items(n, 1) for n in range(6)]
    memcached_pool[0].freeze()
    during = [items(n, 1) for n in range(6)]  # answered: the cache is skipped, not raised
    memcached_pool[0].resume()
    assert warm == [f"{n}/1#1" for n in range(6)]
    assert all(value.startswith(f"{n}/1#") for n, value in enumerate(during))
    assert sum(calls.values()) > 6  # the frozen server's entries were recomputed, not awaited


def test_a_failed_invalidation_is_held_and_replayed_never_served_stale(
    memcached_pool: list[MemcachedServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Freeze the server holding a partition's scope, invalidate it, read it while frozen
    and after resuming: every value read after the invalidation is a fresh one."""
    monkeypatch.setattr(outbox, "REPLAY_INTERVAL", 0.0)
    with override_settings(
        CACHES={
            "default": memcached_cache_settings(
                [s.location for s in memcached_pool], retry_attempts=100, retry_timeout=0
            )
        }
    ):
        cache = caches["default"]
        calls: Counter[str] = Counter()
        items = make_items(calls)
        frozen = memcached_pool[1]
        tenant = next(
            t for t in range(50)
            if owner(cache, items.invalidation_target((), {"tenant": t})[2]) == frozen.location
        )
        assert items(tenant, 1) == f"{tenant}/1#1"
        assert items(tenant, 1) == f"{tenant}/1#1"  # a hit
        frozen.freeze()
        with pytest.raises((TimeoutError, IncompleteWrite)):
            items.delete_by_prefix(tenant=tenant)
        assert outbox.pending_count() == 1
        during = items(tenant, 1)  # the held scope makes it a miss, never the old hit
        frozen.resume()
        after = items(tenant, 1)  # the read replays the held invalidation first
        assert outbox.pending_count() == 0
        again = items(tenant, 1)
    assert during == f"{tenant}/1#2"
    assert after == f"{tenant}/1#3"
    assert again == after  # cached again once the invalidation is written
