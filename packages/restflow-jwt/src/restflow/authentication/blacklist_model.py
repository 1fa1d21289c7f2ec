"""The model blacklist backend: rows of :class:`BlacklistedToken`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, OperationalError, connections, router, transaction

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


#: A transaction that lost a race and may simply run again: PostgreSQL's serialization
#: failure and deadlock (SQLSTATE), MySQL/MariaDB's deadlock (error number).
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
_RETRYABLE_MYSQL_ERRORS = frozenset({1213})
_WRITE_ATTEMPTS = 3


def _retryable(exc: OperationalError) -> bool:
    cause = exc.__cause__
    state = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    if state in _RETRYABLE_SQLSTATES:
        return True
    args: tuple[Any, ...] = tuple(getattr(cause, "args", ()))
    return bool(args) and args[0] in _RETRYABLE_MYSQL_ERRORS


def _write_retrying(model: Any, write: Callable[[], Any]) -> None:
    """Run ``write`` (one upsert) and again when it lost a race with a concurrent writer
    of the same id.

    At REPEATABLE READ, PostgreSQL refuses ``INSERT ... ON CONFLICT`` with a serialization
    failure when the conflicting row was committed after the statement's snapshot: fifty
    racers reusing one refresh token all write the same family record. The row is there
    by then, so a fresh transaction succeeds. Not inside the caller's own transaction (its
    snapshot stays old, and it is aborted): the error goes up, as it would without this.
    """
    using = router.db_for_write(model)
    for attempt in range(1, _WRITE_ATTEMPTS + 1):
        try:
            write()
            return
        except OperationalError as exc:
            if attempt == _WRITE_ATTEMPTS or connections[using].in_atomic_block or not _retryable(exc):
                raise


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
        _write_retrying(
            model,
            lambda: model.objects.bulk_create(
                [model(jti=one, expires_at=expiry) for one in ids], ignore_conflicts=True
            ),
        )

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
        def upsert() -> None:
            row = model(jti=record_id, expires_at=_expiry_datetime(expires_at))
            model.objects.bulk_create(
                [row],
                update_conflicts=True,
                unique_fields=target,
                update_fields=["created_at", "expires_at"],
            )

        _write_retrying(model, upsert)

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

