"""The database blacklist: one row per revoked token id."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models
from django.utils import timezone

__all__ = ["BlacklistedToken"]


def _cutoff() -> datetime:
    """Rows whose token expired before this instant (minus ``LEEWAY``) are dead."""
    from restflow.authentication.config import get_config  # PyJWT is not needed at start-up

    return timezone.now() - timedelta(seconds=get_config().leeway_seconds)


class BlacklistedToken(models.Model):
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
    def expired(cls) -> models.QuerySet[BlacklistedToken]:
        """Rows no token can need any more (expired longer ago than ``LEEWAY``)."""
        return cls.objects.filter(expires_at__lt=_cutoff())

    @classmethod
    def cleanup_expired(cls) -> int:
        """Delete the rows of :meth:`expired`; returns how many were deleted."""
        deleted, _ = cls.expired().delete()
        return deleted

    @classmethod
    async def acleanup_expired(cls) -> int:
        deleted, _ = await cls.expired().adelete()
        return deleted
