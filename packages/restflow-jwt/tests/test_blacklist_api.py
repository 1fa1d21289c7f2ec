"""The public blacklist functions: blacklist(token), is_blacklisted(jti) and async twins."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from jwt_testapp.support import AUTH, PASSWORD, REFRESH, WHOAMI, bearer

import restflow.authentication as auth
from restflow.authentication import AccessToken, RefreshToken, TokenBlacklist, TokenError, revocation
from restflow.authentication.models import BlacklistedToken

pytestmark = pytest.mark.django_db

MODEL = "restflow.authentication.jwt.ModelBlacklistBackend"


@pytest.fixture(params=["cache", "model"])
def backend(request: Any, configure_jwt: Any) -> str:
    if request.param == "model":
        configure_jwt(BLACKLIST_BACKEND=MODEL)
    return str(request.param)


def obtain(client: Any) -> dict[str, str]:
    response = client.post(AUTH, {"username": "alice", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def test_the_functions_are_exported() -> None:
    assert {"blacklist", "ablacklist", "is_blacklisted", "ais_blacklisted"} <= set(auth.__all__)
    # No submodule shadows the function once the backends module has been imported.
    import restflow.authentication.blacklist_backends  # noqa: F401

    assert auth.blacklist is revocation.blacklist
    assert callable(auth.blacklist)


def test_blacklisting_a_refresh_token_object_ends_its_refreshes(backend, user, client) -> None:
    tokens = obtain(client)
    refresh = RefreshToken.verify(tokens["refresh"])
    assert not auth.is_blacklisted(refresh.jti)
    assert auth.blacklist(refresh) == refresh.jti
    assert auth.is_blacklisted(refresh.jti)
    assert client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401
    if backend == "model":
        assert BlacklistedToken.objects.filter(jti=refresh.jti).exists()


def test_blacklisting_an_encoded_access_token_ends_its_requests(backend, user, client) -> None:
    tokens = obtain(client)
    assert client.get(WHOAMI, **bearer(tokens["access"])).status_code == 200
    jti = auth.blacklist(tokens["access"])
    assert jti == AccessToken.verify(tokens["access"]).jti
    assert auth.is_blacklisted(jti)
    assert client.get(WHOAMI, **bearer(tokens["access"])).status_code == 401


def test_a_forged_string_is_refused_and_nothing_is_written(user, client) -> None:
    tokens = obtain(client)
    forged = tokens["access"][:-4] + ("AAAA" if not tokens["access"].endswith("AAAA") else "BBBB")
    with pytest.raises(TokenError):
        auth.blacklist(forged)
    assert client.get(WHOAMI, **bearer(tokens["access"])).status_code == 200


def test_async_twins(backend, user, client) -> None:
    tokens = obtain(client)
    refresh = RefreshToken.verify(tokens["refresh"])
    assert not async_to_sync(auth.ais_blacklisted)(refresh.jti)
    assert async_to_sync(auth.ablacklist)(tokens["refresh"]) == refresh.jti
    assert async_to_sync(auth.ais_blacklisted)(refresh.jti)
    assert auth.is_blacklisted(refresh.jti)


def test_is_blacklisted_sees_a_revoked_session_given_its_sid(backend, user, client) -> None:
    refresh = RefreshToken.verify(obtain(client)["refresh"])
    assert refresh.sid
    TokenBlacklist.revoke_family(refresh.sid)
    assert not auth.is_blacklisted(refresh.jti)
    assert auth.is_blacklisted(refresh.jti, sid=refresh.sid)
    assert async_to_sync(auth.ais_blacklisted)(refresh.jti, sid=refresh.sid)
