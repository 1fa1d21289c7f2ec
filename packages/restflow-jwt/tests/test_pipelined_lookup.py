"""The blacklist GET overlaps the user query on Redis without changing any verdict."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import caches
from jwt_testapp.support import WHOAMI, bearer

from restflow.authentication import AccessToken, TokenBlacklist

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


def in_use_connections() -> int:
    client = caches["default"]._cache.get_client(write=False)
    return len(client.connection_pool._in_use_connections)


def test_blacklist_verdict_wins_over_user_errors(user: Any, client: Any, use_redis: str) -> None:
    token = AccessToken.for_user(user)
    token.blacklist()
    user.delete()
    response = client.get(WHOAMI, **bearer(token))
    assert response.status_code == 401
    assert response.json()["detail"] == "Token has been blacklisted."


def test_user_errors_still_reported_when_not_blacklisted(user: Any, client: Any, use_redis: str) -> None:
    token = AccessToken.for_user(user)
    user.is_active = False
    user.save()
    assert client.get(WHOAMI, **bearer(token)).json()["detail"] == "User is inactive."


def test_no_connection_is_leaked(user: Any, client: Any, use_redis: str, django_user_model: Any) -> None:
    good = AccessToken.for_user(user)
    revoked = AccessToken.for_user(user)
    revoked.blacklist()
    ghost = AccessToken.for_user(django_user_model.objects.create_user(username="ghost"))
    django_user_model.objects.filter(username="ghost").delete()
    for _ in range(20):
        assert client.get(WHOAMI, **bearer(good)).status_code == 200
        assert client.get(WHOAMI, **bearer(revoked)).status_code == 401
        assert client.get(WHOAMI, **bearer(ghost)).status_code == 401
    assert in_use_connections() == 0


def test_start_lookup_on_other_backends_answers_at_once(configure_jwt: Any) -> None:
    configure_jwt(BLACKLIST_BACKEND="restflow.authentication.jwt.ModelBlacklistBackend")
    TokenBlacklist.blacklist("j1", expires_at=2_000_000_000)
    assert TokenBlacklist.start_lookup("j1")() is True
    assert TokenBlacklist.start_lookup("j2")() is False
    assert TokenBlacklist.start_lookup("")() is False


def test_reply_lost_in_flight_is_read_again(user: Any, client: Any, use_redis: str, monkeypatch: Any) -> None:
    import redis.connection

    token = AccessToken.for_user(user)
    assert client.get(WHOAMI, **bearer(token)).status_code == 200
    token.blacklist()
    original = redis.connection.AbstractConnection.read_response
    failures: list[int] = []

    def flaky(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not failures:
            failures.append(1)
            raise redis.ConnectionError("connection reset in flight")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(redis.connection.AbstractConnection, "read_response", flaky)
    response = client.get(WHOAMI, **bearer(token))
    assert failures == [1]
    assert response.status_code == 401
    assert response.json()["detail"] == "Token has been blacklisted."
    assert in_use_connections() == 0


def test_pools_that_require_the_command_name(
    user: Any, client: Any, use_redis: str, settings: Any, configure_jwt: Any
) -> None:
    """redis-py 5.0-5.2 pools: ``get_connection()`` without the command name was a TypeError,
    i.e. "revocation list unavailable" (503) on every request."""
    from jwt_testapp.redis_pools import CommandNamePool

    old_pool = {**settings.CACHES["default"], "OPTIONS": {"pool_class": CommandNamePool}}
    settings.CACHES = {**settings.CACHES, "old_pool": old_pool}
    good = AccessToken.for_user(user)
    revoked = AccessToken.for_user(user)
    revoked.blacklist()  # through the stock pool of the default alias: the same Redis keys
    configure_jwt(BLACKLIST_CACHE_ALIAS="old_pool", BLACKLIST_ALLOW_LOCMEM=False)
    CommandNamePool.command_names.clear()
    response = client.get(WHOAMI, **bearer(good))
    assert response.status_code == 200, response.content
    response = client.get(WHOAMI, **bearer(revoked))
    assert response.status_code == 401, response.content
    assert response.json()["detail"] == "Token has been blacklisted."
    assert CommandNamePool.command_names == ["GET", "GET"]
