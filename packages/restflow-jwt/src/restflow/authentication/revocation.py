"""The blacklist as four functions, for custom logout, admin and support code.

>>> from restflow.authentication import blacklist, is_blacklisted
>>> blacklist(refresh)            # a token object or its encoded string
>>> is_blacklisted(refresh.jti)
True

Both go through the configured backend (``JWT.BLACKLIST_BACKEND``) exactly as the views
and ``JWTAuthentication`` do; a store that fails raises ``BlacklistUnavailableError``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from restflow.authentication.blacklist_backends import TokenBlacklist

if TYPE_CHECKING:
    from restflow.authentication.tokens import AccessToken, RefreshToken

__all__ = ["ablacklist", "ais_blacklisted", "blacklist", "is_blacklisted"]


def _jti_and_expiry(token: AccessToken | RefreshToken | str) -> tuple[str, int]:
    if isinstance(token, str):
        from restflow.authentication.codec import decode_token

        payload = decode_token(token)  # TokenError for a forged, expired or foreign token
        jti, exp = payload.get("jti"), payload.get("exp")
    else:
        jti, exp = token.jti, token.exp
    if not isinstance(jti, str) or not jti or not isinstance(exp, int):
        raise ValueError("the token has no 'jti' or 'exp' claim: it cannot be blacklisted")
    return jti, exp


def blacklist(token: AccessToken | RefreshToken | str) -> str:
    """Revoke ``token`` (an access or refresh token, or its encoded string, which is
    verified first) until it expires plus ``LEEWAY``; returns its ``jti``."""
    jti, exp = _jti_and_expiry(token)
    TokenBlacklist.blacklist(jti, expires_at=exp)
    return jti


async def ablacklist(token: AccessToken | RefreshToken | str) -> str:
    """:func:`blacklist` for async code."""
    jti, exp = _jti_and_expiry(token)
    await TokenBlacklist.ablacklist(jti, expires_at=exp)
    return jti


def is_blacklisted(jti: str, *, sid: str = "") -> bool:
    """Whether the token ``jti`` is revoked (or, given its ``sid``, its session is)."""
    return TokenBlacklist.is_blacklisted(jti, sid)


async def ais_blacklisted(jti: str, *, sid: str = "") -> bool:
    """:func:`is_blacklisted` for async code."""
    return await TokenBlacklist.ais_blacklisted(jti, sid)
