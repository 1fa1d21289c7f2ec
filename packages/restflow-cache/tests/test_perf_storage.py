"""Work done per operation by the storage model (command counts, never timings)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis
from django.core.cache import caches

from restflow.caching import CACHE_MISSING, ArgsKeyField, KeyConstructor, cache_result, scopes, tokens


class ShelfKey(KeyConstructor):
    shelf = ArgsKeyField("shelf", partition=True)
    item = ArgsKeyField("item")

    class Meta:
        namespace = "perf-shelf"


calls: list[tuple[int, int]] = []


@cache_result(ShelfKey, ttl=600)
def shelf(shelf: int, item: int) -> str:
    calls.append((shelf, item))
    return f"{shelf}/{item}#{len(calls)}"


def test_scope_tokens_are_integers_carrying_their_expiry() -> None:
    token = tokens.new_token(100, now=1_000_000.0)
    assert type(token) is int
    assert 0 < token < 2**63  # Redis keeps it inline as a 64-bit integer
    expiry = tokens.token_expiry(token)
    assert expiry is not None
    assert 1_000_100.0 - 60 < expiry <= 1_000_100.0  # rounded down: never claims more life
    endless = tokens.new_token(None)
    assert type(endless) is int
    assert tokens.token_expiry(endless) is None
    far = tokens.new_token(10**12, now=1_000_000.0)  # clamped, still a 63-bit integer
    assert far < 2**63
    assert tokens.token_expiry(far) is not None
    assert len({tokens.new_token(100, now=1.0) for _ in range(1000)}) == 1000


def test_key_scopes_have_short_fixed_size_memcached_safe_names() -> None:
    keys = [f"app.views.shelf::shelf:{i}||item:{i % 7}" for i in range(10_000)]
    keys += ["x" * 400, "caf\u00e9::key with spaces", "a::b"]
    names = {scopes.key_scope(key) for key in keys}
    assert len(names) == len(keys)  # distinct keys, distinct scopes
    width = len(scopes.KEY_SCOPE_PREFIX) + 16
    for name in names:
        assert len(name) == width  # whatever the entry key's length
        assert name.startswith(scopes.KEY_SCOPE_PREFIX)
        assert all("!" <= char <= "~" for char in name)  # memcached-safe


def test_a_scope_left_by_an_older_format_is_replaced_not_trusted() -> None:
    calls.clear()
    assert shelf(1, 1) == "1/1#1"
    plan = shelf._plan((1, 1), {})
    cache = caches["default"]
    # A text token (the format of earlier releases) in the function scope: the entry is
    # not valid against it, and the next miss writes a fresh integer token.
    cache.set(plan.scopes[1], "old.123", version=plan.version)
    assert shelf.get_cache_only(1, 1) is CACHE_MISSING
    assert shelf(1, 1) == "1/1#2"
    assert type(cache.get(plan.scopes[1], version=plan.version)) is int
    assert shelf(1, 1) == "1/1#2"


def test_one_bump_renews_every_scope_with_the_longest_life(backend: str) -> None:
    calls.clear()
    shelf(1, 1)
    shelf(2, 1)
    cache = caches["default"]
    first, second = (shelf.invalidation_target((), {"shelf": n}) for n in (1, 2))
    before = cache.get_many([first[2], second[2]], version=first[1])
    assert len(before) == 2
    short = (*first[:3], 100)
    scopes.bump_targets([short, second])  # lives 100 and 2 * 600 + 60
    after = cache.get_many([first[2], second[2]], version=first[1])
    for scope in (first[2], second[2]):
        assert type(after[scope]) is int
        assert after[scope] != before[scope]
        expiry = tokens.token_expiry(after[scope])
        assert expiry is not None
        assert expiry > time.time() + 1000, "not the longest life"
    assert shelf.get_cache_only(1, 1) is CACHE_MISSING
    assert shelf.get_cache_only(2, 1) is CACHE_MISSING
    assert shelf(1, 1) == "1/1#3"
    assert shelf.get_cache_only(1, 1) == "1/1#3"


@pytest.mark.redis
@pytest.mark.parametrize("replaced", [False, True], ids=["fast path", "public set_many"])
def test_a_redis_bump_writes_digits_with_the_scope_life(
    redis_default: str, monkeypatch: pytest.MonkeyPatch, replaced: bool
) -> None:
    cache: Any = caches["default"]
    public: list[int] = []
    if replaced:  # a wrapped set_many: restflow goes through the public method
        original = cache.set_many

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            public.append(len(args[0]))
            return original(*args, **kwargs)

        monkeypatch.setattr(cache, "set_many", wrapped)
    calls.clear()
    shelf(4, 1)
    shelf(5, 1)
    targets = [shelf.invalidation_target((), {"shelf": n}) for n in (4, 5)]
    public.clear()
    scopes.bump_targets(targets)
    assert public == ([2] if replaced else [])
    client = redis.Redis.from_url(redis_default)
    life = tokens.scope_life(600)
    for _alias, version, scope, _life in targets:
        raw_key = cache.make_key(scope, version=version)
        assert client.get(raw_key).isdigit()
        assert 0 < client.ttl(raw_key) <= life
    client.close()
    assert shelf.get_cache_only(4, 1) is CACHE_MISSING
    assert shelf.get_cache_only(5, 1) is CACHE_MISSING


def test_delete_by_prefix_on_local_memory_writes_one_key(monkeypatch: pytest.MonkeyPatch) -> None:
    calls.clear()
    shelf(1, 1)
    shelf(2, 1)
    cache: Any = caches["default"]
    written: list[str] = []
    original = type(cache)._set

    def counting_set(self: Any, key: str, value: Any, timeout: Any = None) -> None:
        written.append(key)
        original(self, key, value, timeout)

    monkeypatch.setattr(type(cache), "_set", counting_set)
    shelf.delete_by_prefix(shelf=1)
    shelf.delete_by_prefix(shelf=1)
    assert len(written) == 2
    assert written[0] == written[1] == cache.make_key(
        shelf.invalidation_target((), {"shelf": 1})[2], version=shelf.get_key_version()
    )
    assert shelf.get_cache_only(1, 1) is CACHE_MISSING
    assert shelf.get_cache_only(2, 1) == "2/1#2"


@pytest.mark.redis
def test_redis_hits_reuse_one_client_and_send_one_mget(
    redis_default: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls.clear()
    assert shelf(3, 1) == "3/1#1"
    assert shelf(3, 1) == "3/1#1"
    built: list[int] = []
    original = redis.Redis.__init__

    def counting_init(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "__init__", counting_init)
    client = redis.Redis.from_url(redis_default)
    built.clear()
    client.config_resetstat()
    for _ in range(10):
        assert shelf(3, 1) == "3/1#1"
    stats = client.info("commandstats")
    assert stats["cmdstat_mget"]["calls"] == 10
    assert not any(name.startswith("cmdstat_get") and name != "cmdstat_mget" for name in stats)
    assert built == []  # no client object built per hit
    plan = shelf._plan((3, 1), {})
    scope_key = caches["default"].make_key(plan.scopes[-1], version=plan.version)
    raw = client.get(scope_key)
    assert raw is not None
    assert raw.isdigit()  # the token is stored as plain digits
    # ... which Redis keeps as an integer inside the key object (no string allocation)
    assert client.object("encoding", scope_key) == b"int"
    client.close()
    assert calls == [(3, 1)]


def test_local_memory_bumps_cull_and_expire_like_djangos_set_many() -> None:
    from django.core.cache.backends.locmem import LocMemCache

    from restflow.caching.backends import set_many

    params = {"OPTIONS": {"MAX_ENTRIES": 5, "CULL_FREQUENCY": 2}}
    ours = LocMemCache("rf-bump-ours", params)
    theirs = LocMemCache("rf-bump-theirs", params)
    ours.clear()
    theirs.clear()
    for n in range(3):
        mapping = {f"scope-{n}-{i}": tokens.new_token(60) for i in range(4)}
        set_many(ours, mapping, 60, 1)
        theirs.set_many(mapping, timeout=60, version=1)
        assert len(ours._cache) == len(theirs._cache) <= 5  # type: ignore[attr-defined]
        assert ours.get_many(list(mapping), version=1) == theirs.get_many(list(mapping), version=1)
    set_many(ours, {"forever": 1}, None, 1)
    assert ours.get("forever", version=1) == 1
    set_many(ours, {"gone": 1}, -1, 1)
    assert ours.get("gone", version=1) is None
