"""The key ring: kid in every token, lookup by kid, staged rotation next -> active -> retired."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from jwt_testapp.forge import forge, hmac_signer
from jwt_testapp.keyrings import (
    LIFETIME,
    REFRESH_LIFETIME,
    ago,
    entry,
    kid_of,
    new_private_pem,
    ring_settings,
    sign_with,
)
from jwt_testapp.support import SECRET, WHOAMI, bearer

from restflow.authentication import codec
from restflow.authentication.config import get_config
from restflow.authentication.jwt import AccessToken, JWTConfigurationError, RefreshToken, build_jwt_payload
from restflow.authentication.keyring import jwk_thumbprint

pytestmark = pytest.mark.django_db

# RFC 7638 section 3.1: this RSA key's SHA-256 thumbprint.
RFC7638_KEY = {
    "kty": "RSA",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP"
    "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY3"
    "68QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4l"
    "Fd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}


@pytest.fixture(scope="module")
def pems() -> dict[str, bytes]:
    """One private key per algorithm family the ring mixes."""
    return {alg: new_private_pem(alg) for alg in ("RS256", "ES256", "EdDSA")}


def use(settings: Any, restflow_settings: dict[str, Any]) -> None:
    settings.RESTFLOW_SETTINGS = restflow_settings


def whoami(client: Any, token: object) -> Any:
    return client.get(WHOAMI, **bearer(token))


def test_rfc7638_thumbprint_example() -> None:
    assert jwk_thumbprint(RFC7638_KEY) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_single_signing_key_is_a_ring_of_one(user: Any, client: Any) -> None:
    token = AccessToken.for_user(user)
    kid = kid_of(str(token))
    assert kid == jwk_thumbprint({"kty": "oct", "k": jwt.utils.base64url_encode(SECRET.encode()).decode()})
    assert whoami(client, token).status_code == 200


def test_token_without_kid_from_before_the_ring_still_verifies(user: Any, client: Any) -> None:
    payload = build_jwt_payload(user, token_type="access", lifetime=LIFETIME)
    legacy = forge({"alg": "HS256", "typ": "at+jwt"}, payload, hmac_signer("HS256", SECRET.encode()))
    assert whoami(client, legacy).status_code == 200


def test_ring_signs_with_the_active_key_and_its_algorithm(
    settings: Any, pems: dict[str, bytes], user: Any, client: Any
) -> None:
    use(settings, ring_settings(
        entry(pems["ES256"], "ES256", "next"),
        entry(pems["EdDSA"], "EdDSA", "active", KID="ed-2026"),
    ))
    token = str(AccessToken.for_user(user))
    header = jwt.get_unverified_header(token)
    assert (header["alg"], header["kid"]) == ("EdDSA", "ed-2026")
    assert whoami(client, token).status_code == 200


def test_staged_rotation(settings: Any, pems: dict[str, bytes], user: Any, client: Any) -> None:
    rsa, ec, ed = pems["RS256"], pems["ES256"], pems["EdDSA"]
    # Stage 1: RSA signs, the EC key is published as the next one.
    use(settings, ring_settings(entry(rsa, "RS256", "active"), entry(ec, "ES256", "next")))
    by_rsa = str(AccessToken.for_user(user))
    refresh_by_rsa = str(RefreshToken.for_user(user))
    # Another instance already promoted the EC key: its tokens verify here too.
    use(settings, ring_settings(entry(rsa, "RS256", "next"), entry(ec, "ES256", "active")))
    by_ec = str(AccessToken.for_user(user))
    use(settings, ring_settings(entry(rsa, "RS256", "active"), entry(ec, "ES256", "next")))
    assert whoami(client, by_ec).status_code == 200

    # Stage 2: the EC key signs, RSA is retired, Ed25519 is next.
    stage_2 = ring_settings(
        entry(rsa, "RS256", "retired", RETIRED_AT=ago(timedelta(0))),  # retired just now
        entry(ec, "ES256", "active"),
        entry(ed, "EdDSA", "next"),
    )
    use(settings, stage_2)
    assert kid_of(str(AccessToken.for_user(user))) == kid_of(by_ec)
    for token in (by_rsa, by_ec):
        assert whoami(client, token).status_code == 200
    assert RefreshToken.verify(refresh_by_rsa).payload["user_id"] == user.pk

    # A token the retired key signed after its retirement is refused.
    late = build_jwt_payload(user, token_type="access", lifetime=LIFETIME)
    forged = sign_with(rsa, "RS256", kid_of(by_rsa), late)
    use(settings, ring_settings(
        entry(rsa, "RS256", "retired", RETIRED_AT=ago(timedelta(minutes=1))),
        entry(ec, "ES256", "active"),
    ))
    response = whoami(client, forged)
    assert response.status_code == 401
    assert "retired key after its retirement" in response.json()["detail"]
    assert whoami(client, by_ec).status_code == 200

    # Stage 3: the longest token lifetime has passed since retirement: RSA is dropped.
    use(settings, ring_settings(
        entry(rsa, "RS256", "retired", RETIRED_AT=ago(REFRESH_LIFETIME + timedelta(seconds=1))),
        entry(ec, "ES256", "active"),
    ))
    response = whoami(client, by_rsa)
    assert response.status_code == 401
    assert response.json()["detail"] == "Token key id is not recognised."
    assert whoami(client, by_ec).status_code == 200


def test_algorithm_comes_from_the_key_not_the_header(
    settings: Any, pems: dict[str, bytes], user: Any, client: Any
) -> None:
    use(settings, ring_settings(entry(pems["RS256"], "RS256", "active")))
    kid = kid_of(str(AccessToken.for_user(user)))
    public_pem = serialization.load_pem_private_key(pems["RS256"], None).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    payload = build_jwt_payload(user, token_type="access", lifetime=LIFETIME)
    confused = forge({"alg": "HS256", "typ": "at+jwt", "kid": kid}, payload, hmac_signer("HS256", public_pem))
    response = whoami(client, confused)
    assert response.status_code == 401
    assert response.json()["detail"] == "Token signing algorithm is not accepted."


@pytest.mark.parametrize("kid", ["forged-kid", None, ["list"], 7])
def test_unknown_kid_is_refused_before_any_key_work(
    settings: Any, pems: dict[str, bytes], user: Any, client: Any, monkeypatch: Any, kid: Any
) -> None:
    use(settings, ring_settings(entry(pems["ES256"], "ES256", "active")))
    payload = build_jwt_payload(user, token_type="access", lifetime=LIFETIME)
    header = {"alg": "ES256", "typ": "at+jwt"} | ({} if kid is None else {"kid": kid})
    token = sign_with(pems["ES256"], "ES256", "unused", payload)
    head = forge(header, payload, None).split(".")[0]
    token = ".".join([head, *token.split(".")[1:]])

    def no_key_work(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("jwt.decode ran for a token whose kid is unknown")

    monkeypatch.setattr(codec.jwt, "decode", no_key_work)
    response = whoami(client, token)
    assert response.status_code == 401
    assert response.json()["detail"] == "Token key id is not recognised."


def test_ring_lookup_is_a_dict_of_kids(settings: Any, pems: dict[str, bytes]) -> None:
    use(settings, ring_settings(
        entry(pems["RS256"], "RS256", "retired", RETIRED_AT=ago(timedelta(minutes=1))),
        entry(pems["ES256"], "ES256", "active"),
        entry(pems["EdDSA"], "EdDSA", "next", KID="upcoming"),
    ))
    ring = get_config().key_ring
    assert set(ring.verifying) == {key.kid for key in ring.keys}
    assert ring.verifying["upcoming"].algorithm == "EdDSA"
    assert ring.active is not None
    assert ring.active.algorithm == "ES256"


@pytest.mark.parametrize(
    ("states", "message"),
    [
        (("next", "retired"), "has 0 active keys"),
        (("active", "active"), "has 2 active keys"),
        (("active", "retiring"), "['STATE'] = 'retiring'"),
    ],
)
def test_misconfigured_ring_is_a_configuration_error(
    settings: Any, pems: dict[str, bytes], user: Any, states: tuple[str, str], message: str
) -> None:
    extra = {"RETIRED_AT": ago(timedelta(minutes=1))}
    use(settings, ring_settings(
        entry(pems["RS256"], "RS256", states[0], **(extra if states[0] == "retired" else {})),
        entry(pems["ES256"], "ES256", states[1], **(extra if states[1] == "retired" else {})),
    ))
    with pytest.raises(JWTConfigurationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        AccessToken.for_user(user)
