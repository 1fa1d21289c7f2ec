"""The records of the token blacklist: a token's id, a revoked family's record, a user's
revocation epoch, and how long a record must live.

Entries are kept at least until the token's ``exp`` plus ``LEEWAY``: until then the
token would still decode, so it must still be known as revoked.

A revoked session (token family, the ``sid`` claim) is one more entry in the same store,
under :func:`family_record_id`: revoking a family writes one record whatever its length,
and a token is checked against its own id and its family's record in one read.

A user's revocation epoch ("log out everywhere", a password change) is one more record,
under :func:`user_record_id`, holding the time (unix milliseconds) of the revocation:
every session started at or before it is refused, whatever its number. The same read
fetches it (three keys, one ``MGET`` / one ``IN`` query).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from restflow.authentication.config import get_config
from restflow.authentication.session_ids import (
    SESSION_ID_CLAIM,
    session_started_ms,
)

__all__ = ["family_record_id", "lookup_ids", "retention_deadline", "user_record_id"]


def retention_deadline(expires_at: int) -> float:
    """Unix time until which an entry for a token expiring at ``expires_at`` must live."""
    return expires_at + get_config().leeway_seconds


_PLAIN_JTI = re.compile(r"[A-Za-z0-9._~-]{1,128}")


_PLAIN_SID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def family_record_id(sid: str) -> str:
    """The blacklist id that marks the token family (session) ``sid`` as revoked.

    ``:`` never occurs in a plain token id, so a family record never collides with one.
    """
    if _PLAIN_SID.fullmatch(sid):
        return "f:" + sid
    return "f:h:" + hashlib.sha256(sid.encode("utf-8", "surrogatepass")).hexdigest()


def user_record_id(user_id: Any) -> str:
    """The blacklist id of the revocation epoch of the user whose id claim is ``user_id``."""
    text = str(user_id)
    if _PLAIN_SID.fullmatch(text):
        return "u:" + text
    return "u:h:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _epoch_ms(value: Any) -> int | None:
    """A stored epoch: an int (decoded), or its digits (raw Redis reply)."""
    if value is None or isinstance(value, int):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        return 1 << 62  # unreadable: refuse every token of the user (fail closed)


def _token_start_ms(payload: dict[str, Any]) -> int:
    """When the token's session started (from its ``sid``, milliseconds), else the start of
    its ``iat`` second: a token without a time-stamped session issued in the second of a
    revocation is refused too (it may have been issued before it)."""
    sid = payload.get(SESSION_ID_CLAIM)
    started = session_started_ms(sid) if isinstance(sid, str) else None
    if started is not None:
        return started
    iat = payload.get("iat")
    return int(iat) * 1000 if isinstance(iat, int | float) and not isinstance(iat, bool) else 0


def lookup_ids(jti: str, sid: str) -> tuple[str, ...]:
    """The ids whose presence revokes a token: its own ``jti``, and its family's record."""
    if not sid:
        return (jti,) if jti else ()
    return (jti, family_record_id(sid)) if jti else (family_record_id(sid),)

