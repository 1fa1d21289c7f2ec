"""What each fast path buys: one operation a user feels, with the fast path and with the
public-API fallback its own gate would take (the gate forced closed by patching it).

Every row alternates two contenders doing the SAME operation: ``fast`` (the code as
shipped) and ``public`` (the same code with the fast path's gate closed). The ratio
``fast/public`` is the share of the operation's time left with the fast path; a fast
path buying less than ~10% (ratio above 0.9) is not worth reading another library's
private attributes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

from bench_env import bench_user, caches_for
from bench_harness import Contender, compare, make_record
from django.core.cache import caches
from django.test import RequestFactory, override_settings

OPTIONS: dict[str, Any] = {"rounds": 15, "min_block": 0.04}
WORTH = 0.9  # fast/public above this: the fast path buys less than ~10%

Patch = tuple[Any, str, Any]


def _block(op: Callable[[], Any], patches: list[Patch], reset: Callable[[], None] | None = None):
    """A block factory running ``op`` ``n`` times with ``patches`` applied (gates closed)."""

    @contextmanager
    def gates() -> Iterator[None]:
        with ExitStack() as stack:
            if reset is not None:
                reset()
                stack.callback(reset)
            for target, name, value in patches:
                stack.enter_context(mock.patch.object(target, name, value))
            yield

    def make(n: int) -> Callable[[], None]:
        def block() -> None:
            with gates():
                for _ in range(n):
                    op()

        return block

    return make


def _row(comparison: str, title: str, backend: str, op: Callable[[], Any], patches: list[Patch],
         notes: str, reset: Callable[[], None] | None = None) -> dict[str, Any]:
    result = compare(
        [Contender("fast", _block(op, [], reset)), Contender("public", _block(op, patches, reset))],
        **OPTIONS,
    )
    return make_record(
        f"fastpath.{comparison}",
        title,
        backend,
        result,
        ratios=[("fast", "public")],
        notes=notes,
    )


# --------------------------------------------------------------------------- cache reads


def bench_cache_result_hit(backend: str) -> list[dict[str, Any]]:
    """``@cache_result`` hit: ``backends.get_many``'s one-pass reads per backend (``_get_many``)."""
    from restflow.caching import ArgsKeyField, _get_many, _redis, cache_result

    @cache_result(key_constructor={"fields": {"item": ArgsKeyField("item_id")}}, ttl=3600)
    def item(item_id: int) -> dict[str, Any]:
        return {"id": item_id, "name": f"item {item_id}"}

    rows = []
    with override_settings(CACHES=caches_for(backend)):
        caches["default"].clear()
        item(7)

        def op() -> None:
            assert item(7)["id"] == 7

        if backend == "locmem":
            rows.append(_row("get_many.locmem", "@cache_result hit: LocMemCache one-pass get_many",
                             backend, op, [(_get_many, "_BASE_GET_MANY", None)],
                             "public: LocMemCache.get_many (per-key validation and lock)."))
        elif backend == "redis":
            rows.append(_row("get_many.redis", "@cache_result hit: RedisCache kept client + MGET",
                             backend, op, [(_get_many, "_REDIS_GET_MANY", None)],
                             "public: RedisCache.get_many (a new redis.Redis per call)."))
            rows.append(_row("mget_packed.redis",
                             "@cache_result hit: MGET packed once per key list, sent on a pooled "
                             "connection", backend, op, [(_redis, "stock_pool_class", lambda: None)],
                             "public: redis-py's execute_command('MGET')."))
        else:
            rows.append(_row("get_many.django_redis",
                             "@cache_result hit: django-redis one MGET + decode",
                             backend, op, [(_get_many, "_django_redis_get_many", lambda *a: None)],
                             "public: django_redis RedisCache.get_many."))
            rows.append(_row("mget_packed.django_redis",
                             "@cache_result hit: MGET packed once per key list, sent on a pooled "
                             "connection", backend, op, [(_redis, "stock_pool_class", lambda: None)],
                             "public: redis-py's execute_command('MGET')."))
    return rows


# --------------------------------------------------------------------------- bumps

SCOPES = 20


