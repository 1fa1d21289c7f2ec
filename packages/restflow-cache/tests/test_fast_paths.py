"""The fast paths that read other libraries' private attributes (issue 12, "Private
internals"): each is taken only for the exact stock class (a subclass, or a replaced
method, gets the public method), gives what its public fallback gives, and leaves the
user's objects (cache backends, Django's/django-redis's clients, connection pools) as
they were. docs/benchmarks.md ("What each fast path buys") gives what each one buys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.test import override_settings
from restflow_testbed.plugin import redis_cache_settings

from restflow.caching import ArgsKeyField, _get_many, _writes, cache_result, scopes, tokens

try:
    from django_redis.cache import RedisCache as DjangoRedisCache
except ImportError:  # pragma: no cover - django-redis is a test dependency
    DjangoRedisCache = None  # type: ignore[assignment,misc]

public_calls: list[str] = []


class PublicCalls:
    """A user's override of get_many/set_many: it must be the one called."""

    def get_many(self, *args: Any, **kwargs: Any) -> Any:
        public_calls.append("get_many")
        return super().get_many(*args, **kwargs)  # type: ignore[misc]

    def set_many(self, *args: Any, **kwargs: Any) -> Any:
        public_calls.append("set_many")
        return super().set_many(*args, **kwargs)  # type: ignore[misc]


class OwnLocMem(PublicCalls, LocMemCache):
    pass


class OwnRedis(PublicCalls, RedisCache):
    pass


if DjangoRedisCache is not None:

    class OwnDjangoRedis(PublicCalls, DjangoRedisCache):  # type: ignore[misc,valid-type]
        pass


# Per backend: the user's subclass, the fast read helper.
STOCK = ["locmem", "redis", "django_redis"]
SUBCLASS = {"locmem": "OwnLocMem", "redis": "OwnRedis", "django_redis": "OwnDjangoRedis"}
FAST_READ = {
    "locmem": "_locmem_get_many",
    "redis": "_redis_get_many",
    "django_redis": "_django_redis_get_many",
}
# The gate of each read, closed the way bench_fastpaths.py closes it.
CLOSED_READ = {
    "locmem": ("_BASE_GET_MANY", None),
    "redis": ("_REDIS_GET_MANY", None),
    "django_redis": ("_django_redis_get_many", lambda *args: None),
}


def conf(backend: str, redis_url: str, subclass: bool = False) -> dict[str, Any]:
    if backend == "locmem":
        params: dict[str, Any] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                  "LOCATION": "rf-fast-paths"}
    else:
        params = redis_cache_settings(redis_url, backend="django" if backend == "redis" else "django_redis")
    if subclass:
        params["BACKEND"] = f"{__name__}.{SUBCLASS[backend]}"
    return params


