"""Authentication keeps nothing alive that Django makes per thread.

Django makes a cache object, with its own Redis connection pool, and a database connection
object per thread (per asyncio context under ASGI). uvicorn and other ASGI servers run each
request's sync code in a new thread, and so does ``runserver``: a new cache object and a
new connection object per request, dropped by Django afterwards. The load rig under
uvicorn found the blacklist's kept Redis reader holding every such cache object, so
Redis connections piled up (9,000 after a minute) until Redis refused new ones and every
request answered 503. These tests authenticate from many fresh threads, as those servers
do, and check that the objects Django dropped are collected and their Redis connections
closed.
"""

from __future__ import annotations

import gc
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from asgiref.sync import async_to_sync
from django.core.cache import caches
from django.db import connections
from django.test import RequestFactory, override_settings
from jwt_testapp.support import SECRET
from restflow_testbed.redis_server import connected_clients

from restflow.authentication import AccessToken, JWTAuthentication

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]

THREADS = 25


@pytest.fixture
def redis_url(private_redis: Any) -> str:
    """A redis-server of the test's own: other tests' connections to the shared server
    would blur the connection counts."""
    return str(private_redis().url)


@pytest.fixture
def redis_cache(redis_url: str) -> Iterator[Any]:
    backend = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}
    jwt = override_settings(RESTFLOW_SETTINGS={"JWT": {"SIGNING_KEY": SECRET}})
    with override_settings(CACHES={"default": backend}), jwt:
        yield caches["default"]


def in_fresh_threads(work: Callable[[], Any]) -> list[Any]:
    """Run ``work`` once in each of ``THREADS`` new threads, one after the other; return
    weak references to the cache and connection objects each thread used."""
    seen: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
            seen.append(weakref.ref(caches["default"]))
            seen.append(weakref.ref(connections["default"]))
        except BaseException as exc:  # reported by the test
            errors.append(exc)
        finally:
            connections.close_all()  # what Django does at the end of a request

    for _ in range(THREADS):
        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
    assert not errors, errors
    return seen


def settle(url: str, at_most: int) -> int:
    """Redis's count of connected clients once it is ``at_most`` or less, or after 10 s
    (a closed socket reaches the server a moment later)."""
    deadline = time.monotonic() + 10
    while True:
        gc.collect()
        count = connected_clients(url)
        if count <= at_most or time.monotonic() > deadline:
            return count
        time.sleep(0.1)


def authenticate_sync(access: str) -> Callable[[], Any]:
    def work() -> None:
        request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {access}")
        user, _ = JWTAuthentication().authenticate(request)
        assert user.username == "alice"

    return work


def authenticate_async(access: str) -> Callable[[], Any]:
    def work() -> None:
        request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {access}")
        user, _ = async_to_sync(JWTAuthentication().aauthenticate)(request)
        assert user.username == "alice"

    return work


@pytest.mark.parametrize("authenticate", [authenticate_sync, authenticate_async], ids=["sync", "async"])
def test_objects_of_finished_threads_are_collected(
    redis_cache: Any, redis_url: str, user: Any, authenticate: Callable[[str], Callable[[], Any]]
) -> None:
    access = str(AccessToken.for_user(user))
    authenticate(access)()  # this thread's objects: kept by Django for the test's thread
    before = connected_clients(redis_url)
    seen = in_fresh_threads(authenticate(access))
    gc.collect()
    alive = [ref() for ref in seen if ref() is not None]
    # The compiled user query keeps the converters of the last connection it used (one
    # per alias, already closed); nothing else of a finished thread stays.
    assert alive in ([], [seen[-1]()]), f"{len(alive)} per-thread objects kept alive: {alive[:4]}"
    # ... and their Redis connections closed: no connection per request left behind.
    assert settle(redis_url, before) <= before


def test_a_revoked_token_is_refused_from_every_thread(redis_cache: Any, user: Any) -> None:
    """The readers kept per cache object read the right cache in every thread."""
    from restflow.authentication import TokenBlacklist

    token = AccessToken.for_user(user)
    TokenBlacklist.blacklist(token.payload["jti"], expires_at=token.payload["exp"])
    refused: list[str] = []

    def work() -> None:
        request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")
        try:
            JWTAuthentication().authenticate(request)
        except Exception as exc:  # AuthenticationFailed
            refused.append(getattr(exc, "get_codes", lambda: "")())

    in_fresh_threads(work)
    assert refused == ["token_blacklisted"] * THREADS


@pytest.mark.parametrize("authenticate", [authenticate_sync, authenticate_async], ids=["sync", "async"])
def test_fresh_threads_open_no_redis_connection_of_their_own(
    redis_cache: Any, redis_url: str, user: Any, authenticate: Callable[[str], Callable[[], Any]]
) -> None:
    """The blacklist reads through the client restflow keeps per cache configuration:
    a request in a new thread reuses its pooled connection instead of connecting (a TCP
    connect and a handshake per request under ASGI servers, otherwise)."""
    access = str(AccessToken.for_user(user))
    authenticate(access)()
    before = connected_clients(redis_url)
    in_fresh_threads(authenticate(access))
    assert connected_clients(redis_url) <= before  # counted at once: no garbage collection needed


def test_blacklist_writes_from_fresh_threads_open_no_redis_connection(
    redis_cache: Any, redis_url: str, user: Any
) -> None:
    """Logouts and rotations write the blacklist (``set``, and ``add`` for a one-time use)
    through the client kept per configuration too, with the key and expiry
    ``cache.set`` / ``cache.add`` would use."""
    from uuid import uuid4

    from restflow.authentication import TokenBlacklist
    from restflow.authentication.config import get_config

    backend = get_config().blacklist_backend
    expires_at = AccessToken.for_user(user).payload["exp"]
    TokenBlacklist.blacklist(uuid4().hex, expires_at=expires_at)
    before = connected_clients(redis_url)
    longest = backend._timeout(expires_at)  # no later write asks for more
    written: list[str] = []
    outcomes: list[tuple[bool, ...]] = []

    def work() -> None:
        jti, spent, redeemed = uuid4().hex, uuid4().hex, uuid4().hex
        TokenBlacklist.blacklist(jti, expires_at=expires_at)
        outcomes.append((
            backend.consume(spent, expires_at=expires_at),
            backend.consume(spent, expires_at=expires_at),
            backend.redeem(redeemed, expires_at=expires_at, at=7)[0],
            backend.redeem(redeemed, expires_at=expires_at, at=8) == (False, 7),
        ))
        written.append(jti)

    in_fresh_threads(work)
    assert connected_clients(redis_url) <= before  # counted at once: no garbage collection needed
    assert outcomes == [(True, False, True, True)] * THREADS
    assert all(TokenBlacklist.is_blacklisted(jti) for jti in written)
    server = redis.Redis.from_url(redis_url)
    try:
        ttl = server.ttl(caches["default"].make_key(backend._key(written[0])))
    finally:
        server.close()
    assert 0 < ttl <= longest
