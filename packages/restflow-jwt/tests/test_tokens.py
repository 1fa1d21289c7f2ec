"""Tokens: claims, round trips, types, rotation, configuration errors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt as pyjwt
import pytest
from django.core.exceptions import ImproperlyConfigured
from jwt_testapp.support import SECRET

from restflow.authentication import AccessToken, JWTConfigurationError, RefreshToken, TokenError
from restflow.authentication.jwt import (
    build_jwt_payload,
    decode_token,
    default_user_authentication_rule,
    encode_token,
    get_jwt_settings,
    get_password_hash,
    get_user_authentication_rule,
    validate_algorithm,
    validate_signing_key_shape,
)

pytestmark = pytest.mark.django_db


def test_access_round_trip_keeps_user_and_type(user: Any) -> None:
    token = AccessToken.verify(str(AccessToken.for_user(user)))
    assert token.payload["user_id"] == user.pk
    assert token.token_type == "access"
    assert token.payload["token_type"] == "access"
    assert pyjwt.get_unverified_header(token.raw)["typ"] == "at+jwt"


def test_refresh_round_trip_keeps_user_and_type(user: Any) -> None:
    token = RefreshToken.verify(str(RefreshToken.for_user(user)))
    assert token.payload["user_id"] == user.pk
    assert token.token_type == "refresh"
    assert pyjwt.get_unverified_header(token.raw)["typ"] == "rt+jwt"


def test_claims_of_issued_token(user: Any, configure_jwt: Any) -> None:
    configure_jwt(ACCESS_TOKEN_LIFETIME=timedelta(minutes=7))
    token = AccessToken.for_user(user)
    assert set(token.payload) == {"token_type", "iat", "exp", "jti", "user_id"}
    assert token.exp - token.payload["iat"] == 7 * 60
    assert len(token.jti) >= 16
    assert token.jti != AccessToken.for_user(user).jti
    assert str(token) == token.raw


def test_refresh_as_access_and_access_as_refresh_fail(user: Any) -> None:
    with pytest.raises(TokenError, match="Wrong token type"):
        AccessToken.verify(str(RefreshToken.for_user(user)))
    with pytest.raises(TokenError, match="Wrong token type"):
        RefreshToken.verify(str(AccessToken.for_user(user)))


def test_token_type_claim_and_header_must_agree(user: Any) -> None:
    payload = build_jwt_payload(user, token_type="refresh", lifetime=timedelta(minutes=5))
    forged = pyjwt.encode(payload, SECRET, algorithm="HS256", headers={"typ": "at+jwt"})
    with pytest.raises(TokenError, match="Wrong token type"):
        AccessToken.verify(forged)
    with pytest.raises(TokenError, match="Wrong token type"):
        RefreshToken.verify(forged)


def test_minted_access_token_copies_user_and_verifies(user: Any, configure_jwt: Any) -> None:
    configure_jwt(ISSUER="https://issuer.example", AUDIENCE="api")
    refresh = RefreshToken.for_user(user)
    access = AccessToken.verify(str(refresh.access_token))
    assert access.payload["user_id"] == user.pk
    assert access.payload["iss"] == "https://issuer.example"
    assert access.payload["aud"] == "api"
    assert access.jti != refresh.jti


def test_rotate_gives_new_refresh_token_for_same_user(user: Any) -> None:
    refresh = RefreshToken.for_user(user)
    rotated = RefreshToken.verify(str(refresh.rotate()))
    assert rotated.jti != refresh.jti
    assert rotated.token_type == "refresh"
    assert rotated.payload["user_id"] == user.pk


def test_uuid_user_id_is_stringified(user: Any, configure_jwt: Any) -> None:
    configure_jwt(USER_ID_FIELD="uuid")
    token = AccessToken.verify(str(AccessToken.for_user(user)))
    assert token.payload["user_id"] == str(user.uuid)


def test_revoke_claim_is_hmac_and_carried_into_access_tokens(user: Any, configure_jwt: Any) -> None:
    configure_jwt(CHECK_REVOKE_TOKEN=True, REVOKE_TOKEN_CLAIM="pwv")
    refresh = RefreshToken.for_user(user)
    assert refresh.payload["pwv"] == get_password_hash(user.password)
    assert user.password not in refresh.payload["pwv"]
    assert refresh.access_token.payload["pwv"] == refresh.payload["pwv"]


def test_password_hash_is_deterministic_and_input_sensitive() -> None:
    assert get_password_hash("a") == get_password_hash("a")
    assert get_password_hash("a") != get_password_hash("b")
    assert len(get_password_hash("a")) == 64


def test_expired_token_fails(user: Any) -> None:
    payload = build_jwt_payload(user, token_type="access", lifetime=timedelta(seconds=-5))
    with pytest.raises(TokenError, match="expired"):
        AccessToken.verify(encode_token(payload))


def test_leeway_accepts_recently_expired_token(user: Any, configure_jwt: Any) -> None:
    payload = build_jwt_payload(user, token_type="access", lifetime=timedelta(seconds=-5))
    raw = encode_token(payload)
    configure_jwt(LEEWAY=timedelta(seconds=60))
    assert AccessToken.verify(raw).payload["user_id"] == user.pk
    configure_jwt(LEEWAY=60)
    assert AccessToken.verify(raw).payload["user_id"] == user.pk


@pytest.mark.parametrize("claim", ["exp", "iat", "jti"])
def test_required_claims(user: Any, claim: str) -> None:
    payload = build_jwt_payload(user, token_type="access", lifetime=timedelta(minutes=5))
    del payload[claim]
    with pytest.raises(TokenError, match=claim):
        AccessToken.verify(encode_token(payload))


def test_tampered_signature_fails(user: Any) -> None:
    raw = str(AccessToken.for_user(user))
    head, body, sig = raw.split(".")
    tampered = f"{head}.{body}.{sig[:-4]}{'AAAA' if sig[-4:] != 'AAAA' else 'BBBB'}"
    with pytest.raises(TokenError):
        AccessToken.verify(tampered)


def test_decoding_under_other_algorithm_fails(user: Any, configure_jwt: Any) -> None:
    raw = str(AccessToken.for_user(user))
    configure_jwt(ALGORITHM="HS512")
    with pytest.raises(TokenError):
        AccessToken.verify(raw)


def test_audience_mismatch_fails(user: Any, configure_jwt: Any) -> None:
    configure_jwt(AUDIENCE="a")
    raw = str(AccessToken.for_user(user))
    configure_jwt(AUDIENCE="b")
    with pytest.raises(TokenError, match="udience"):
        AccessToken.verify(raw)


def test_decode_token_accepts_both_types(user: Any) -> None:
    assert decode_token(str(AccessToken.for_user(user)))["token_type"] == "access"
    assert decode_token(str(RefreshToken.for_user(user)))["token_type"] == "refresh"


def test_signing_without_key_is_a_configuration_error(user: Any, configure_jwt: Any) -> None:
    configure_jwt(SIGNING_KEY=None)
    with pytest.raises(JWTConfigurationError, match="SIGNING_KEY") as info:
        AccessToken.for_user(user)
    assert isinstance(info.value, TokenError)
    assert isinstance(info.value, ImproperlyConfigured)


@pytest.mark.parametrize(("algorithm", "message"), [("none", "'none'"), ("HS999", "not supported")])
def test_bad_algorithm_refused_on_encode_and_decode(
    user: Any, configure_jwt: Any, algorithm: str, message: str
) -> None:
    raw = str(AccessToken.for_user(user))
    configure_jwt(ALGORITHM=algorithm)
    with pytest.raises(JWTConfigurationError, match=message):
        AccessToken.for_user(user)
    with pytest.raises(JWTConfigurationError, match=message):
        AccessToken.verify(raw)
    with pytest.raises(JWTConfigurationError, match=message):
        AccessToken.verify("garbage")


def test_pem_key_under_hmac_refused(user: Any, configure_jwt: Any, key_pairs: Any) -> None:
    private_pem, public_pem = key_pairs["RSA"]
    configure_jwt(SIGNING_KEY=private_pem)
    with pytest.raises(JWTConfigurationError, match="PEM-encoded"):
        AccessToken.for_user(user)
    configure_jwt(VERIFYING_KEY=public_pem.decode())
    with pytest.raises(JWTConfigurationError, match="PEM-encoded"):
        AccessToken.verify("a.b.c")


def test_user_id_field_allowlist(user: Any, configure_jwt: Any) -> None:
    configure_jwt(USER_ID_FIELD="password")
    with pytest.raises(JWTConfigurationError, match="USER_ID_FIELD"):
        AccessToken.for_user(user)
    configure_jwt(USER_ID_FIELD="first_name", USER_ID_FIELD_ALLOWLIST=("first_name",))
    user.first_name = "Alice"
    assert AccessToken.for_user(user).payload["user_id"] == "Alice"


def test_validators() -> None:
    validate_algorithm("HS256")
    validate_algorithm("RS256")
    validate_signing_key_shape("HS256", "x" * 32)
    with pytest.raises(JWTConfigurationError, match="HMAC"):
        validate_signing_key_shape("HS256", b"-----BEGIN PUBLIC KEY-----\n")


def test_settings_accessor_and_rule_resolution(configure_jwt: Any) -> None:
    assert get_jwt_settings().ALGORITHM == "HS256"
    assert get_user_authentication_rule() is default_user_authentication_rule

    def custom(user: Any) -> bool:
        return False

    configure_jwt(USER_AUTHENTICATION_RULE=custom)
    assert get_user_authentication_rule() is custom
