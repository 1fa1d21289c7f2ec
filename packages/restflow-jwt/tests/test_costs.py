"""What one authenticated request costs: pinned counts of queries and cache round trips."""

from __future__ import annotations

from typing import Any

import pytest
import redis
import redis.connection
from django.core.cache import caches
from jwt_testapp.support import AUTH, PASSWORD, REFRESH, SECRET, WHOAMI, bearer

from restflow.authentication import AccessToken, RefreshToken, TokenBlacklist

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


@pytest.fixture
def redis_commands(monkeypatch: Any) -> list[str]:
    """Every command any connection in this process sends to Redis."""
    seen: list[str] = []
    original = redis.connection.AbstractConnection.send_command

    def counting(self: Any, *args: Any, **options: Any) -> Any:
        seen.append(str(args[0]))
        return original(self, *args, **options)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_command", counting)
    return seen


def test_authenticated_request_is_one_query_and_one_cache_read(
    user: Any, client: Any, use_redis: str, redis_commands: list[str], django_assert_num_queries: Any
) -> None:
    token = str(AccessToken.for_user(user))
    assert client.get(WHOAMI, **bearer(token)).status_code == 200  # warm connections
    redis_commands.clear()
    with django_assert_num_queries(1):
        response = client.get(WHOAMI, **bearer(token))
    assert response.status_code == 200
    assert redis_commands == ["MGET"]  # the token's id and its user's revocation epoch


def test_session_check_rides_in_the_same_read(
    user: Any, client: Any, use_redis: str, redis_commands: list[str], django_assert_num_queries: Any
) -> None:
    """A token with a family (``sid``): its id and its family record in one MGET, and the
    revoked family is refused by that same single read."""
    tokens = client.post(AUTH, {"username": "alice", "password": PASSWORD}, format="json").json()
    access = AccessToken.verify(tokens["access"])
    assert access.sid
    assert client.get(WHOAMI, **bearer(access)).status_code == 200  # warm connections
    redis_commands.clear()
    with django_assert_num_queries(1):
        assert client.get(WHOAMI, **bearer(access)).status_code == 200
    assert redis_commands == ["MGET"]
    TokenBlacklist.revoke_family(access.sid)
    redis_commands.clear()
    response = client.get(WHOAMI, **bearer(access))
    assert response.status_code == 401
    assert response.json()["detail"] == "Token has been blacklisted."
    assert redis_commands == ["MGET"]


def test_session_check_on_django_redis_is_one_mget(
    user: Any, client: Any, settings: Any, redis_url: str, redis_commands: list[str]
) -> None:
    from restflow_testbed.plugin import redis_cache_settings

    settings.CACHES = {"default": redis_cache_settings(redis_url, backend="django_redis")}
    settings.RESTFLOW_SETTINGS = {"JWT": {"SIGNING_KEY": SECRET}}
    access = RefreshToken.for_user(user).access_token
    assert client.get(WHOAMI, **bearer(access)).status_code == 200
    redis_commands.clear()
    assert client.get(WHOAMI, **bearer(access)).status_code == 200
    assert redis_commands == ["MGET"]
    TokenBlacklist.revoke_family(access.sid)
    redis_commands.clear()
    assert client.get(WHOAMI, **bearer(access)).status_code == 401
    assert redis_commands == ["MGET"]


def test_blacklist_off_means_no_cache_read(
    user: Any,
    client: Any,
    use_redis: str,
    settings: Any,
    redis_commands: list[str],
    django_assert_num_queries: Any,
) -> None:
    settings.RESTFLOW_SETTINGS = {"JWT": {**settings.RESTFLOW_SETTINGS["JWT"], "BLACKLIST_ENABLED": False}}
    token = str(AccessToken.for_user(user))
    with django_assert_num_queries(1):
        assert client.get(WHOAMI, **bearer(token)).status_code == 200
    assert redis_commands == []


