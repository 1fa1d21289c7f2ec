"""Session (token family) ids: when the session started, then 128 random bits.

The start time (milliseconds, 12 hex digits) lets a per-user revocation epoch refuse
every session started at or before it with one record: a session's tokens all carry its
``sid``, so a rotated refresh token and its access tokens die with the session they
belong to, whenever they were minted. Ids without the prefix (tokens from before it, and
families derived from a ``jti``) fall back to the token's ``iat``.
"""

from __future__ import annotations

import secrets
import time

__all__ = ["SESSION_ID_CLAIM", "new_session_id", "note_revocation", "session_started_ms"]

#: The claim naming a token's family (session): every refresh token of one login and the
#: access tokens they buy carry the same value (RFC 9700 section 4.14.2).
SESSION_ID_CLAIM = "sid"

_TIME_DIGITS = 12
_RANDOM_CHARS = 22  # secrets.token_urlsafe(16)
_HEX = frozenset("0123456789abcdef")


_after_revocation_ms = 0


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def note_revocation() -> None:
    """A user's epoch was just written (it is at most now): sessions this process starts
    from here on start strictly after it, even within the same millisecond."""
    global _after_revocation_ms
    _after_revocation_ms = max(_after_revocation_ms, _now_ms() + 1)


def new_session_id() -> str:
    started = max(_now_ms(), _after_revocation_ms)
    return f"{started:0{_TIME_DIGITS}x}{secrets.token_urlsafe(16)}"


def session_started_ms(sid: str) -> int | None:
    """The start (unix milliseconds) written into ``sid`` by :func:`new_session_id`, or
    ``None`` for an id without one."""
    if len(sid) != _TIME_DIGITS + _RANDOM_CHARS or not _HEX.issuperset(sid[:_TIME_DIGITS]):
        return None
    return int(sid[:_TIME_DIGITS], 16)
