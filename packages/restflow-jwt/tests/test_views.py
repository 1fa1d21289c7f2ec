"""The four views over WSGI (APIClient) and ASGI (AsyncClient)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient
from jwt_testapp.support import AUTH, BLACKLIST, MAYBE, PASSWORD, REFRESH, VERIFY, WHOAMI, bearer

from restflow.authentication import AccessToken, RefreshToken, TokenBlacklist

pytestmark = pytest.mark.django_db


class Answer:
    def __init__(self, status: int, body: bytes, headers: Any) -> None:
        self.status_code = status
        self.content = body
        self.headers = headers

    def json(self) -> Any:
        return json.loads(self.content)


@pytest.fixture(params=["wsgi", "asgi"])
def post(request: Any, client: Any) -> Any:
    """``post(url, data)`` through the WSGI or the ASGI handler."""
    if request.param == "wsgi":

        def wsgi(url: str, data: dict[str, Any], **extra: Any) -> Answer:
            response = client.post(url, data, format="json", **extra)
            return Answer(response.status_code, response.content, response.headers)

        return wsgi
    async_client = AsyncClient()

    def asgi(url: str, data: dict[str, Any], **extra: Any) -> Answer:
        response = async_to_sync(async_client.post)(
            url, json.dumps(data), content_type="application/json", **extra
        )
        return Answer(response.status_code, response.content, response.headers)

    return asgi


def obtain(post: Any) -> dict[str, str]:
    response = post(AUTH, {"username": "alice", "password": PASSWORD})
    assert response.status_code == 200, response.content
    return response.json()  # type: ignore[no-any-return]


def test_obtain_returns_working_tokens(user: Any, post: Any, client: Any) -> None:
    tokens = obtain(post)
    assert AccessToken.verify(tokens["access"]).payload["user_id"] == user.pk
    assert RefreshToken.verify(tokens["refresh"]).payload["user_id"] == user.pk
    response = client.get(WHOAMI, **bearer(tokens["access"]))
    assert response.status_code == 200
    assert response.json()["username"] == "alice"


@pytest.mark.parametrize(
    "body",
    [
        {"username": "alice", "password": "wrong"},
        {"username": "nobody", "password": PASSWORD},
    ],
)
def test_obtain_rejects_bad_credentials(user: Any, post: Any, body: dict[str, str]) -> None:
    response = post(AUTH, body)
    assert response.status_code == 401
    assert response.json()["detail"] == "No active account found with the given credentials."
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'


def test_obtain_keeps_password_whitespace(db: Any, post: Any, django_user_model: Any) -> None:
    django_user_model.objects.create_user(username="bob", password=" padded ")
    assert post(AUTH, {"username": "bob", "password": " padded "}).status_code == 200
    assert post(AUTH, {"username": "bob", "password": "padded"}).status_code == 401


def test_obtain_rejects_inactive_user_and_honours_rule(
    user: Any, post: Any, configure_jwt: Any
) -> None:
    configure_jwt(USER_AUTHENTICATION_RULE=lambda u: u is not None and u.email.endswith(".org"))
    assert post(AUTH, {"username": "alice", "password": PASSWORD}).status_code == 401
    configure_jwt()
    user.is_active = False
    user.save()
    assert post(AUTH, {"username": "alice", "password": PASSWORD}).status_code == 401


def test_refresh_rotates_and_blacklists_old_token(user: Any, post: Any) -> None:
    tokens = obtain(post)
    response = post(REFRESH, {"refresh": tokens["refresh"]})
    assert response.status_code == 200
    body = response.json()
    assert AccessToken.verify(body["access"]).payload["user_id"] == user.pk
    new_refresh = RefreshToken.verify(body["refresh"])
    old = RefreshToken.verify(tokens["refresh"])
    assert new_refresh.jti != old.jti
    assert TokenBlacklist.is_blacklisted(old.jti)
    assert post(REFRESH, {"refresh": body["refresh"]}).status_code == 200
    replay = post(REFRESH, {"refresh": tokens["refresh"]})
    assert replay.status_code == 401
    assert "already used" in replay.json()["detail"]


def test_refresh_without_rotation(user: Any, post: Any, configure_jwt: Any) -> None:
    configure_jwt(ROTATE_REFRESH_TOKENS=False)
    tokens = obtain(post)
    for _ in range(2):
        response = post(REFRESH, {"refresh": tokens["refresh"]})
        assert response.status_code == 200
        assert set(response.json()) == {"access"}
    assert not TokenBlacklist.is_blacklisted(RefreshToken.verify(tokens["refresh"]).jti)


@pytest.mark.parametrize("value", ["not.a.token", "garbage", "a" * 9000])
def test_refresh_rejects_invalid_tokens(db: Any, post: Any, value: str) -> None:
    response = post(REFRESH, {"refresh": value})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'


def test_refresh_rejects_access_token(user: Any, post: Any) -> None:
    response = post(REFRESH, {"refresh": obtain(post)["access"]})
    assert response.status_code == 401
    assert "Wrong token type" in response.json()["detail"]


@pytest.mark.parametrize(
    ("url", "body", "missing"), [(AUTH, {"username": "alice"}, "password"), (REFRESH, {}, "refresh")]
)
def test_obtain_and_refresh_validate_the_body(
    db: Any, post: Any, url: str, body: dict[str, str], missing: str
) -> None:
    response = post(url, body)
    assert response.status_code == 400
    assert response.json() == {missing: ["This field is required."]}


def test_blacklist_view(user: Any, post: Any) -> None:
    tokens = obtain(post)
    response = post(BLACKLIST, {"refresh": tokens["refresh"]})
    assert response.status_code == 204
    assert response.content == b""
    assert post(BLACKLIST, {"refresh": tokens["refresh"]}).status_code == 204
    assert post(REFRESH, {"refresh": tokens["refresh"]}).status_code == 401
    assert post(BLACKLIST, {"refresh": "garbage"}).status_code == 401


def test_blacklist_view_works_with_blacklist_disabled(user: Any, post: Any, configure_jwt: Any) -> None:
    configure_jwt(BLACKLIST_ENABLED=False)
    tokens = obtain(post)
    assert post(BLACKLIST, {"refresh": tokens["refresh"]}).status_code == 204
    assert TokenBlacklist.is_blacklisted(RefreshToken.verify(tokens["refresh"]).jti)


def test_verify_view(user: Any, post: Any) -> None:
    tokens = obtain(post)
    for token in tokens.values():
        response = post(VERIFY, {"token": token})
        assert response.status_code == 200
        assert response.json() == {}
    assert post(VERIFY, {"token": "garbage"}).status_code == 401
    RefreshToken.verify(tokens["refresh"]).blacklist()
    response = post(VERIFY, {"token": tokens["refresh"]})
    assert response.status_code == 401
    assert "blacklisted" in response.json()["detail"]


def refuse_user(user: Any, change: str, configure_jwt: Any) -> None:
    if change == "deleted":
        user.delete()
    elif change == "inactive":
        user.is_active = False
        user.save()
    elif change == "password":
        user.set_password("a new password")
        user.save()
    else:
        configure_jwt(CHECK_REVOKE_TOKEN=True, USER_AUTHENTICATION_RULE=lambda _user: False)


VERIFY_REFUSALS = {
    "deleted": "User not found.",
    "inactive": "User is inactive.",
    "password": "The user's password has been changed.",
    "rule": "User is not allowed to authenticate.",
}


@pytest.mark.parametrize("change", list(VERIFY_REFUSALS))
def test_verify_view_applies_the_user_checks_of_authentication(
    user: Any, post: Any, client: Any, configure_jwt: Any, change: str
) -> None:
    """Verify answers what a request with the token would get: 401 for a user who can no
    longer authenticate, with the same message."""
    configure_jwt(CHECK_REVOKE_TOKEN=True)
    tokens = obtain(post)
    assert post(VERIFY, {"token": tokens["access"]}).status_code == 200
    refuse_user(user, change, configure_jwt)
    assert client.get(WHOAMI, **bearer(tokens["access"])).status_code == 401
    for token in tokens.values():
        response = post(VERIFY, {"token": token})
        assert response.status_code == 401, (change, response.content)
        assert response.json()["detail"] == VERIFY_REFUSALS[change], response.content


@pytest.mark.parametrize("url", [AUTH, REFRESH, BLACKLIST, VERIFY])
def test_views_are_post_only(db: Any, client: Any, url: str) -> None:
    assert client.get(url).status_code == 405
    assert client.options(url).status_code == 200


def test_protected_view_without_token_challenges(db: Any, client: Any) -> None:
    response = client.get(WHOAMI)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert client.get(MAYBE).json() == {"authenticated": False}


def test_protected_view_over_asgi(user: Any) -> None:
    token = AccessToken.for_user(user)
    async_client = AsyncClient()
    response = async_to_sync(async_client.get)(WHOAMI, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert json.loads(response.content)["username"] == "alice"


def test_url_include_names(db: Any) -> None:
    from django.urls import reverse

    assert reverse("restflow_authentication:token_refresh") == REFRESH
    assert reverse("restflow_authentication:token_verify") == VERIFY
