"""Constants and helpers shared by restflow-jwt's test modules."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization

SECRET = "test-secret-" + "k" * 60  # 72 bytes: long enough for HS512
BASE_JWT: dict[str, Any] = {"SIGNING_KEY": SECRET, "BLACKLIST_ALLOW_LOCMEM": True}

AUTH = "/jwt_testapp/auth/token/"
REFRESH = "/jwt_testapp/auth/token/refresh/"
BLACKLIST = "/jwt_testapp/auth/token/blacklist/"
VERIFY = "/jwt_testapp/auth/token/verify/"
WHOAMI = "/jwt_testapp/whoami/"
MAYBE = "/jwt_testapp/maybe/"
PASSWORD = "correct horse battery staple"

KEY_FAMILY = {
    "RS256": "RSA",
    "RS384": "RSA",
    "RS512": "RSA",
    "PS256": "RSA",
    "PS384": "RSA",
    "PS512": "RSA",
    "ES256": "P-256",
    "ES384": "P-384",
    "ES512": "P-521",
    "ES256K": "secp256k1",
    "EdDSA": "Ed25519",
}


def jwt_dict(**jwt: Any) -> dict[str, Any]:
    return {"JWT": {**BASE_JWT, **jwt}}


def bearer(token: object) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def pem_pair(private: Any) -> tuple[bytes, bytes]:
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem

