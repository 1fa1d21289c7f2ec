"""Key rings for the rotation tests: fresh RS256 / ES256 / EdDSA keys made with cryptography."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from jwt_testapp.forge import forge, key_signer
from jwt_testapp.support import BASE_JWT, pem_pair

LIFETIME = timedelta(minutes=5)
REFRESH_LIFETIME = timedelta(hours=1)


def new_private_pem(algorithm: str) -> bytes:
    if algorithm.startswith(("RS", "PS")):
        return pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048))[0]
    if algorithm == "ES256":
        return pem_pair(ec.generate_private_key(ec.SECP256R1()))[0]
    if algorithm == "EdDSA":
        return pem_pair(ed25519.Ed25519PrivateKey.generate())[0]
    raise ValueError(algorithm)


def entry(pem: bytes, algorithm: str, state: str, **extra: Any) -> dict[str, Any]:
    return {"KEY": pem, "ALGORITHM": algorithm, "STATE": state, **extra}


def ring_settings(*entries: dict[str, Any], **jwt_settings: Any) -> dict[str, Any]:
    """``RESTFLOW_SETTINGS`` with ``SIGNING_KEYS`` instead of ``SIGNING_KEY``."""
    base = {name: value for name, value in BASE_JWT.items() if name != "SIGNING_KEY"}
    return {
        "JWT": {
            **base,
            "ACCESS_TOKEN_LIFETIME": LIFETIME,
            "REFRESH_TOKEN_LIFETIME": REFRESH_LIFETIME,
            "SIGNING_KEYS": list(entries),
            **jwt_settings,
        }
    }


def ago(delta: timedelta) -> datetime:
    return datetime.now(tz=UTC) - delta


def sign_with(pem: bytes, algorithm: str, kid: str, payload: dict[str, Any]) -> str:
    """A token signed by ``pem`` outside restflow (as another instance would sign it)."""
    header = {"alg": algorithm, "typ": "at+jwt", "kid": kid}
    return forge(header, payload, key_signer(algorithm, pem))


def kid_of(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])
