"""JWTAuthentication, sync and async, step by step."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import RequestFactory
from rest_framework.exceptions import AuthenticationFailed

from restflow.authentication import AccessToken, JWTAuthentication, RefreshToken, TokenBlacklist
from restflow.authentication.jwt import build_jwt_payload, encode_token

pytestmark = pytest.mark.django_db

rf = RequestFactory()


def request_with(header: str | None) -> Any:
    extra = {} if header is None else {"HTTP_AUTHORIZATION": header}
    return rf.get("/", **extra)


@pytest.fixture(params=["sync", "async"])
def authenticate(request: Any) -> Any:
    auth = JWTAuthentication()
    if request.param == "sync":
        return auth.authenticate
    return async_to_sync(auth.aauthenticate)


def failure(authenticate: Any, header: str) -> AuthenticationFailed:
    with pytest.raises(AuthenticationFailed) as info:
        authenticate(request_with(header))
    return info.value


def test_valid_token_returns_user_and_token(user: Any, authenticate: Any) -> None:
    result = authenticate(request_with(f"Bearer {AccessToken.for_user(user)}"))
    assert result is not None
    assert result[0] == user
    assert result[1].payload["user_id"] == user.pk


@pytest.mark.parametrize("header", [None, "", "Basic dXNlcjpwYXNz", "Token abc"])
def test_headers_that_are_not_ours_return_none(authenticate: Any, header: str | None) -> None:
    assert authenticate(request_with(header)) is None


def test_lowercase_scheme_authenticates(user: Any, authenticate: Any) -> None:
    result = authenticate(request_with(f"bearer {AccessToken.for_user(user)}"))
    assert result is not None
    assert result[0] == user


def test_custom_header_types(user: Any, authenticate: Any, configure_jwt: Any) -> None:
    configure_jwt(AUTH_HEADER_TYPES="JWT")
    token = AccessToken.for_user(user)
    assert authenticate(request_with(f"Bearer {token}")) is None
    assert authenticate(request_with(f"JWT {token}"))[0] == user
    assert "'JWT <token>'" in str(failure(authenticate, "JWT a b").detail)


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Bearer a b"])
def test_malformed_header_mentions_scheme(authenticate: Any, header: str) -> None:
    error = failure(authenticate, header)
    assert "Bearer" in str(error.detail)
    assert error.get_codes() == "invalid_authorization_header"


def test_invalid_characters(authenticate: Any) -> None:
    error = failure(authenticate, "Bearer \xff\xfe")
    assert "invalid characters" in str(error.detail)


def test_expired_token(user: Any, authenticate: Any) -> None:
    payload = build_jwt_payload(user, token_type="access", lifetime=timedelta(seconds=-1))
    assert "expired" in str(failure(authenticate, f"Bearer {encode_token(payload)}").detail)


def test_refresh_token_is_not_an_access_token(user: Any, authenticate: Any) -> None:
    error = failure(authenticate, f"Bearer {RefreshToken.for_user(user)}")
    assert "Wrong token type" in str(error.detail)


def test_blacklisted_access_token(user: Any, authenticate: Any, configure_jwt: Any) -> None:
    token = AccessToken.for_user(user)
    token.blacklist()
    error = failure(authenticate, f"Bearer {token}")
    assert "blacklisted" in str(error.detail)
    assert error.get_codes() == "token_blacklisted"
    configure_jwt(BLACKLIST_ENABLED=False)
    assert authenticate(request_with(f"Bearer {token}"))[0] == user


def test_missing_user_claim(user: Any, authenticate: Any) -> None:
    payload = build_jwt_payload(user, token_type="access", lifetime=timedelta(minutes=1))
    del payload["user_id"]
    error = failure(authenticate, f"Bearer {encode_token(payload)}")
    assert "user identification" in str(error.detail)


def test_missing_user(user: Any, authenticate: Any) -> None:
    token = AccessToken.for_user(user)
    user.delete()
    error = failure(authenticate, f"Bearer {token}")
    assert "not found" in str(error.detail)
    assert error.get_codes() == "user_not_found"


@pytest.mark.parametrize("claim", ["abc", 2**80, -1, 1.5, True, ["1"], {"id": 1}, "1; DROP"])
def test_unusable_user_id_claims_are_user_not_found(
    user: Any, authenticate: Any, claim: Any
) -> None:
    payload = build_jwt_payload(user, token_type="access", lifetime=timedelta(minutes=1))
    payload["user_id"] = claim
    error = failure(authenticate, f"Bearer {encode_token(payload)}")
    assert error.get_codes() == "user_not_found"


def test_uuid_user_id_field(user: Any, authenticate: Any, configure_jwt: Any) -> None:
    configure_jwt(USER_ID_FIELD="uuid")
    assert authenticate(request_with(f"Bearer {AccessToken.for_user(user)}"))[0] == user
    payload = build_jwt_payload(user, token_type="access", lifetime=timedelta(minutes=1))
    payload["user_id"] = "not-a-uuid"
    assert failure(authenticate, f"Bearer {encode_token(payload)}").get_codes() == "user_not_found"


def test_inactive_user(user: Any, authenticate: Any, configure_jwt: Any) -> None:
    token = AccessToken.for_user(user)
    user.is_active = False
    user.save()
    error = failure(authenticate, f"Bearer {token}")
    assert "inactive" in str(error.detail)
    configure_jwt(CHECK_USER_IS_ACTIVE=False)
    assert authenticate(request_with(f"Bearer {token}"))[0] == user


def test_password_change_revokes_with_check_revoke_token(
    user: Any, authenticate: Any, configure_jwt: Any
) -> None:
    configure_jwt(CHECK_REVOKE_TOKEN=True)
    token = AccessToken.for_user(user)
    assert authenticate(request_with(f"Bearer {token}"))[0] == user
    user.set_password("a new password")
    user.save()
    error = failure(authenticate, f"Bearer {token}")
    assert "password" in str(error.detail)
    assert error.get_codes() == "password_changed"


def test_token_without_revoke_claim_fails_when_check_is_switched_on(
    user: Any, authenticate: Any, configure_jwt: Any
) -> None:
    token = AccessToken.for_user(user)
    configure_jwt(CHECK_REVOKE_TOKEN=True)
    assert failure(authenticate, f"Bearer {token}").get_codes() == "password_changed"


def rejecting_rule(user: Any) -> bool:
    return not user.username.startswith("a")


def test_user_authentication_rule_gates_every_request(
    user: Any, authenticate: Any, configure_jwt: Any
) -> None:
    token = AccessToken.for_user(user)
    configure_jwt(USER_AUTHENTICATION_RULE=f"{__name__}.rejecting_rule")
    error = failure(authenticate, f"Bearer {token}")
    assert error.get_codes() == "user_not_allowed"


def test_async_rule_coroutine(user: Any, configure_jwt: Any) -> None:
    async def rule(user: Any) -> bool:
        return False

    token = AccessToken.for_user(user)
    configure_jwt(USER_AUTHENTICATION_RULE=rule)
    with pytest.raises(AuthenticationFailed):
        async_to_sync(JWTAuthentication().aauthenticate)(request_with(f"Bearer {token}"))


def test_challenge_uses_first_header_type(configure_jwt: Any) -> None:
    auth = JWTAuthentication()
    assert auth.authenticate_header(request_with(None)) == 'Bearer realm="api"'
    configure_jwt(AUTH_HEADER_TYPES=("JWT", "Bearer"))
    assert auth.authenticate_header(request_with(None)) == 'JWT realm="api"'


def test_async_blacklist_helpers(user: Any) -> None:
    refresh = RefreshToken.for_user(user)
    async_to_sync(refresh.ablacklist)()
    assert async_to_sync(TokenBlacklist.ais_blacklisted)(refresh.jti)
    assert TokenBlacklist.is_blacklisted(refresh.jti)


@pytest.mark.parametrize("claim", ["sub", "uid"])
def test_custom_user_id_claim(user: Any, authenticate: Any, configure_jwt: Any, claim: str) -> None:
    configure_jwt(USER_ID_CLAIM=claim)
    token = AccessToken.for_user(user)
    assert "user_id" not in token.payload
    assert str(token.payload[claim]) == str(user.pk)
    assert authenticate(request_with(f"Bearer {token}"))[0] == user
    assert RefreshToken.for_user(user).access_token.payload[claim] == token.payload[claim]
