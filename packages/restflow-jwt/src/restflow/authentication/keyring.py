"""The key ring: signing keys with a ``kid`` and a rotation state, and their public JWKs.

A ring comes from ``SIGNING_KEYS`` (a list of keys in the states ``next``, ``active``,
``retired``) or, for a single key, from ``SIGNING_KEY``/``VERIFYING_KEY`` (a ring of one
active key). Verification looks a token's ``kid`` up in :attr:`KeyRing.verifying`, a
plain dict, and takes the algorithm from the key found.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import jwt

from restflow.authentication.constants import HMAC_ALGORITHMS
from restflow.authentication.exceptions import JWTConfigurationError
from restflow.authentication.keys import (
    looks_like_private_key,
    prepare_key,
    prepare_signing_key,
    prepare_verifying_key,
    validate_algorithm,
    validate_signing_key_shape,
)

__all__ = [
    "ACTIVE",
    "KEY_STATES",
    "NEXT",
    "RETIRED",
    "KeyRing",
    "RingKey",
    "build_key_ring",
    "default_kid",
    "jwk_thumbprint",
    "longest_token_lifetime",
    "public_jwk",
]

NEXT = "next"
ACTIVE = "active"
RETIRED = "retired"
KEY_STATES = (NEXT, ACTIVE, RETIRED)

#: RFC 7638 section 3.2: the required members of each key type, in lexicographic order.
_THUMBPRINT_MEMBERS = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "oct": ("k", "kty"),
}
_ENTRY_NAMES = frozenset({"KEY", "VERIFYING_KEY", "ALGORITHM", "STATE", "KID", "RETIRED_AT"})


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of ``jwk``, base64url without padding."""
    members = {name: jwk[name] for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


def _full_jwk(algorithm: str, key: Any) -> dict[str, Any]:
    return jwt.get_algorithm_by_name(algorithm).to_jwk(key, as_dict=True)


def public_jwk(algorithm: str, public_key: Any, kid: str) -> dict[str, Any]:
    """The published form of an asymmetric key: its public members plus kid/alg/use.

    Only the RFC 7638 members are copied out of PyJWT's JWK, so no private member can
    reach the output whatever key object is given.
    """
    full = _full_jwk(algorithm, public_key)
    jwk = {name: full[name] for name in _THUMBPRINT_MEMBERS[full["kty"]]}
    jwk.update(kid=kid, alg=algorithm, use="sig")
    return jwk


@dataclass(frozen=True, slots=True)
class RingKey:
    """One key of the ring, ready for PyJWT."""

    kid: str
    algorithm: str
    state: str
    verifying_key: Any
    #: Setting value of the private key / secret (prepared only when signing).
    signing_material: Any = None
    #: Tokens issued (``iat``) after this epoch second are refused (retired keys).
    retired_at: float | None = None
    #: Epoch second from which the key no longer verifies anything (``inf``: never).
    verify_until: float = math.inf
    jwk: dict[str, Any] | None = None

    @property
    def published(self) -> bool:
        return self.jwk is not None


@dataclass
class KeyRing:
    """Every configured key, the one that signs, and the ``kid -> key`` verification map."""

    keys: tuple[RingKey, ...]
    active: RingKey | None
    verifying: dict[Any, RingKey] = field(default_factory=dict)
    _signing_key: Any = None

    def signing_key(self) -> tuple[RingKey, Any]:
        """The active key and its prepared private key (or secret)."""
        active = self.active
        if active is None:
            raise JWTConfigurationError(
                "No key in RESTFLOW_SETTINGS['JWT']['SIGNING_KEYS'] is 'active'; "
                "tokens cannot be signed. Mark exactly one key STATE='active'."
            )
        if self._signing_key is None:
            self._signing_key = prepare_signing_key(active.algorithm, active.signing_material)
        return active, self._signing_key

    def published_jwks(self, now: float) -> list[dict[str, Any]]:
        """Public JWKs of the keys that still verify (HMAC keys are never published)."""
        return [key.jwk for key in self.keys if key.jwk is not None and key.verify_until > now]


def _timestamp(value: Any, where: str) -> float:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise JWTConfigurationError(f"{where} = {value!r} is not an ISO 8601 datetime.") from None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise JWTConfigurationError(
            f"{where} must be a timezone-aware datetime (or ISO 8601 text with an offset), "
            f"got {value!r}."
        )
    return value.timestamp()


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def default_kid(algorithm: str, verifying_key: Any) -> str:
    """The ``kid`` of a key without ``KID``: the thumbprint of its public JWK (or secret)."""
    return jwk_thumbprint(_full_jwk(algorithm, verifying_key))


def _kid_of(algorithm: str, verifying_key: Any, explicit: Any, where: str) -> str:
    if explicit is not None:
        if not isinstance(explicit, str) or not explicit:
            raise JWTConfigurationError(f"{where}['KID'] must be a non-empty string.")
        return explicit
    return default_kid(algorithm, verifying_key)


def _ring_key(entry: Any, index: int, default_algorithm: str, lifetime: float) -> RingKey:
    where = f"RESTFLOW_SETTINGS['JWT']['SIGNING_KEYS'][{index}]"
    if not isinstance(entry, Mapping):
        raise JWTConfigurationError(f"{where} must be a dict with KEY and STATE.")
    unknown = set(entry) - _ENTRY_NAMES
    if unknown:
        raise JWTConfigurationError(
            f"{where} has unknown item(s) {sorted(unknown)}; use {sorted(_ENTRY_NAMES)}."
        )
    algorithm = entry.get("ALGORITHM", default_algorithm)
    state = entry.get("STATE")
    if state not in KEY_STATES:
        raise JWTConfigurationError(f"{where}['STATE'] = {state!r}; use one of {KEY_STATES}.")
    validate_algorithm(algorithm)
    material = entry.get("KEY")
    verifying_material = entry.get("VERIFYING_KEY", material)
    if verifying_material is None:
        raise JWTConfigurationError(f"{where} has no KEY.")
    validate_signing_key_shape(algorithm, verifying_material)
    hmac = algorithm in HMAC_ALGORITHMS
    if not hmac and looks_like_private_key(entry.get("VERIFYING_KEY")):
        raise JWTConfigurationError(f"{where}['VERIFYING_KEY'] holds a private key; give the public key.")
    setting = f"['SIGNING_KEYS'][{index}]['{'VERIFYING_KEY' if 'VERIFYING_KEY' in entry else 'KEY'}']"
    verifying_key = prepare_key(algorithm, verifying_material, setting)
    if not hmac and hasattr(verifying_key, "public_key"):
        verifying_key = verifying_key.public_key()
    kid = _kid_of(algorithm, verifying_key, entry.get("KID"), where)
    retired_at = verify_until = None
    if state == RETIRED:
        if entry.get("RETIRED_AT") is None:
            raise JWTConfigurationError(
                f"{where} is retired but has no RETIRED_AT (when it stopped signing)."
            )
        retired_at = _timestamp(entry["RETIRED_AT"], f"{where}['RETIRED_AT']")
        verify_until = retired_at + lifetime
    return RingKey(
        kid=kid,
        algorithm=algorithm,
        state=state,
        verifying_key=verifying_key,
        signing_material=material if state == ACTIVE else None,
        retired_at=retired_at,
        verify_until=math.inf if verify_until is None else verify_until,
        jwk=None if hmac else public_jwk(algorithm, verifying_key, kid),
    )


def _ring_of_one(s: Any) -> KeyRing:
    """``SIGNING_KEY``/``VERIFYING_KEY``: one active key; tokens without ``kid`` still verify."""
    algorithm = s.ALGORITHM
    verifying_key = prepare_verifying_key(algorithm, s.VERIFYING_KEY, s.SIGNING_KEY)
    kid = default_kid(algorithm, verifying_key)
    key = RingKey(
        kid=kid,
        algorithm=algorithm,
        state=ACTIVE,
        verifying_key=verifying_key,
        signing_material=s.SIGNING_KEY,
        jwk=None if algorithm in HMAC_ALGORITHMS else public_jwk(algorithm, verifying_key, kid),
    )
    # Tokens issued before kids existed carry none: the one key verifies them.
    return KeyRing(keys=(key,), active=key, verifying={kid: key, None: key})


def longest_token_lifetime(s: Any) -> float:
    """Seconds a retired key keeps verifying: the longest token lifetime plus ``LEEWAY``."""
    lifetimes = (s.ACCESS_TOKEN_LIFETIME, s.REFRESH_TOKEN_LIFETIME)
    return max(_seconds(value) for value in lifetimes) + _seconds(s.LEEWAY)


def build_key_ring(s: Any, now: float) -> KeyRing:
    """The ring described by the JWT settings ``s`` (raises :class:`JWTConfigurationError`)."""
    entries = s.SIGNING_KEYS
    if not entries:
        return _ring_of_one(s)
    if s.SIGNING_KEY is not None or s.VERIFYING_KEY is not None:
        raise JWTConfigurationError(
            "RESTFLOW_SETTINGS['JWT'] sets both SIGNING_KEYS and SIGNING_KEY/VERIFYING_KEY; "
            "move the single key into SIGNING_KEYS and remove SIGNING_KEY/VERIFYING_KEY."
        )
    lifetime = longest_token_lifetime(s)
    keys = tuple(_ring_key(entry, i, s.ALGORITHM, lifetime) for i, entry in enumerate(entries))
    active = [key for key in keys if key.state == ACTIVE]
    if len(active) != 1:
        raise JWTConfigurationError(
            f"RESTFLOW_SETTINGS['JWT']['SIGNING_KEYS'] has {len(active)} active keys; "
            "exactly one key must have STATE='active' (it signs every new token)."
        )
    verifying: dict[Any, RingKey] = {}
    for key in keys:
        if key.kid in verifying:
            raise JWTConfigurationError(
                f"RESTFLOW_SETTINGS['JWT']['SIGNING_KEYS'] has two keys with kid {key.kid!r}."
            )
        verifying[key.kid] = key
    # Dropped retired keys stay listed (``restflow_keys status``) but verify nothing.
    for key in keys:
        if key.verify_until <= now:
            del verifying[key.kid]
    return KeyRing(keys=keys, active=active[0], verifying=verifying)
