"""ACCESS_TOKEN_PROFILE = "rfc9068": access tokens another resource server can validate."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from jwt_testapp.keyrings import LIFETIME, entry, new_private_pem, ring_settings
from jwt_testapp.support import WHOAMI, bearer

from restflow.authentication.checks import check_jwt_settings
from restflow.authentication.codec import encode_token
from restflow.authentication.jwt import AccessToken, RefreshToken, build_jwt_payload

pytestmark = pytest.mark.django_db

PROFILE = {
    "ACCESS_TOKEN_PROFILE": "rfc9068",
    "ISSUER": "https://as.example.test",
    "AUDIENCE": "https://rs.example.test",
    "CLIENT_ID": "mobile-app",
}
#: RFC 9068 section 2.2: the claims every JWT access token carries.
REQUIRED = ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"]


@pytest.fixture(scope="module")
def pem() -> bytes:
    return new_private_pem("ES256")


@pytest.fixture
def profile(settings: Any, pem: bytes) -> None:
    settings.RESTFLOW_SETTINGS = ring_settings(entry(pem, "ES256", "active"), **PROFILE)


def validate_as_another_resource_server(token: str, pem: bytes) -> dict[str, Any]:
    """RFC 9068 section 4, with PyJWT alone: typ, signature, iss, aud, required claims."""
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"
    public = jwt.get_algorithm_by_name("ES256").prepare_key(pem).public_key()
    return jwt.decode(
        token,
        public,
        algorithms=["ES256"],
        issuer=PROFILE["ISSUER"],
        audience=PROFILE["AUDIENCE"],
        options={"require": REQUIRED},
    )


def test_access_tokens_carry_the_rfc9068_claims(profile: None, pem: bytes, user: Any, client: Any) -> None:
    issued = str(AccessToken.for_user(user))
    refreshed = str(RefreshToken.for_user(user).access_token)
    for token in (issued, refreshed):
        claims = validate_as_another_resource_server(token, pem)
        assert claims["sub"] == str(user.pk)
        assert claims["client_id"] == "mobile-app"
        assert client.get(WHOAMI, **bearer(token)).status_code == 200
    assert "client_id" not in RefreshToken.for_user(user).payload


@pytest.mark.parametrize("missing", ["sub", "client_id", "aud", "iss"])
def test_access_token_without_a_required_claim_is_refused(
    profile: None, user: Any, client: Any, missing: str
) -> None:
    payload = build_jwt_payload(user, token_type="access", lifetime=LIFETIME)
    del payload[missing]
    response = client.get(WHOAMI, **bearer(encode_token(payload)))
    assert response.status_code == 401
    assert missing in response.json()["detail"]


def test_default_profile_adds_nothing(settings: Any, pem: bytes, user: Any) -> None:
    settings.RESTFLOW_SETTINGS = ring_settings(entry(pem, "ES256", "active"))
    assert {"sub", "client_id"}.isdisjoint(AccessToken.for_user(user).payload)


@pytest.mark.parametrize(
    ("jwt_settings", "text"),
    [
        ({"ACCESS_TOKEN_PROFILE": "oauth"}, "is not known"),
        ({"ACCESS_TOKEN_PROFILE": "rfc9068"}, "ISSUER, AUDIENCE, CLIENT_ID not set"),
        ({**PROFILE, "CLIENT_ID": None}, "CLIENT_ID not set"),
    ],
)
def test_profile_check(configure_jwt: Any, jwt_settings: dict[str, Any], text: str) -> None:
    configure_jwt(**jwt_settings)
    found = {m.id: m for m in check_jwt_settings()}
    assert text in found["restflow_authentication.E016"].msg
    configure_jwt(**PROFILE)
    assert check_jwt_settings() == []
