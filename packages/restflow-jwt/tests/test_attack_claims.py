"""Claims and headers an attacker controls: issuer, audience, JOSE parameters, size, type."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
import pytest
from jwt_testapp.forge import forge, hmac_signer
from jwt_testapp.support import REFRESH, SECRET, VERIFY, WHOAMI, bearer

from restflow.authentication.jwt import (
    MAX_TOKEN_LENGTH,
    AccessToken,
    RefreshToken,
    TokenError,
    build_jwt_payload,
)

pytestmark = pytest.mark.django_db

SIGN = hmac_signer("HS256", SECRET.encode())
HEADER = {"alg": "HS256", "typ": "at+jwt"}


def access_payload(user: Any, **claims: Any) -> dict[str, Any]:
    payload = build_jwt_payload(user, token_type="access", lifetime=timedelta(minutes=5))
    payload.update(claims)
    return payload


def status(client: Any, token: str) -> int:
    return int(client.get(WHOAMI, **bearer(token)).status_code)


@pytest.mark.parametrize(
    "iss",
    [
        "https://issuer.example.evil",
        "https://issuer.exampl",
        "https://issuer.example/",
        "",
        None,
        ["https://issuer.example"],
        1,
        {"iss": "https://issuer.example"},
    ],
)
def test_issuer_must_match_exactly(user: Any, client: Any, configure_jwt: Any, iss: Any) -> None:
    configure_jwt(ISSUER="https://issuer.example")
    claims = {} if iss is None else {"iss": iss}
    payload = access_payload(user, **claims)
    if iss is None:
        payload.pop("iss")
    assert status(client, forge(HEADER, payload, SIGN)) == 401
    assert status(client, forge(HEADER, access_payload(user), SIGN)) == 200  # control


@pytest.mark.parametrize(
    "aud",
    ["ap", "api2", "xapi", "API", ["other"], [], ["ap", "pi"], 7, [7], {"aud": "api"}, None],
)
def test_audience_must_match_exactly(user: Any, client: Any, configure_jwt: Any, aud: Any) -> None:
    configure_jwt(AUDIENCE="api")
    payload = access_payload(user)
    if aud is None:
        payload.pop("aud")
    else:
        payload["aud"] = aud
    assert status(client, forge(HEADER, payload, SIGN)) == 401
    assert status(client, forge(HEADER, access_payload(user), SIGN)) == 200


def test_audience_list_setting(user: Any, client: Any, configure_jwt: Any) -> None:
    configure_jwt(AUDIENCE=["api", "admin"])
    assert status(client, str(AccessToken.for_user(user))) == 200
    assert status(client, forge(HEADER, access_payload(user, aud="admin"), SIGN)) == 200
    assert status(client, forge(HEADER, access_payload(user, aud="other"), SIGN)) == 401


def test_token_with_audience_is_refused_when_none_configured(user: Any, client: Any) -> None:
    assert status(client, forge(HEADER, access_payload(user, aud="api"), SIGN)) == 401


@pytest.mark.parametrize(
    "extra",
    [
        {"crit": ["exp"]},
        {"crit": ["b64"], "b64": False},
        {"crit": []},
        {"jku": "https://evil.example/jwks.json"},
        {"x5u": "https://evil.example/cert.pem"},
        {"jwk": {"kty": "oct", "k": "c2VjcmV0"}},
        {"x5c": ["MIIB"]},
        {"typ": "JWT"},
        {"typ": "rt+jwt"},
        {"alg": "HS512"},
    ],
)
def test_hostile_headers_rejected_before_key_work(
    user: Any, client: Any, monkeypatch: Any, extra: dict[str, Any]
) -> None:
    token = forge({**HEADER, **extra}, access_payload(user), SIGN)
    assert status(client, token) == 401

    def no_key_work(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("signature verification reached")

    monkeypatch.setattr(jwt, "decode", no_key_work)
    with pytest.raises(TokenError):
        AccessToken.verify(token)


def test_oversize_token_rejected_before_parsing(user: Any, client: Any, monkeypatch: Any) -> None:
    payload = access_payload(user, padding="x" * MAX_TOKEN_LENGTH)
    token = forge(HEADER, payload, SIGN)
    assert status(client, token) == 401
    assert client.post(REFRESH, {"refresh": token}, format="json").status_code == 401
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: pytest.fail("decoded"))
    with pytest.raises(TokenError, match="longer than"):
        AccessToken.verify(token)


def test_token_just_under_the_bound_still_works(user: Any, client: Any) -> None:
    payload = access_payload(user, padding="")
    size = len(forge(HEADER, payload, SIGN))
    payload["padding"] = "x" * ((MAX_TOKEN_LENGTH - size) * 3 // 4 - 4)
    token = forge(HEADER, payload, SIGN)
    assert len(token) <= MAX_TOKEN_LENGTH
    assert status(client, token) == 200


def test_refresh_token_never_authenticates(user: Any, client: Any) -> None:
    assert status(client, str(RefreshToken.for_user(user))) == 401
    lying_header = forge(
        HEADER, build_jwt_payload(user, token_type="refresh", lifetime=timedelta(days=1)), SIGN
    )
    assert status(client, lying_header) == 401


def test_access_token_never_refreshes(user: Any, client: Any) -> None:
    response = client.post(REFRESH, {"refresh": str(AccessToken.for_user(user))}, format="json")
    assert response.status_code == 401
    lying_header = forge({"alg": "HS256", "typ": "rt+jwt"}, access_payload(user), SIGN)
    assert client.post(REFRESH, {"refresh": lying_header}, format="json").status_code == 401


def test_verify_view_rejects_unknown_token_types(user: Any, client: Any) -> None:
    payload = access_payload(user, token_type="id")
    token = forge({"alg": "HS256", "typ": "JWT"}, payload, SIGN)
    assert client.post(VERIFY, {"token": token}, format="json").status_code == 401


def test_not_yet_valid_tokens_rejected(user: Any, client: Any) -> None:
    payload = access_payload(user)
    payload["nbf"] = payload["iat"] + 3600
    assert status(client, forge(HEADER, payload, SIGN)) == 401
    payload = access_payload(user)
    payload["iat"] += 3600
    assert status(client, forge(HEADER, payload, SIGN)) == 401


@pytest.mark.parametrize("exp", ["tomorrow", None, 1e400, [1]])
def test_malformed_time_claims(user: Any, client: Any, exp: Any) -> None:
    payload = access_payload(user)
    payload["exp"] = exp
    assert status(client, forge(HEADER, payload, SIGN)) == 401
