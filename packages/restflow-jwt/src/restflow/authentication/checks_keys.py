"""System checks of the signing setup: ALGORITHM, the keys, the key ring and verify-only
mode (``JWKS_URL``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.checks import CheckMessage, Error, Warning

from restflow.authentication.checks import _ID, _S
from restflow.authentication.constants import (
    ALLOWED_ALGORITHMS,
    ASYMMETRIC_ALGORITHMS,
    HMAC_ALGORITHMS,
)
from restflow.authentication.exceptions import JWTConfigurationError
from restflow.authentication.keys import (
    key_weakness,
    looks_like_pem,
    looks_like_private_key,
    prepare_signing_key,
    prepare_verifying_key,
)


def _algorithm_errors(s: Any) -> list[CheckMessage]:
    algorithm = s.ALGORITHM
    if isinstance(algorithm, str) and algorithm.lower() == "none":
        return [
            Error(
                f"{_S}['ALGORITHM'] is 'none': tokens would carry no signature.",
                hint="Use 'HS256' with a random 32-byte secret, or an asymmetric algorithm.",
                id=_ID + "E001",
            )
        ]
    if algorithm not in ALLOWED_ALGORITHMS:
        return [
            Error(
                f"{_S}['ALGORITHM'] = {algorithm!r} is not supported.",
                hint=f"Use one of: {', '.join(ALLOWED_ALGORITHMS)}.",
                id=_ID + "E002",
            )
        ]
    return []


def _hmac_key_errors(s: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for setting in ("SIGNING_KEY", "VERIFYING_KEY"):
        if looks_like_pem(getattr(s, setting)):
            messages.append(
                Error(
                    f"{_S}['{setting}'] is a PEM/SSH key but ALGORITHM {s.ALGORITHM} is HMAC.",
                    hint="HMAC needs a random secret; for RSA/EC keys choose RS256/ES256 etc.",
                    id=_ID + "E004",
                )
            )
    weakness = key_weakness(s.ALGORITHM, s.SIGNING_KEY)
    if weakness and not messages:
        messages.append(
            Error(
                f"{_S}['SIGNING_KEY'] is too short: {weakness}.",
                hint="Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(64))'",
                id=_ID + "E005",
            )
        )
    return messages


def _asymmetric_key_errors(s: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    if looks_like_private_key(s.VERIFYING_KEY):
        messages.append(
            Error(
                f"{_S}['VERIFYING_KEY'] holds a private key.",
                hint="Give the public key (PEM) as VERIFYING_KEY; keep the private key in "
                "SIGNING_KEY on the servers that issue tokens only.",
                id=_ID + "E007",
            )
        )
    for setting in ("SIGNING_KEY", "VERIFYING_KEY"):
        weakness = key_weakness(s.ALGORITHM, getattr(s, setting))
        if weakness:
            messages.append(
                Error(
                    f"{_S}['{setting}'] is too weak: {weakness}.",
                    hint="Generate a new RSA key of at least 2048 bits (3072 recommended).",
                    id=_ID + "E006",
                )
            )
    try:
        prepare_verifying_key(s.ALGORITHM, s.VERIFYING_KEY, s.SIGNING_KEY)
        if s.SIGNING_KEY is not None:
            prepare_signing_key(s.ALGORITHM, s.SIGNING_KEY)
    except JWTConfigurationError as exc:
        messages.append(
            Error(
                f"No usable key for {s.ALGORITHM}: {exc}",
                hint="Set VERIFYING_KEY to the PEM public key (and SIGNING_KEY to the PEM "
                "private key where tokens are issued); install 'restflow-jwt[crypto]'.",
                id=_ID + "E008",
            )
        )
    return messages


def _key_messages(s: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    if s.SIGNING_KEY is None and (s.ALGORITHM in HMAC_ALGORITHMS or s.VERIFYING_KEY is None):
        messages.append(
            Warning(
                f"{_S}['SIGNING_KEY'] is not set: tokens cannot be issued or verified.",
                hint="Set SIGNING_KEY (a random secret for HMAC, a private key for RS/PS/ES).",
                id=_ID + "W001",
            )
        )
    if s.ALGORITHM in HMAC_ALGORITHMS:
        messages += _hmac_key_errors(s)
    elif s.ALGORITHM in ASYMMETRIC_ALGORITHMS and (s.SIGNING_KEY or s.VERIFYING_KEY):
        messages += _asymmetric_key_errors(s)
    return messages


def _ring_messages(s: Any) -> list[CheckMessage]:
    """E012/E013: ``SIGNING_KEYS`` that cannot form a ring, or hold a weak key."""
    import time

    from restflow.authentication.keyring import build_key_ring

    try:
        build_key_ring(s, time.time())
    except JWTConfigurationError as exc:
        return [
            Error(
                str(exc),
                hint="Each SIGNING_KEYS item is {'KEY': ..., 'STATE': 'next'|'active'|'retired', "
                "'ALGORITHM': ..., 'KID': ..., 'RETIRED_AT': ...}; exactly one is active; "
                "see 'Keys and rotation' in docs/jwt.md.",
                id=_ID + "E012",
            )
        ]
    weak = [
        (index, key_weakness(entry.get("ALGORITHM", s.ALGORITHM), entry.get("KEY")))
        for index, entry in enumerate(s.SIGNING_KEYS)
    ]
    return [
        Error(
            f"{_S}['SIGNING_KEYS'][{index}] is too weak: {weakness}.",
            hint="Generate a new key: manage.py restflow_keys generate --alg ES256",
            id=_ID + "E013",
        )
        for index, weakness in weak
        if weakness
    ]


def _as_seconds(value: Any) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _jwks_url_messages(s: Any) -> list[CheckMessage]:
    """E014/E015/E017: verify-only mode needs ISSUER and AUDIENCE, holds no keys of its own,
    and may fetch again before its cached keys expire."""
    messages: list[CheckMessage] = []
    missing = [name for name in ("ISSUER", "AUDIENCE") if not getattr(s, name)]
    if missing:
        messages.append(
            Error(
                f"{_S}['JWKS_URL'] is set but {' and '.join(missing)} not: any service "
                "published at that JWKS could mint tokens this one accepts.",
                hint="Set ISSUER to the issuing service's 'iss' and AUDIENCE to this "
                "service's name (the issuer puts it in 'aud').",
                id=_ID + "E014",
            )
        )
    if _as_seconds(s.JWKS_MIN_REFRESH_INTERVAL) > _as_seconds(s.JWKS_CACHE_LIFETIME):
        messages.append(
            Error(
                f"{_S}['JWKS_MIN_REFRESH_INTERVAL'] is longer than JWKS_CACHE_LIFETIME: the "
                "cached keys would expire before a new fetch is allowed (503 in between).",
                hint="Keep JWKS_MIN_REFRESH_INTERVAL (default 30 s) well under "
                "JWKS_CACHE_LIFETIME (default 10 min).",
                id=_ID + "E017",
            )
        )
    local = [name for name in ("SIGNING_KEY", "VERIFYING_KEY", "SIGNING_KEYS") if getattr(s, name)]
    if local or s.ALGORITHM in HMAC_ALGORITHMS:
        what = ", ".join(local) if local else f"ALGORITHM {s.ALGORITHM} (an HMAC secret)"
        messages.append(
            Error(
                f"{_S}['JWKS_URL'] is set together with {what}: a verify-only service takes "
                "its public keys from the JWKS only (a JWKS never carries HMAC secrets).",
                hint="Remove the local keys and set ALGORITHM to the issuer's asymmetric "
                "algorithm, or remove JWKS_URL on the service that issues tokens.",
                id=_ID + "E015",
            )
        )
    return messages

