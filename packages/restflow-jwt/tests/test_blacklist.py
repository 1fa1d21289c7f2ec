
"""Blacklist backends, facade, resolution, the model, its cleanup command and admin."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.utils import timezone
from jwt_testapp.backends import SyncOnly

from restflow.authentication import (
    BlacklistBackend,
    CacheBlacklistBackend,
    ModelBlacklistBackend,
    RefreshToken,
    TokenBlacklist,
)
from restflow.authentication.jwt import (
    BLACKLIST_CACHE_PREFIX,
    get_token_blacklist_backend,
    resolve_token_blacklist_backend,
)
from restflow.authentication.models import BlacklistedToken

pytestmark = pytest.mark.django_db

MODEL = "restflow.authentication.jwt.ModelBlacklistBackend"


def future(seconds: int = 3600) -> int:
    return int(time.time()) + seconds


@pytest.fixture(params=["cache", "model"])
def backend(request: Any) -> BlacklistBackend:
    return CacheBlacklistBackend() if request.param == "cache" else ModelBlacklistBackend()


def test_sync_round_trip_and_idempotence(backend: BlacklistBackend) -> None:
    assert not backend.is_blacklisted("j1")
    backend.blacklist("j1", expires_at=future())
    backend.blacklist("j1", expires_at=future())
    assert backend.is_blacklisted("j1")
    assert not backend.is_blacklisted("j2")


def test_async_round_trip(backend: BlacklistBackend) -> None:
    async_to_sync(backend.add)("j1", expires_at=future())
    assert async_to_sync(backend.ais_blacklisted)("j1")
    assert not async_to_sync(backend.ais_blacklisted)("j2")
    async_to_sync(backend.ablacklist)("j3", expires_at=future())
    assert backend.is_blacklisted("j3")


def test_consume_succeeds_once(backend: BlacklistBackend) -> None:
    assert backend.consume("j1", expires_at=future())
    assert not backend.consume("j1", expires_at=future())
    assert async_to_sync(backend.aconsume)("j2", expires_at=future())
    assert not async_to_sync(backend.aconsume)("j2", expires_at=future())
    assert backend.is_blacklisted("j1")
    assert backend.is_blacklisted("j2")


def test_model_backend_stores_expiry() -> None:
    expires = future(120)
    ModelBlacklistBackend().blacklist("j1", expires_at=expires)
    row = BlacklistedToken.objects.get(jti="j1")
    assert row.expires_at == datetime.fromtimestamp(expires, tz=UTC)
    assert "j1" in str(row)
    assert "BlacklistedToken" in str(row)


def test_cache_backend_refuses_locmem_unless_allowed(configure_jwt: Any) -> None:
    configure_jwt(BLACKLIST_ALLOW_LOCMEM=False)
    with pytest.raises(ImproperlyConfigured, match="LocMemCache") as info:
        CacheBlacklistBackend().is_blacklisted("j")
    assert "BLACKLIST_ALLOW_LOCMEM" in str(info.value)
    with pytest.raises(ImproperlyConfigured, match="LocMemCache"):
        TokenBlacklist.is_blacklisted("j")


def test_cache_backend_refuses_dummy_cache(settings: Any, configure_jwt: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    configure_jwt(BLACKLIST_ALLOW_LOCMEM=False)
    with pytest.raises(ImproperlyConfigured, match="DummyCache"):
        CacheBlacklistBackend().blacklist("j", expires_at=future())


@pytest.mark.redis
def test_cache_backend_on_redis_uses_alias_and_ttl(
    settings: Any, redis_url: str, configure_jwt: Any
) -> None:
    import redis

    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "blacklist": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url},
    }
    configure_jwt(BLACKLIST_CACHE_ALIAS="blacklist", BLACKLIST_ALLOW_LOCMEM=False)
    TokenBlacklist.blacklist("j1", expires_at=future(600))
    assert TokenBlacklist.is_blacklisted("j1")
    assert caches["default"].get(BLACKLIST_CACHE_PREFIX + "j1") is None
    client = redis.Redis.from_url(redis_url)
    keys = client.keys("*" + BLACKLIST_CACHE_PREFIX + "j1")
    assert len(keys) == 1
    assert 590 <= client.ttl(keys[0]) <= 601
    client.close()


@pytest.mark.redis
@pytest.mark.parametrize("jti", ["with space", "ctl\x00\x1f", "é" * 10, "x" * 300, "a:b"])
def test_hostile_token_ids_get_memcached_safe_keys_and_still_match(
    settings: Any, redis_url: str, configure_jwt: Any, jti: str
) -> None:
    import warnings

    import redis

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": redis_url}}
    configure_jwt(BLACKLIST_ALLOW_LOCMEM=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Django's CacheKeyWarning would be an error
        assert not TokenBlacklist.is_blacklisted(jti)
        TokenBlacklist.blacklist(jti, expires_at=future(600))
        assert TokenBlacklist.is_blacklisted(jti)
        assert not TokenBlacklist.is_blacklisted(jti + "2")
    client = redis.Redis.from_url(redis_url)
    [key] = client.keys("*" + BLACKLIST_CACHE_PREFIX + "*")
    client.close()
    assert len(key) <= 250
    assert all(33 <= byte < 127 for byte in key)


def test_facade_ignores_empty_jti() -> None:
    assert TokenBlacklist.is_blacklisted("") is False
    assert async_to_sync(TokenBlacklist.ais_blacklisted)("") is False


def test_facade_sync_and_async_agree() -> None:
    TokenBlacklist.blacklist("j1", expires_at=future())
    async_to_sync(TokenBlacklist.add)("j2", expires_at=future())
    for jti in ("j1", "j2"):
        assert TokenBlacklist.is_blacklisted(jti)
        assert async_to_sync(TokenBlacklist.ais_blacklisted)(jti)
    assert not TokenBlacklist.is_blacklisted("j3")


def test_switching_setting_switches_backend(user: Any, configure_jwt: Any) -> None:
    configure_jwt(BLACKLIST_BACKEND=MODEL)
    assert isinstance(get_token_blacklist_backend(), ModelBlacklistBackend)
    refresh = RefreshToken.for_user(user)
    refresh.blacklist()
    assert BlacklistedToken.objects.filter(jti=refresh.jti).exists()
    async_to_sync(RefreshToken.for_user(user).ablacklist)()
    assert BlacklistedToken.objects.count() == 2


def test_resolution_forms(caplog: Any) -> None:
    instance = ModelBlacklistBackend()
    assert resolve_token_blacklist_backend(instance) is instance
    assert isinstance(resolve_token_blacklist_backend(ModelBlacklistBackend), ModelBlacklistBackend)
    assert isinstance(resolve_token_blacklist_backend(MODEL), ModelBlacklistBackend)
    with caplog.at_level(logging.WARNING, logger="restflow.authentication"):
        assert isinstance(resolve_token_blacklist_backend(12345), CacheBlacklistBackend)
    assert "12345" in caplog.text


class AsyncOnly(BlacklistBackend):
    def __init__(self) -> None:
        self.entries: set[str] = set()

    async def ablacklist(self, jti: str, *, expires_at: int) -> None:
        self.entries.add(jti)

    async def ais_blacklisted(self, jti: str) -> bool:
        return jti in self.entries


@pytest.mark.parametrize("backend_class", [AsyncOnly, SyncOnly])
def test_base_class_bridges_missing_half(backend_class: type[BlacklistBackend]) -> None:
    backend = backend_class()
    backend.blacklist("a", expires_at=future())
    async_to_sync(backend.add)("b", expires_at=future())
    assert backend.is_blacklisted("b")
    assert async_to_sync(backend.ais_blacklisted)("a")
    assert backend.consume("c", expires_at=future())
    assert not backend.consume("c", expires_at=future())


def test_backend_without_either_half_raises() -> None:
    backend = BlacklistBackend()
    with pytest.raises(NotImplementedError, match="is_blacklisted"):
        backend.is_blacklisted("a")
    with pytest.raises(NotImplementedError, match="blacklist"):
        async_to_sync(backend.ablacklist)("a", expires_at=future())


def test_custom_backend_instance_through_facade(configure_jwt: Any, user: Any) -> None:
    backend = AsyncOnly()
    configure_jwt(BLACKLIST_BACKEND=backend)
    RefreshToken.for_user(user).blacklist()
    assert len(backend.entries) == 1
    assert TokenBlacklist.is_blacklisted(next(iter(backend.entries)))


def make_rows(*offsets: int) -> None:
    now = timezone.now()
    for index, offset in enumerate(offsets):
        BlacklistedToken.objects.create(jti=f"r{index}", expires_at=now + timedelta(seconds=offset))


def test_cleanup_expired() -> None:
    make_rows(-60, 3600)
    assert BlacklistedToken.cleanup_expired() == 1
    assert list(BlacklistedToken.objects.values_list("jti", flat=True)) == ["r1"]


def test_acleanup_expired() -> None:
    make_rows(-60, -120, 3600)
    assert async_to_sync(BlacklistedToken.acleanup_expired)() == 2
    assert BlacklistedToken.objects.count() == 1


def test_cleanup_keeps_rows_within_leeway(configure_jwt: Any) -> None:
    make_rows(-30, -120)
    configure_jwt(LEEWAY=timedelta(seconds=60))
    assert BlacklistedToken.cleanup_expired() == 1
    assert list(BlacklistedToken.objects.values_list("jti", flat=True)) == ["r0"]


def test_flush_command_deletes_in_batches() -> None:
    make_rows(*([-60] * 7), 3600)
    out = StringIO()
    call_command("restflow_flush_blacklist", batch_size=3, stdout=out)
    assert "Deleted 7" in out.getvalue()
    assert "3 batch" in out.getvalue()
    assert BlacklistedToken.objects.count() == 1


def test_flush_command_max_batches() -> None:
    make_rows(*([-60] * 5))
    call_command("restflow_flush_blacklist", batch_size=2, max_batches=1, stdout=StringIO())
    assert BlacklistedToken.objects.count() == 3


def test_admin_lists_and_searches_blacklist(admin_client: Any, settings: Any) -> None:
    settings.ROOT_URLCONF = "jwt_testapp.admin_urls"
    settings.MIDDLEWARE = [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
    ]
    make_rows(3600)
    url = "/admin/restflow_authentication/blacklistedtoken/"
    response = admin_client.get(url, {"q": "r0"})
    assert response.status_code == 200
    assert b"r0" in response.content


@pytest.mark.parametrize(
    "backend",
    [
        "django.core.cache.backends.db.DatabaseCache",
        "django.core.cache.backends.filebased.FileBasedCache",
        "django.core.cache.backends.dummy.DummyCache",
    ],
)
def test_cache_backend_refuses_caches_that_drop_entries(
    settings: Any, configure_jwt: Any, backend: str, tmp_path: Any
) -> None:
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": str(tmp_path)}}
    configure_jwt(BLACKLIST_ALLOW_LOCMEM=True)
    with pytest.raises(ImproperlyConfigured, match=backend.rsplit(".", 1)[1]) as info:
        CacheBlacklistBackend().blacklist("j", expires_at=future())
    assert "BLACKLIST_CACHE_ALIAS" in str(info.value)
    assert "ModelBlacklistBackend" in str(info.value)


@pytest.mark.django_db(transaction=True)
def test_database_cache_culls_blacklist_entries(settings: Any) -> None:
    """Why the check refuses DatabaseCache: 301 unrelated writes (MAX_ENTRIES defaults to
    300) delete the blacklist entry, and the revoked token would be accepted again."""
    settings.CACHES = {
        **settings.CACHES,
        "db": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "rf_jwt_cull"},
    }
    call_command("createcachetable", "rf_jwt_cull")
    try:
        cache = caches["db"]
        key = CacheBlacklistBackend._key("revoked-jti")
        cache.set(key, 1, 3600)
        assert cache.get(key) == 1
        for index in range(301):
            cache.set(f"unrelated:{index}", index, 3600)
        assert cache.get(key) is None
    finally:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE rf_jwt_cull")