def bench_bump(backend: str) -> dict[str, Any]:
    """A bump of ``SCOPES`` scopes (one model save reaching 20 rules' scopes)."""
    from restflow.caching import _writes, scopes

    with override_settings(CACHES=caches_for(backend)):
        caches["default"].clear()
        targets = [("default", 1, f"restflow:bench:scope:{i}", 3600) for i in range(SCOPES)]

        def op() -> None:
            scopes.bump_targets(targets)

        if backend == "locmem":
            return _row("set_many.locmem", f"scope bump of {SCOPES} keys: LocMemCache one-lock set_many",
                        backend, op, [(_writes, "_BASE_SET_MANY", None)],
                        "public: LocMemCache.set_many (validation, pickle and lock per key).")
        return _row(f"script.{backend}", f"scope bump of {SCOPES} keys: one script call ({backend})",
                    backend, op, [(_writes, "script_set_many", lambda *a: False)],
                    "public: the backend's set_many (MULTI/EXEC with one command per key).")


# --------------------------------------------------------------------------- jwt


def _jwt_settings(blacklist: bool) -> dict[str, Any]:
    from django.conf import settings

    return {"JWT": {"SIGNING_KEY": settings.JWT_SECRET, "BLACKLIST_ENABLED": blacklist,
                    "ACCESS_TOKEN_LIFETIME": settings.LIFETIME}}


def bench_jwt(blacklist: bool) -> dict[str, Any]:
    from restflow.authentication import AccessToken, JWTAuthentication, redis_lookup, users
    from restflow.authentication.config import get_config

    with override_settings(CACHES=caches_for("redis"), RESTFLOW_SETTINGS=_jwt_settings(blacklist)):
        user = bench_user()
        request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
        auth = JWTAuthentication()

        def op() -> None:
            found, _ = auth.authenticate(request)  # type: ignore[misc]
            assert found.pk == user.pk

        if not blacklist:
            return _row("userquery", "JWTAuthentication.authenticate(): precompiled user query",
                        "sqlite", op, [(users, "compiled_user_lookup", lambda *a: None)],
                        "Blacklist off; public: model._default_manager.get(pk=...).")
        backend = get_config().blacklist_backend

        def reset() -> None:  # the reader/starter are chosen once per cache: choose again
            for name in ("_readers", "_starters"):
                memo = getattr(backend, name, None)
                if memo is not None:
                    memo.clear()

        return _row("redis_lookup", "JWTAuthentication.authenticate(): kept client for the blacklist GET",
                    "redis", op, [(redis_lookup, "_single_redis_client", lambda cache: None)],
                    "Blacklist on (cache backend, Django RedisCache); public: cache.get().",
                    reset=reset)


def bench_fresh_thread() -> dict[str, Any]:
    """A request's Redis work from a new thread, as Django runs sync code under ASGI
    servers: a blacklist read (``authenticate()``) and an ``@cache_result`` hit. Django
    makes a cache object per thread; ``public`` reads through its client (new connection
    pools, so a connect and a handshake each time), ``fast`` through the client restflow
    keeps per configuration (``restflow._redisclient.shared_cache_client``)."""
    import threading

    from restflow import _redisclient
    from restflow.authentication import AccessToken, JWTAuthentication
    from restflow.authentication.config import get_config
    from restflow.caching import ArgsKeyField, cache_result

    @cache_result(key_constructor={"fields": {"item": ArgsKeyField("item_id")}}, ttl=3600)
    def item(item_id: int) -> dict[str, Any]:
        return {"id": item_id, "name": f"item {item_id}"}

    with override_settings(CACHES=caches_for("redis"), RESTFLOW_SETTINGS=_jwt_settings(True)):
        caches["default"].clear()
        item(7)
        user = bench_user()
        request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
        auth = JWTAuthentication()
        backend = get_config().blacklist_backend

        def request_work() -> None:
            found, _ = auth.authenticate(request)  # type: ignore[misc]
            assert found.pk == user.pk
            assert item(7)["id"] == 7

        def op() -> None:
            thread = threading.Thread(target=request_work)
            thread.start()
            thread.join()

        def reset() -> None:  # the kept clients and readers: choose again under the gate
            _redisclient._shared.clear()
            for name in ("_readers", "_starters"):
                memo = getattr(backend, name, None)
                if memo is not None:
                    memo.clear()

        return _row("shared_client", "a request's blacklist read + @cache_result hit from a new thread "
                    "(Django under ASGI): one Redis client kept per cache configuration", "redis", op,
                    [(_redisclient, "SHARE_CLIENTS", False)],
                    "public: each thread's cache object and its own client (a new connection per "
                    "thread). Both sides start and join the thread.", reset=reset)


def run() -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for backend in ("locmem", "redis", "django_redis"):
        records += bench_cache_result_hit(backend)
        records.append(bench_bump(backend))
    records.append(bench_jwt(False))
    records.append(bench_jwt(True))
    records.append(bench_fresh_thread())
    return records
