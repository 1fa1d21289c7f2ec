"""The model blacklist backend: rows of :class:`BlacklistedToken`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connections, router, transaction

if TYPE_CHECKING:
    from restflow.authentication.models import BlacklistedToken

from restflow.authentication.blacklist_base import BlacklistBackend

__all__ = ["ModelBlacklistBackend", "get_blacklisted_token_model"]


def get_blacklisted_token_model() -> type[BlacklistedToken]:
    from restflow.authentication.models import BlacklistedToken

    return BlacklistedToken


def _expiry_datetime(expires_at: int) -> datetime:
    return datetime.fromtimestamp(expires_at, tz=UTC)


def _row_values(ids: tuple[str, ...], found: dict[str, datetime]) -> list[Any]:
    return [int(found[one].timestamp() * 1000) if one in found else None for one in ids]


class ModelBlacklistBackend(BlacklistBackend):
    """Rows of :class:`BlacklistedToken`; atomic ``consume`` through the unique ``jti``.

    Needs ``restflow.authentication`` in ``INSTALLED_APPS`` and its migration.
    """

    def blacklist(self, jti: str, *, expires_at: int) -> None:
        model = get_blacklisted_token_model()
        model.objects.get_or_create(jti=jti, defaults={"expires_at": _expiry_datetime(expires_at)})

    def is_blacklisted(self, jti: str) -> bool:
        return get_blacklisted_token_model().objects.filter(jti=jti).exists()

    def blacklist_many(self, ids: list[str], *, expires_at: int) -> None:
        model = get_blacklisted_token_model()
        expiry = _expiry_datetime(expires_at)
        rows = [model(jti=one, expires_at=expiry) for one in ids]
        model.objects.bulk_create(rows, ignore_conflicts=True)

    def start_lookup_any(self, ids: tuple[str, ...]) -> Callable[[], bool]:
        result = get_blacklisted_token_model().objects.filter(jti__in=ids).exists()
        return lambda: result

    async def ais_any_blacklisted(self, ids: tuple[str, ...]) -> bool:
        return await get_blacklisted_token_model().objects.filter(jti__in=ids).aexists()

    def start_lookup_values(self, ids: tuple[str, ...]) -> Callable[[], list[Any]]:
        """One ``jti IN (...)`` query; a row's value is its ``created_at`` (milliseconds),
        which for a user record is the revocation epoch."""
        rows = get_blacklisted_token_model().objects.filter(jti__in=ids)
        result = _row_values(ids, dict(rows.values_list("jti", "created_at")))
        return lambda: result

    async def alookup_values(self, ids: tuple[str, ...]) -> list[Any]:
        rows = get_blacklisted_token_model().objects.filter(jti__in=ids)
        return _row_values(ids, {jti: at async for jti, at in rows.values_list("jti", "created_at")})

    def set_user_epoch(self, record_id: str, *, at_ms: int, expires_at: int) -> None:
        """One upsert (``INSERT ... ON CONFLICT DO UPDATE``); the epoch is the row's
        ``created_at``, which Django sets to now (``auto_now_add``), at or after ``at_ms``."""
        model = get_blacklisted_token_model()
        features = connections[router.db_for_write(model)].features
        target = ["jti"] if features.supports_update_conflicts_with_target else None
        row = model(jti=record_id, expires_at=_expiry_datetime(expires_at))
        model.objects.bulk_create(
            [row],
            update_conflicts=True,
            unique_fields=target,
            update_fields=["created_at", "expires_at"],
        )

    def consume(self, jti: str, *, expires_at: int) -> bool:
        return self.redeem(jti, expires_at=expires_at, at=0)[0]

    def redeem(self, jti: str, *, expires_at: int, at: int) -> tuple[bool, int]:
        """The first use is the winner's ``created_at``, read back by every later racer."""
        model = get_blacklisted_token_model()
        try:
            with transaction.atomic(using=router.db_for_write(model)):
                row = model.objects.create(jti=jti, expires_at=_expiry_datetime(expires_at))
        except IntegrityError:
            first = model.objects.filter(jti=jti).values_list("created_at", flat=True).first()
            return False, int(first.timestamp()) if first is not None else 0
        return True, int(row.created_at.timestamp())

    async def ablacklist(self, jti: str, *, expires_at: int) -> None:
        model = get_blacklisted_token_model()
        await model.objects.aget_or_create(
            jti=jti, defaults={"expires_at": _expiry_datetime(expires_at)}
        )

    async def ais_blacklisted(self, jti: str) -> bool:
        return await get_blacklisted_token_model().objects.filter(jti=jti).aexists()

