"""Refresh-token rotation with reuse detection (RFC 9700 section 4.14.2).

A refresh token is redeemed once, atomically. Presenting it again means two parties
hold it (a thief and the legitimate client) and nobody can tell which is which, so the
whole family (session, the ``sid`` claim) is revoked with one record: every token of it,
refresh and access, fails at its next use. ``ROTATION_GRACE_PERIOD`` (seconds, off by
default) lets a client whose response was lost retry: inside the window it gets the same
child pair again (minted from the first redemption's time), never a second branch.
"""

from __future__ import annotations

import time

from restflow.authentication.blacklist_backends import TokenBlacklist
from restflow.authentication.config import get_config
from restflow.authentication.exceptions import TokenError
from restflow.authentication.sessions import end_sessions, touch_session
from restflow.authentication.tokens import AccessToken, RefreshToken
from restflow.authentication.users import get_token_user

__all__ = ["rotate_refresh_token"]

REUSED = "Refresh token was already used; its session has been revoked."
SESSION_REVOKED = "Session has been revoked."


def _session_revoked() -> TokenError:
    return TokenError(SESSION_REVOKED, code="session_revoked")


def rotate_refresh_token(refresh: RefreshToken) -> tuple[AccessToken, RefreshToken]:
    """Redeem ``refresh`` and return its children, or raise :class:`TokenError`.

    Store failures raise ``BlacklistUnavailableError`` before any token is minted.
    """
    config = get_config()
    # The family's record and the user's revocation epoch (one read); the token's own id
    # is what redeem() checks and sets atomically.
    if TokenBlacklist.is_token_revoked(refresh.payload, own_id=False):
        raise _session_revoked()
    get_token_user(refresh.payload)
    won, first = TokenBlacklist.redeem(refresh.jti, expires_at=refresh.exp, at=int(time.time()))
    if not won:
        grace = config.rotation_grace_seconds
        if not (grace > 0 and first > 0 and time.time() - first <= grace):
            user_id = refresh.payload.get(config.user_id_claim)
            end_sessions([refresh.child_sid], reason="reuse", user_id=user_id)
            raise TokenError(REUSED, code="token_reused")
    access, child = refresh.children(first)
    if won:
        touch_session(child)
    return access, child
