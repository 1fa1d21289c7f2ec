"""The database blacklist (one row per revoked token id) and the session registry."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

__all__ = ["BlacklistedToken", "TokenSession"]


def _cutoff() -> datetime:
    """Rows whose token expired before this instant (minus ``LEEWAY``) are dead."""
    from restflow.authentication.config import get_config  # PyJWT is not needed at start-up

    return timezone.now() - timedelta(seconds=get_config().leeway_seconds)


class _Expiring:
    """Rows with an ``expires_at``: the token (or last token of a session) it covers."""

    @classmethod
    def expired(cls) -> models.QuerySet[Any]:
        """Rows no token can need any more (expired longer ago than ``LEEWAY``)."""
        return cls.objects.filter(expires_at__lt=_cutoff())  # type: ignore[attr-defined]


class BlacklistedToken(_Expiring, models.Model):
    id: models.AutoField[int, int] = models.AutoField(primary_key=True)
    jti: models.CharField[str, str] = models.CharField(max_length=128, unique=True)
    expires_at: models.DateTimeField[datetime, datetime] = models.DateTimeField()
    created_at: models.DateTimeField[datetime, datetime] = models.DateTimeField(
        auto_now_add=True
    )

    class Meta:
        app_label = "restflow_authentication"
        indexes = [models.Index(fields=["expires_at"], name="restflow_au_expires_idx")]
        verbose_name = "blacklisted token"
        verbose_name_plural = "blacklisted tokens"

    def __str__(self) -> str:
        return f"BlacklistedToken(jti={self.jti}, expires_at={self.expires_at})"

    @classmethod
    def cleanup_expired(cls) -> int:
        """Delete the rows of :meth:`expired`; returns how many were deleted."""
        deleted, _ = cls.expired().delete()
        return deleted

    @classmethod
    async def acleanup_expired(cls) -> int:
        deleted, _ = await cls.expired().adelete()
        return deleted


class TokenSession(_Expiring, models.Model):
    """One login (token family, the ``sid`` claim), listed by the sessions API.

    Written only with ``TRACK_SESSIONS``: one insert at login, one update per refresh.
    Ending a session writes its family record in the blacklist store (that is what
    refuses its tokens) and marks the row here; no token is stored, only the ``sid``.
    """

    id: models.AutoField[int, int] = models.AutoField(primary_key=True)
    sid: models.CharField[str, str] = models.CharField(max_length=64, unique=True)
    user: models.ForeignKey[Any, Any] = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at: models.DateTimeField[datetime, datetime] = models.DateTimeField()
    last_used_at: models.DateTimeField[datetime, datetime] = models.DateTimeField()
    expires_at: models.DateTimeField[datetime, datetime] = models.DateTimeField()
    user_agent: models.CharField[str, str] = models.CharField(max_length=256, blank=True)
    ip_address: models.GenericIPAddressField[str | None, str | None] = (
        models.GenericIPAddressField(null=True, blank=True)
    )
    revoked_at: models.DateTimeField[datetime | None, datetime | None] = models.DateTimeField(
        null=True, blank=True
    )
    revoke_reason: models.CharField[str, str] = models.CharField(max_length=16, blank=True)

    class Meta:
        app_label = "restflow_authentication"
        indexes = [
            # the user's live sessions (list, limit, logout-all): user + not revoked + expiry
            models.Index(fields=["user", "revoked_at", "expires_at"], name="restflow_au_sess_user_idx"),
            models.Index(fields=["expires_at"], name="restflow_au_sess_exp_idx"),
        ]
        verbose_name = "token session"
        verbose_name_plural = "token sessions"

    def __str__(self) -> str:
        return f"TokenSession(sid={self.sid}, user={self.user.pk}, revoked_at={self.revoked_at})"

