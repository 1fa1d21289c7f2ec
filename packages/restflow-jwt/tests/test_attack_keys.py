"""Algorithm / key confusion: every token not signed our way is a 401."""

from __future__ import annotations

import contextlib
import json
from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from jwt_testapp.forge import forge, hmac_signer, key_signer
from jwt_testapp.support import KEY_FAMILY, SECRET, WHOAMI, bearer

from restflow.authentication.jwt import (
    ASYMMETRIC_ALGORITHMS,
    HMAC_ALGORITHMS,
    AccessToken,
    build_jwt_payload,
)

pytestmark = pytest.mark.django_db

ALL = HMAC_ALGORITHMS + ASYMMETRIC_ALGORITHMS
LIFETIME = timedelta(minutes=5)


def public_key_forms(public_pem: bytes) -> dict[str, bytes]:
    """The server's public key as an attacker may find it published."""
    key = serialization.load_pem_public_key(public_pem)
    forms = {
        "pem": public_pem,
        "der": key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
    }
    with contextlib.suppress(ValueError):  # OpenSSH has no format for secp256k1
        forms["ssh"] = key.public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
    forms["jwk"] = json.dumps(_jwk_dict(key)).encode()
    return forms


def _jwk_dict(key: Any) -> dict[str, Any]:
    for name in ("RS256", "ES256", "ES384", "ES512", "ES256K", "EdDSA"):
        algorithm = jwt.get_algorithm_by_name(name)
        try:
            return json.loads(algorithm.to_jwk(key))  # type: ignore[no-any-return]
        except Exception:  # noqa: S112 - try the next family
            continue
    raise AssertionError("no JWK form")


@pytest.fixture
def server(configure_jwt: Any, key_pairs: Any, server_alg: str) -> None:
    """The API signs and verifies with the test's ``server_alg`` (and its key pair)."""
    if server_alg in HMAC_ALGORITHMS:
        configure_jwt(ALGORITHM=server_alg, SIGNING_KEY=SECRET)
    else:
        private_pem, public_pem = key_pairs[KEY_FAMILY[server_alg]]
        configure_jwt(ALGORITHM=server_alg, SIGNING_KEY=private_pem, VERIFYING_KEY=public_pem)


@pytest.fixture
def payload(user: Any, server: None) -> dict[str, Any]:
    """The claims of an access token of ``user`` on that server."""
    return build_jwt_payload(user, token_type="access", lifetime=LIFETIME)


def status(client: Any, token: str) -> int:
    return int(client.get(WHOAMI, **bearer(token)).status_code)


@pytest.mark.parametrize("server_alg", ALL)
def test_genuine_token_works_for_every_algorithm(
    user: Any, client: Any, server: None, server_alg: str
) -> None:
    token = AccessToken.for_user(user)
    assert jwt.get_unverified_header(str(token))["alg"] == server_alg
    assert status(client, str(token)) == 200


@pytest.mark.parametrize("server_alg", ALL)
@pytest.mark.parametrize("none_spelling", ["none", "None", "NONE", ""])
def test_unsigned_tokens(client: Any, payload: dict[str, Any], none_spelling: str) -> None:
    token = forge({"alg": none_spelling, "typ": "at+jwt"}, payload, None)
    assert status(client, token) == 401
    assert status(client, token.rstrip(".")) == 401


@pytest.mark.parametrize("server_alg", ASYMMETRIC_ALGORITHMS)
@pytest.mark.parametrize("hs_alg", HMAC_ALGORITHMS)
def test_hmac_signed_with_public_key_in_every_form(
    client: Any, key_pairs: Any, payload: dict[str, Any], server_alg: str, hs_alg: str
) -> None:
    forms = public_key_forms(key_pairs[KEY_FAMILY[server_alg]][1])
    for name, secret in forms.items():
        for alg in (hs_alg, server_alg):  # honest HS header, and the header lying about alg
            token = forge({"alg": alg, "typ": "at+jwt"}, payload, hmac_signer(hs_alg, secret))
            assert status(client, token) == 401, (name, alg)


@pytest.mark.parametrize("server_alg", ALL)
@pytest.mark.parametrize("attacker_alg", ASYMMETRIC_ALGORITHMS)
def test_tokens_signed_with_attacker_keys(
    client: Any, attacker_key_pairs: Any, payload: dict[str, Any], attacker_alg: str
) -> None:
    private_pem, _ = attacker_key_pairs[KEY_FAMILY[attacker_alg]]
    token = forge({"alg": attacker_alg, "typ": "at+jwt"}, payload, key_signer(attacker_alg, private_pem))
    assert status(client, token) == 401


@pytest.mark.parametrize("server_alg", HMAC_ALGORITHMS)
@pytest.mark.parametrize("attacker_alg", HMAC_ALGORITHMS)
def test_hmac_swaps_and_guessed_secrets(
    client: Any, payload: dict[str, Any], server_alg: str, attacker_alg: str
) -> None:
    guessed = forge({"alg": attacker_alg, "typ": "at+jwt"}, payload, hmac_signer(attacker_alg, b"secret"))
    assert status(client, guessed) == 401
    if attacker_alg != server_alg:  # the right secret under another HMAC is still refused
        swapped = forge(
            {"alg": attacker_alg, "typ": "at+jwt"}, payload, hmac_signer(attacker_alg, SECRET.encode())
        )
        assert status(client, swapped) == 401
    else:
        honest = forge(
            {"alg": server_alg, "typ": "at+jwt"}, payload, hmac_signer(server_alg, SECRET.encode())
        )
        assert status(client, honest) == 200  # control: the forge helper itself is sound