def test_refresh_is_one_query_one_family_read_and_one_atomic_write(
    user: Any, client: Any, use_redis: str, redis_commands: list[str], django_assert_num_queries: Any
) -> None:
    refresh = str(RefreshToken.for_user(user))
    caches["default"].get("warm-up")  # open the pooled connection (HELLO etc.) first
    redis_commands.clear()
    with django_assert_num_queries(1):
        response = client.post(REFRESH, {"refresh": refresh}, format="json")
    assert response.status_code == 200
    # MGET: neither the family nor the user is revoked; SET NX EX: check and blacklist
    # in one step
    assert redis_commands == ["MGET", "SET"]


def test_model_backend_costs_one_more_query(
    user: Any, client: Any, configure_jwt: Any, django_assert_num_queries: Any
) -> None:
    configure_jwt(BLACKLIST_BACKEND="restflow.authentication.jwt.ModelBlacklistBackend")
    token = str(AccessToken.for_user(user))
    with django_assert_num_queries(2):
        assert client.get(WHOAMI, **bearer(token)).status_code == 200
    with_family = RefreshToken.for_user(user).access_token
    with django_assert_num_queries(2):  # the id and the family record: one IN query
        assert client.get(WHOAMI, **bearer(with_family)).status_code == 200
    TokenBlacklist.revoke_family(with_family.sid)
    with django_assert_num_queries(2):
        assert client.get(WHOAMI, **bearer(with_family)).status_code == 401


def test_user_epoch_rides_in_the_same_read(
    user: Any, client: Any, use_redis: str, redis_commands: list[str], django_assert_num_queries: Any
) -> None:
    """Log out everywhere is one SET however many sessions the user has, and every
    request still costs one MGET (the token's id, its family, its user's epoch: three
    keys) and one SQL query, before and after the revocation."""
    login = {"username": "alice", "password": PASSWORD}
    sessions = [client.post(AUTH, login, format="json").json() for _ in range(5)]
    access = [AccessToken.verify(tokens["access"]) for tokens in sessions]
    assert client.get(WHOAMI, **bearer(access[0])).status_code == 200  # warm connections
    redis_commands.clear()
    with django_assert_num_queries(1):
        assert client.get(WHOAMI, **bearer(access[0])).status_code == 200
    assert redis_commands == ["MGET"]
    redis_commands.clear()
    TokenBlacklist.revoke_user(user.pk)
    assert redis_commands == ["SET"]
    for token in access:
        redis_commands.clear()
        with django_assert_num_queries(1):
            response = client.get(WHOAMI, **bearer(token))
        assert response.status_code == 401
        assert redis_commands == ["MGET"]
    fresh = client.post(AUTH, login, format="json").json()
    redis_commands.clear()
    with django_assert_num_queries(1):
        assert client.get(WHOAMI, **bearer(fresh["access"])).status_code == 200
    assert redis_commands == ["MGET"]


def test_user_epoch_on_the_model_backend_is_in_the_one_query(
    user: Any, client: Any, configure_jwt: Any, django_assert_num_queries: Any
) -> None:
    """The model backend: the user's epoch is one more id in the same ``jti IN (...)``
    query (user query + blacklist query = 2), and revoking is one upsert."""
    configure_jwt(BLACKLIST_BACKEND="restflow.authentication.jwt.ModelBlacklistBackend")
    access = [RefreshToken.for_user(user).access_token for _ in range(5)]
    with django_assert_num_queries(2) as captured:
        assert client.get(WHOAMI, **bearer(access[0])).status_code == 200
    lookup = [q["sql"] for q in captured.captured_queries if "blacklistedtoken" in q["sql"].lower()]
    assert len(lookup) == 1
    assert f"u:{user.pk}" in lookup[0]
    assert access[0].sid in lookup[0]
    with django_assert_num_queries(1):
        TokenBlacklist.revoke_user(user.pk)
    for token in access:
        with django_assert_num_queries(2):
            assert client.get(WHOAMI, **bearer(token)).status_code == 401
    fresh = RefreshToken.for_user(user).access_token
    with django_assert_num_queries(2):
        assert client.get(WHOAMI, **bearer(fresh)).status_code == 200