@pytest.fixture
def spies(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Names of the fast helpers that ran (wrapped, not replaced: they still read)."""
    ran: list[str] = []
    for name in (*FAST_READ.values(),):
        original = getattr(_get_many, name)

        def spy(*args: Any, _name: str = name, _original: Callable[..., Any] = original) -> Any:
            ran.append(_name)
            return _original(*args)

        monkeypatch.setattr(_get_many, name, spy)
    public_calls.clear()
    yield ran
    public_calls.clear()


def make_item() -> Any:
    @cache_result(key_constructor={"fields": {"item": ArgsKeyField("item_id")}}, ttl=600)
    def item(item_id: int) -> dict[str, Any]:
        item.runs += 1  # type: ignore[attr-defined]
        return {"id": item_id, "text": "é" * 3, "blob": b"\x80\x00", "n": 2**40}

    item.runs = 0  # type: ignore[attr-defined]
    return item


@pytest.mark.redis
@pytest.mark.parametrize("backend", STOCK)
def test_a_hit_reads_the_same_through_the_fast_path_and_the_public_one(
    backend: str, redis_url: str, spies: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    item = make_item()
    with override_settings(CACHES={"default": conf(backend, redis_url)}):
        stored = item(7)
        spies.clear()
        fast = item(7)
        assert spies == [FAST_READ[backend]]  # the gate is open for the stock class
        name, closed = CLOSED_READ[backend]
        with monkeypatch.context() as patch:
            patch.setattr(_get_many, name, closed)
            spies.clear()
            public = item(7)
            assert spies == []
        assert fast == public == stored
        assert item.runs == 1  # both were hits


@pytest.mark.redis
@pytest.mark.skipif(DjangoRedisCache is None, reason="django-redis is not installed")
@pytest.mark.parametrize("backend", STOCK)
def test_a_users_subclass_gets_its_own_get_many_and_set_many(
    backend: str, redis_url: str, spies: list[str]
) -> None:
    item = make_item()
    with override_settings(CACHES={"default": conf(backend, redis_url, subclass=True)}):
        caches["default"].clear()
        assert item(7) == item(7)
        assert item.runs == 1
        assert FAST_READ[backend] not in spies  # exact-class gate: no private reads
        assert public_calls.count("get_many") == 2  # the miss and the hit
        public_calls.clear()
        item.invalidate_all()  # a bump: the subclass's own set_many
        assert public_calls == ["set_many"]


@pytest.mark.redis
@pytest.mark.parametrize("backend", STOCK)
def test_a_bump_leaves_the_same_state_through_the_fast_path_and_the_public_one(
    backend: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [f"restflow:test:scope:{i}" for i in range(5)]
    with override_settings(CACHES={"default": conf(backend, redis_url)}):
        cache = caches["default"]
        cache.clear()
        scopes.bump_targets([("default", 2, scope, 600) for scope in names])
        fast = cache.get_many(names, version=2)
        sent: list[int] = []
        original = type(cache).set_many

        def public_set_many(self: Any, *args: Any, **kwargs: Any) -> Any:
            sent.append(1)
            return original(self, *args, **kwargs)

        cache.clear()
        with monkeypatch.context() as patch:
            if backend == "locmem":
                patch.setattr(_writes, "_BASE_SET_MANY", None)
            else:
                patch.setattr(_writes, "script_set_many", lambda *args: False)
            patch.setattr(cache, "set_many", public_set_many.__get__(cache))
            scopes.bump_targets([("default", 2, scope, 600) for scope in names])
        assert sent == [1]
        public = cache.get_many(names, version=2)
        assert sorted(fast) == sorted(public) == sorted(names)
        assert all(type(v) is int for v in [*fast.values(), *public.values()])
        if backend != "locmem":
            client = cache._cache.get_client() if backend == "redis" else cache.client.get_client()
            ttls = {client.ttl(cache.make_key(scope, version=2)) for scope in names}
            assert all(0 < ttl <= tokens.scope_life(600) for ttl in ttls)


@pytest.mark.redis
def test_a_redis_cache_with_another_client_class_reads_through_get_many(
    redis_url: str, spies: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.cache.backends.redis import RedisCacheClient

    class OwnClient(RedisCacheClient):
        def get_many(self, keys: Any) -> Any:
            public_calls.append("client.get_many")
            return super().get_many(keys)

    item = make_item()
    with override_settings(CACHES={"default": conf("redis", redis_url)}):
        cache = caches["default"]
        monkeypatch.setattr(cache, "_class", OwnClient)
        monkeypatch.delitem(vars(cache), "_cache", raising=False)  # built again, of OwnClient
        assert item(7) == item(7)
        assert item.runs == 1
        assert "client.get_many" in public_calls  # Django's own get_many reached it


def attribute_names(cache: Any) -> dict[str, set[str]]:
    """The attribute names of the user's backend and of the objects it owns."""
    names = {"cache": set(vars(cache))}
    if isinstance(cache, RedisCache):
        names["client"] = set(vars(cache._cache))
        pools = cache._cache._pools.values()
    elif DjangoRedisCache is not None and isinstance(cache, DjangoRedisCache):
        names["client"] = set(vars(cache.client))
        pools = [c.connection_pool for c in cache.client._clients if c is not None]
    else:
        pools = []
    for index, pool in enumerate(pools):
        names[f"pool{index}"] = set(vars(pool))
    return names


@pytest.mark.redis
@pytest.mark.parametrize("backend", STOCK)
def test_fast_paths_leave_the_users_objects_as_they_were(backend: str, redis_url: str) -> None:
    item = make_item()
    with override_settings(CACHES={"default": conf(backend, redis_url)}):
        cache = caches["default"]
        # The public API first: Django's own lazy attributes (clients, pools) exist.
        cache.set_many({"a": 1}, version=1)
        cache.get_many(["a"], version=1)
        cache.get_many(["a"], version=1)
        before = attribute_names(cache)
        item(7)
        item(7)
        item.invalidate_all()
        item(7)
        assert attribute_names(cache) == before


@pytest.mark.parametrize("used", ["csrf-token", "session"])
def test_a_refused_response_is_returned_as_the_view_built_it(used: str) -> None:
    """What forbids storing a response is remembered beside it, not set on it."""
    from django.contrib.sessions.backends.signed_cookies import SessionStore
    from django.http import HttpResponse
    from django.middleware.csrf import get_token
    from django.test import RequestFactory

    from restflow.caching import cache_response

    runs: list[int] = []

    def build(request: Any) -> HttpResponse:
        runs.append(1)
        shown = get_token(request) if used == "csrf-token" else request.session.get("note")
        return HttpResponse(f"<p>{shown}</p>", content_type="text/html")

    def request() -> Any:
        made = RequestFactory().get("/refused/")
        made.session = SessionStore()
        return made

    view = cache_response()(build)
    plain = build(request())
    runs.clear()
    response = view(request())
    assert set(vars(response)) == set(vars(plain))  # nothing added to the view's object
    view(request())
    assert len(runs) == 2  # and neither answer was stored


def test_locmem_writes_cull_order_and_expire_as_django_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """The local-memory write path (keys made once per names, one expiry per write) leaves
    the store Django's own ``set_many`` leaves: the same keys in the same order after a
    cull, each with its expiry."""
    params = {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "fast-path-cull",
        "OPTIONS": {"MAX_ENTRIES": 6, "CULL_FREQUENCY": 3},
    }
    batches = [{f"scope:{b}:{i}": b for i in range(4)} for b in range(4)]

    def store_after(fast: bool) -> tuple[list[str], list[str], list[float]]:
        with override_settings(CACHES={"default": params}):
            cache: Any = caches["default"]
            cache.clear()
            with monkeypatch.context() as patch:
                if not fast:
                    patch.setattr(_writes, "_BASE_SET_MANY", None)
                for batch in batches:
                    _writes.set_many(cache, dict(batch), 60, 1)
            keys = list(cache._cache)
            expiries = [cache._expire_info[key] for key in keys]
            return keys, sorted(cache.get_many([k for b in batches for k in b])), expiries

    fast_keys, fast_read, fast_expiries = store_after(fast=True)
    public_keys, public_read, public_expiries = store_after(fast=False)
    assert fast_keys == public_keys  # culled the same way
    assert len(fast_keys) <= 6
    assert fast_read == public_read
    assert all(abs(a - b) < 30 for a, b in zip(fast_expiries, public_expiries, strict=True))
    assert all(e > 0 for e in fast_expiries)
