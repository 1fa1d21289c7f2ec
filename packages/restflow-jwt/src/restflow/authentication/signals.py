"""Session (token family) signals, so projects can audit logins and alert on reuse.

``session_created(sender, user, sid, request)``: a login started a new family.
``session_revoked(sender, sid, reason, user_id)``: a family was ended; ``reason`` is one
of :data:`REVOCATION_REASONS` (``"reuse"`` means a rotated refresh token came back: the
token was stolen or a client replayed it, and every token of the family stopped working).
"""

from __future__ import annotations

from django.dispatch import Signal

__all__ = ["REVOCATION_REASONS", "session_created", "session_revoked"]

REVOCATION_REASONS = ("reuse", "logout", "limit", "password", "admin")

session_created = Signal()
session_revoked = Signal()
