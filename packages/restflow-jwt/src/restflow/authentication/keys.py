"""Algorithm and key validation, and turning configured keys into PyJWT key objects."""

from __future__ import annotations

from typing import Any

import jwt
from jwt.exceptions import InvalidKeyError

from restflow.authentication.constants import (
    ALLOWED_ALGORITHMS,
    HMAC_ALGORITHMS,
    HMAC_MIN_KEY_BYTES,
    MIN_RSA_KEY_BITS,
)
from restflow.authentication.exceptions import JWTConfigurationError

__all__ = [
    "key_weakness",
    "looks_like_pem",
    "looks_like_private_key",
    "prepare_key",
    "prepare_signing_key",
    "prepare_verifying_key",
    "validate_algorithm",
    "validate_signing_key_shape",
]

_ASYMMETRIC_KEY_MARKERS = ("-----BEGIN ", "ssh-rsa ", "ssh-ed25519 ", "ecdsa-sha2-")


def _as_text(key: str | bytes) -> str:
    return key.decode("latin-1") if isinstance(key, bytes) else key


def looks_like_pem(key: Any) -> bool:
    """True for PEM or OpenSSH text: something that is not an HMAC secret."""
    if not isinstance(key, str | bytes):
        return False
    text = _as_text(key)
    return any(marker in text for marker in _ASYMMETRIC_KEY_MARKERS)


def looks_like_private_key(key: Any) -> bool:
    return isinstance(key, str | bytes) and "PRIVATE KEY-----" in _as_text(key)


def validate_algorithm(algorithm: str) -> None:
    """Refuse ``none`` and anything outside :data:`ALLOWED_ALGORITHMS`."""
    if isinstance(algorithm, str) and algorithm.lower() == "none":
        raise JWTConfigurationError(
            "JWT ALGORITHM 'none' disables signatures and is refused; "
            "set RESTFLOW_SETTINGS['JWT']['ALGORITHM'] to e.g. 'HS256'."
        )
    if algorithm not in ALLOWED_ALGORITHMS:
        raise JWTConfigurationError(
            f"JWT ALGORITHM {algorithm!r} is not supported; "
            f"use one of {', '.join(ALLOWED_ALGORITHMS)}."
        )


def validate_signing_key_shape(algorithm: str, key: str | bytes | None) -> None:
    """An HMAC algorithm must not be given a PEM/SSH key (the key-confusion setup)."""
    if algorithm in HMAC_ALGORITHMS and key is not None and looks_like_pem(key):
        raise JWTConfigurationError(
            f"JWT ALGORITHM {algorithm} is an HMAC algorithm but the key is PEM-encoded "
            "(an RSA/EC key); use a random secret for HMAC, or an asymmetric ALGORITHM."
        )


def _algorithm_object(algorithm: str) -> Any:
    validate_algorithm(algorithm)
    try:
        return jwt.get_algorithm_by_name(algorithm)
    except NotImplementedError:
        raise JWTConfigurationError(
            f"JWT ALGORITHM {algorithm} needs the 'cryptography' package: "
            "pip install 'restflow-jwt[crypto]'."
        ) from None


def _subscript(setting: str) -> str:
    """``SIGNING_KEYS[0]['KEY']`` stays as given; a plain name gets quoted brackets."""
    return f"['{setting}']" if setting.isidentifier() else setting


def prepare_key(algorithm: str, key: Any, setting: str) -> Any:
    """``key`` as the object PyJWT uses for ``algorithm``; errors name ``setting``."""
    try:
        return _algorithm_object(algorithm).prepare_key(key)
    except (InvalidKeyError, ValueError, TypeError) as exc:
        raise JWTConfigurationError(
            f"RESTFLOW_SETTINGS['JWT']{_subscript(setting)} is not a usable {algorithm} key: {exc}"
        ) from exc


def prepare_signing_key(algorithm: str, key: str | bytes | None) -> Any:
    """The configured signing key as the object PyJWT signs with."""
    validate_algorithm(algorithm)
    if key is None:
        raise JWTConfigurationError(
            "RESTFLOW_SETTINGS['JWT']['SIGNING_KEY'] is not set; tokens cannot be signed. "
            "Set SIGNING_KEY to a random secret (HMAC) or a private key (PEM)."
        )
    validate_signing_key_shape(algorithm, key)
    prepared = prepare_key(algorithm, key, "SIGNING_KEY")
    if algorithm not in HMAC_ALGORITHMS and not hasattr(prepared, "sign"):
        raise JWTConfigurationError(
            f"RESTFLOW_SETTINGS['JWT']['SIGNING_KEY'] is a public key; {algorithm} signs with "
            "the private key (put the public key in VERIFYING_KEY)."
        )
    return prepared


def prepare_verifying_key(
    algorithm: str, verifying_key: str | bytes | None, signing_key: str | bytes | None
) -> Any:
    """The key that verifies signatures: ``VERIFYING_KEY``, else derived from ``SIGNING_KEY``."""
    validate_algorithm(algorithm)
    key = verifying_key if verifying_key is not None else signing_key
    if key is None:
        raise JWTConfigurationError(
            "Neither VERIFYING_KEY nor SIGNING_KEY is set in RESTFLOW_SETTINGS['JWT']; "
            "tokens cannot be verified."
        )
    validate_signing_key_shape(algorithm, key)
    setting = "VERIFYING_KEY" if verifying_key is not None else "SIGNING_KEY"
    prepared = prepare_key(algorithm, key, setting)
    if algorithm not in HMAC_ALGORITHMS and hasattr(prepared, "public_key"):
        # A private key verifies through its public half.
        prepared = prepared.public_key()
    return prepared


def key_weakness(algorithm: str, key: str | bytes | None) -> str | None:
    """Why ``key`` is too weak for ``algorithm``, or ``None`` when it is acceptable."""
    if key is None:
        return None
    if algorithm in HMAC_ALGORITHMS:
        size = len(key.encode() if isinstance(key, str) else key)
        minimum = HMAC_MIN_KEY_BYTES[algorithm]
        if size < minimum:
            return f"{algorithm} secret is {size} bytes; use at least {minimum} random bytes"
        return None
    if algorithm.startswith(("RS", "PS")):
        try:
            prepared = _algorithm_object(algorithm).prepare_key(key)
        except Exception:  # unusable keys are reported by another check
            return None
        bits = getattr(prepared, "key_size", MIN_RSA_KEY_BITS)
        if bits < MIN_RSA_KEY_BITS:
            return f"RSA key has {bits} bits; use at least {MIN_RSA_KEY_BITS}"
    return None
