"""The JWKS endpoint: public keys only, RFC 7517/7518 members, Cache-Control from the schedule."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
import pytest
from jwt_testapp.jwks_server import serve_django
from jwt_testapp.keyrings import REFRESH_LIFETIME, ago, entry, kid_of, new_private_pem, ring_settings
from jwt_testapp.support import SECRET

from restflow.authentication.jwt import AccessToken
from restflow.authentication.keyring import jwk_thumbprint

pytestmark = pytest.mark.django_db

JWKS = "/jwt_testapp/auth/.well-known/jwks.json"

#: RFC 7518 section 6: the public members of each key type (plus RFC 7517 kid/alg/use).
PUBLIC_MEMBERS = {
    "RSA": {"kty", "n", "e"},
    "EC": {"kty", "crv", "x", "y"},
    "OKP": {"kty", "crv", "x"},  # RFC 8037
}
COMMON = {"kid", "alg", "use"}


@pytest.fixture(scope="module")
def pems() -> dict[str, bytes]:
    return {alg: new_private_pem(alg) for alg in ("RS256", "ES256", "EdDSA")}


def max_age(response: Any) -> int:
    directives = dict(
        part.strip().partition("=")[::2] for part in response["Cache-Control"].split(",")
    )
    assert "public" in directives
    return int(directives["max-age"])


def test_publishes_every_verifying_key_with_public_members_only(
    settings: Any, client: Any, pems: dict[str, bytes]
) -> None:
    settings.RESTFLOW_SETTINGS = ring_settings(
        entry(pems["RS256"], "RS256", "retired", RETIRED_AT=ago(timedelta(minutes=1))),
        entry(pems["ES256"], "ES256", "active"),
        entry(pems["EdDSA"], "EdDSA", "next"),
        entry(SECRET, "HS512", "next"),
    )
    response = client.get(JWKS)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    keys = response.json()["keys"]
    assert [key["alg"] for key in keys] == ["RS256", "ES256", "EdDSA"]  # the HS512 secret is not there
    for key in keys:
        assert set(key) == PUBLIC_MEMBERS[key["kty"]] | COMMON
        assert key["use"] == "sig"
        assert key["kid"] == jwk_thumbprint(key)
        assert jwt.PyJWK(key).algorithm_name == key["alg"]
    assert {key["crv"] for key in keys if "crv" in key} == {"P-256", "Ed25519"}


def test_hmac_ring_publishes_nothing(client: Any) -> None:
    response = client.get(JWKS)
    assert response.status_code == 200
    assert response.json() == {"keys": []}
    assert SECRET not in response.content.decode()


def test_get_and_head_only(client: Any) -> None:
    assert client.post(JWKS).status_code == 405
    assert client.head(JWKS).status_code == 200


def test_cache_control_follows_the_rotation_schedule(
    settings: Any, client: Any, pems: dict[str, bytes]
) -> None:
    active = entry(pems["ES256"], "ES256", "active")
    settings.RESTFLOW_SETTINGS = ring_settings(active, JWKS_MAX_AGE=timedelta(minutes=15))
    assert max_age(client.get(JWKS)) == 900
    # A retired key dropped in 2 minutes: no cache may keep the set longer than that.
    retired_at = ago(REFRESH_LIFETIME - timedelta(minutes=2))
    settings.RESTFLOW_SETTINGS = ring_settings(
        active,
        entry(pems["RS256"], "RS256", "retired", RETIRED_AT=retired_at),
        JWKS_MAX_AGE=timedelta(minutes=15),
    )
    response = client.get(JWKS)
    assert 110 <= max_age(response) <= 120
    assert len(response.json()["keys"]) == 2
    # Once dropped, it is no longer published and the full max-age is back.
    settings.RESTFLOW_SETTINGS = ring_settings(
        active,
        entry(pems["RS256"], "RS256", "retired", RETIRED_AT=ago(REFRESH_LIFETIME * 2)),
        JWKS_MAX_AGE=timedelta(minutes=15),
    )
    response = client.get(JWKS)
    assert max_age(response) == 900
    assert [key["alg"] for key in response.json()["keys"]] == ["ES256"]


def test_jwks_url_service_publishes_no_keys(settings: Any, client: Any) -> None:
    settings.RESTFLOW_SETTINGS = {
        "JWT": {
            "JWKS_URL": "http://127.0.0.1:9/jwks.json",
            "ALGORITHM": "ES256",
            "ISSUER": "i",
            "AUDIENCE": "a",
        }
    }
    assert client.get(JWKS).status_code == 404


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "EdDSA"])
def test_round_trip_through_pyjwkclient(
    settings: Any, pems: dict[str, bytes], user: Any, algorithm: str
) -> None:
    settings.RESTFLOW_SETTINGS = ring_settings(entry(pems[algorithm], algorithm, "active"))
    token = str(AccessToken.for_user(user))
    with serve_django() as base_url:
        client = jwt.PyJWKClient(base_url + JWKS, timeout=10)
        signing_key = client.get_signing_key_from_jwt(token)
    assert signing_key.key_id == kid_of(token)
    claims = jwt.decode(token, signing_key.key, algorithms=[signing_key.algorithm_name])
    assert claims["user_id"] == user.pk
    assert claims["exp"] > claims["iat"]
