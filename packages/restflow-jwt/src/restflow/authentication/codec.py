"""Encoding and decoding tokens with PyJWT, behind a strict JOSE header check.

Decoding runs the cheap checks first (length, segment count, header JSON, forbidden
and critical parameters, ``typ``, then the ``kid`` looked up in the key ring and ``alg``
compared with the algorithm of the key found) so a hostile token is refused before any
key work, then makes exactly one ``jwt.decode`` call restricted to that algorithm.

An access token that passed is remembered, per process, until it expires (or its key
stops verifying): the next request with the same token skips the header parse and the
signature check (about a tenth of a cached hit's CPU). Revocation and the user are
still read per request by the caller; the memo is dropped with the configuration and is
not used with ``JWKS_URL`` (a key the remote set drops must stop verifying at once).
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

import jwt

from restflow.authentication.config import JWTConfig, get_config
from restflow.authentication.constants import (
    ACCESS_TOKEN_JOSE_TYPE,
    ACCESS_TOKEN_TYPE,
    FORBIDDEN_JOSE_HEADERS,
    MAX_TOKEN_LENGTH,
    REFRESH_TOKEN_JOSE_TYPE,
    REFRESH_TOKEN_TYPE,
)
from restflow.authentication.exceptions import TokenError

if TYPE_CHECKING:
    from restflow.authentication.keyring import RingKey

__all__ = ["JOSE_TYPES", "decode_token", "decode_typed", "encode_token", "read_header"]

#: token_type claim -> JOSE ``typ`` header.
JOSE_TYPES = {
    ACCESS_TOKEN_TYPE: ACCESS_TOKEN_JOSE_TYPE,
    REFRESH_TOKEN_TYPE: REFRESH_TOKEN_JOSE_TYPE,
}
_TOKEN_TYPES = {jose: claim for claim, jose in JOSE_TYPES.items()}


def encode_token(payload: dict[str, Any]) -> str:
    """Sign ``payload`` as given; the ``typ`` header follows its ``token_type`` claim."""
    ring_key, key = get_config().key_ring.signing_key()  # validates the key settings
    headers = {"typ": JOSE_TYPES.get(payload.get("token_type", ""), "JWT"), "kid": ring_key.kid}
    return jwt.encode(payload, key, algorithm=ring_key.algorithm, headers=headers)


def read_header(raw: str) -> dict[str, Any]:
    """The JOSE header of ``raw`` after the checks that need no key."""
    if not isinstance(raw, str) or not raw:
        raise TokenError("Token is empty.")
    if len(raw) > MAX_TOKEN_LENGTH:
        raise TokenError(f"Token is longer than {MAX_TOKEN_LENGTH} characters.")
    if not raw.isascii():
        raise TokenError("Token contains invalid characters.")
    if raw.count(".") != 2:
        raise TokenError("Token is malformed: expected three dot-separated segments.")
    segment = raw[: raw.index(".")]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError):
        raise TokenError("Token header is not valid base64url-encoded JSON.") from None
    except RecursionError:  # json recurses per level: "[" * 1000 is a 1.3 KB header
        raise TokenError("Token header is nested too deeply.") from None
    if not isinstance(header, dict):
        raise TokenError("Token header is not a JSON object.")
    _check_header(header)
    return header


def _check_header(header: dict[str, Any]) -> None:
    if not isinstance(header.get("alg"), str):
        raise TokenError("Token signing algorithm is not accepted.")
    forbidden = FORBIDDEN_JOSE_HEADERS.intersection(header)
    if forbidden:
        raise TokenError(f"Token header parameter '{sorted(forbidden)[0]}' is not accepted.")
    if "crit" in header or "b64" in header:
        raise TokenError("Token header declares critical extensions that are not supported.")


_NEVER = float("inf")  # verify_until of keys that are never dropped
_MEMO_SIZE = 4096  # verified access tokens remembered per process (then the memo restarts)
# (configuration, raw token -> (payload, valid until)): one configuration at a time.
_memo: tuple[Any, dict[str, tuple[dict[str, Any], float]]] = (None, {})


def _verified(config: JWTConfig) -> dict[str, tuple[dict[str, Any], float]] | None:
    """The memo of verified access tokens for ``config`` (``None`` with ``JWKS_URL``)."""
    global _memo
    owner, memo = _memo
    if owner is config:
        return memo
    if config.jwks_url is not None:
        return None
    memo = {}
    _memo = (config, memo)
    return memo


def _remember(
    memo: dict[str, tuple[dict[str, Any], float]], raw: str, payload: dict[str, Any],
    key: RingKey, config: JWTConfig,
) -> None:
    exp = payload.get("exp")
    if type(exp) is not int:
        return
    if len(memo) >= _MEMO_SIZE:
        memo.clear()
    memo[raw] = (dict(payload), min(exp + config.leeway_seconds, key.verify_until))


def _ring_key(header: dict[str, Any], config: JWTConfig) -> RingKey:
    """The key named by the header's ``kid`` (a dict lookup); ``alg`` must be the key's."""
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise TokenError("Token key id is not recognised.")
    key = config.find_key(kid)
    if key is None or (key.verify_until != _NEVER and key.verify_until <= time.time()):
        raise TokenError("Token key id is not recognised.")
    if header.get("alg") != key.algorithm:
        raise TokenError("Token signing algorithm is not accepted.")
    return key


def _decode_verified(raw: str, key: RingKey, config: JWTConfig, token_type: str) -> dict[str, Any]:
    try:
        payload = jwt.decode(
            raw,
            key.verifying_key,
            algorithms=[key.algorithm],
            options=config.decode_options[token_type],  # type: ignore[arg-type]
            issuer=config.issuer,
            audience=config.audience,
            leeway=config.leeway,
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("Token has expired.") from None
    except jwt.InvalidTokenError as exc:
        raise TokenError(str(exc) or "Token is invalid.") from None
    if key.retired_at is not None and payload["iat"] > key.retired_at + config.leeway_seconds:
        raise TokenError("Token was signed by a retired key after its retirement.")
    return payload


def _wrong_type(expected: Collection[str]) -> TokenError:
    names = " or ".join(f"'{name}'" for name in expected)
    return TokenError(f"Wrong token type, expected {names}.")


def decode_typed(raw: str, expected: Collection[str]) -> dict[str, Any]:
    """Verify ``raw`` and require its type (header ``typ`` and claim) to be in ``expected``."""
    config = get_config()
    memo = _verified(config) if ACCESS_TOKEN_TYPE in expected else None
    if memo is not None:
        known = memo.get(raw)
        if known is not None and time.time() < known[1]:
            return dict(known[0])
    _ = config.find_key  # configuration errors come before any token parsing
    header = read_header(raw)
    typ = header.get("typ")
    token_type = _TOKEN_TYPES.get(typ) if isinstance(typ, str) else None
    if token_type is None or token_type not in expected:
        raise _wrong_type(expected)
    key = _ring_key(header, config)
    payload = _decode_verified(raw, key, config, token_type)
    if payload.get("token_type") != token_type:
        raise _wrong_type(expected)
    if memo is not None and token_type == ACCESS_TOKEN_TYPE:
        _remember(memo, raw, payload, key, config)
    return payload


def decode_token(raw: str) -> dict[str, Any]:
    """Verify ``raw`` (signature, ``exp``, ``iat``, ``iss``, ``aud``, header, type)."""
    return decode_typed(raw, (ACCESS_TOKEN_TYPE, REFRESH_TOKEN_TYPE))
