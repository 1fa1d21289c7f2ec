"""Revocation: what happens to tokens issued before a user changed, and to replays."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from jwt_testapp.support import AUTH, BLACKLIST, PASSWORD, REFRESH, WHOAMI, bearer

from restflow.authentication.jwt import (
    BLACKLIST_CACHE_PREFIX,
    RefreshToken,
    TokenBlacklist,
    build_jwt_payload,
    encode_token,
)
from restflow.authentication.models import BlacklistedToken

pytestmark = pytest.mark.django_db


def obtain(client: Any) -> dict[str, str]:
    response = client.post(AUTH, {"username": "alice", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def change_password(user: Any, configure_jwt: Any) -> None:
    user.set_password("something else entirely")
    user.save()


def deactivate(user: Any, configure_jwt: Any) -> None:
    user.is_active = False
    user.save()


def delete(user: Any, configure_jwt: Any) -> None:
    user.delete()


def reject_by_rule(user: Any, configure_jwt: Any) -> None:
    configure_jwt(CHECK_REVOKE_TOKEN=True, USER_AUTHENTICATION_RULE=lambda u: False)


@pytest.mark.parametrize("event", [change_password, deactivate, delete, reject_by_rule])
def test_earlier_tokens_fail_at_next_request_and_at_refresh(
    user: Any, client: Any, configure_jwt: Any, event: Callable[[Any, Any], None]
) -> None:
    configure_jwt(CHECK_REVOKE_TOKEN=True)
    tokens = obtain(client)
    assert client.get(WHOAMI, **bearer(tokens["access"])).status_code == 200
    event(user, configure_jwt)
    assert client.get(WHOAMI, **bearer(tokens["access"])).status_code == 401
    response = client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 401
    assert "access" not in response.json()


def test_refresh_without_rotation_also_checks_user(user: Any, client: Any, configure_jwt: Any) -> None:
    configure_jwt(ROTATE_REFRESH_TOKENS=False)
    tokens = obtain(client)
    deactivate(user, configure_jwt)
    assert client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401


def test_rejected_refresh_does_not_burn_token_for_later(user: Any, client: Any, configure_jwt: Any) -> None:
    """A refresh the user check refuses redeems nothing: once the rule lets the user in
    again, the token still works. (A deactivated user's sessions end at reactivation:
    test_families.test_deactivation_ends_sessions_for_good.)"""
    tokens = obtain(client)
    configure_jwt(USER_AUTHENTICATION_RULE=lambda u: False)
    assert client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401
    configure_jwt()
    assert client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 200


def test_replay_of_rotated_token_ends_the_session(user: Any, client: Any) -> None:
    """RFC 9700 4.14.2: a replayed rotated token revokes its family, so the legitimate
    holder's newer refresh token (and access token) stop working too."""
    first = obtain(client)["refresh"]
    second = client.post(REFRESH, {"refresh": first}, format="json").json()
    replay = client.post(REFRESH, {"refresh": first}, format="json")
    assert replay.status_code == 401
    assert replay.json()["detail"] == "Refresh token was already used; its session has been revoked."
    refused = client.post(REFRESH, {"refresh": second["refresh"]}, format="json")
    assert refused.status_code == 401
    assert refused.json()["detail"] == "Session has been revoked."
    assert client.get(WHOAMI, **bearer(second["access"])).status_code == 401


def test_replay_after_logout(user: Any, client: Any) -> None:
    tokens = obtain(client)
    assert client.post(BLACKLIST, {"refresh": tokens["refresh"]}, format="json").status_code == 204
    assert client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401


def expired_refresh(user: Any, seconds_ago: int) -> RefreshToken:
    payload = build_jwt_payload(user, token_type="refresh", lifetime=timedelta(seconds=-seconds_ago))
    return RefreshToken(payload=payload, raw=encode_token(payload), token_type="refresh")


@pytest.mark.redis
def test_cache_entry_outlives_exp_plus_leeway(user: Any, client: Any, use_redis: str, settings: Any) -> None:
    import redis

    settings.RESTFLOW_SETTINGS = {"JWT": {**settings.RESTFLOW_SETTINGS["JWT"], "LEEWAY": 120}}
    token = expired_refresh(user, seconds_ago=10)  # expired, but still valid within LEEWAY
    assert client.post(REFRESH, {"refresh": str(token)}, format="json").status_code == 200
    connection = redis.Redis.from_url(use_redis)
    (key,) = connection.keys(f"*{BLACKLIST_CACHE_PREFIX}{token.jti}")
    assert connection.ttl(key) >= 100  # exp + 120 s - now = ~110 s
    connection.close()
    assert client.post(REFRESH, {"refresh": str(token)}, format="json").status_code == 401


def test_model_entry_outlives_exp_plus_leeway(user: Any, client: Any, configure_jwt: Any) -> None:
    configure_jwt(
        LEEWAY=timedelta(minutes=2), BLACKLIST_BACKEND="restflow.authentication.jwt.ModelBlacklistBackend"
    )
    token = expired_refresh(user, seconds_ago=10)
    assert client.post(REFRESH, {"refresh": str(token)}, format="json").status_code == 200
    assert BlacklistedToken.cleanup_expired() == 0
    assert TokenBlacklist.is_blacklisted(token.jti)
    assert client.post(REFRESH, {"refresh": str(token)}, format="json").status_code == 401
