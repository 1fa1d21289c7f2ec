"""Sessions (token families) a user can list and end, ``SESSION_LIMIT``, and
:func:`revoke_user_sessions`.

The registry (:class:`~restflow.authentication.models.TokenSession`, kept with
``TRACK_SESSIONS``) says which sessions exist; what refuses a session's tokens is its
family record in the blacklist store, written first, so an ended session is refused even
when the registry update that follows fails.

Ending *all* of a user's sessions (log out everywhere, a password change, a reactivation,
:func:`revoke_user_sessions`) writes one record whatever their number: the user's
revocation epoch, which refuses every session started at or before it. Ending all but
the current one keeps one record per ended session (a family record each, still one
write), since the epoch cannot spare one session.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db.models import QuerySet
from django.utils import timezone

from restflow.authentication.blacklist_backends import TokenBlacklist
from restflow.authentication.config import get_config
from restflow.authentication.exceptions import JWTConfigurationError
from restflow.authentication.signals import session_created, session_revoked
from restflow.authentication.tokens import RefreshToken

__all__ = [
    "end_sessions",
    "live_sessions",
    "require_tracking",
    "revoke_user_sessions",
    "start_session",
    "touch_session",
    "user_may_revoke",
]


def _model() -> Any:
    from restflow.authentication.models import TokenSession

    return TokenSession


def require_tracking() -> None:
    if not get_config().track_sessions:
        raise JWTConfigurationError(
            "The sessions API needs RESTFLOW_SETTINGS['JWT']['TRACK_SESSIONS'] = True (and "
            "'restflow.authentication' in INSTALLED_APPS, migrated)."
        )


def _client(request: Any) -> dict[str, Any]:
    if request is None or not get_config().session_record_client:
        return {}
    meta = request.META
    agent = meta.get("HTTP_USER_AGENT", "")
    return {
        "user_agent": agent[:256] if isinstance(agent, str) else "",
        "ip_address": meta.get("REMOTE_ADDR") or None,
    }


def _expiry(exp: int) -> datetime:
    return datetime.fromtimestamp(exp, tz=UTC)


def start_session(user: Any, refresh: RefreshToken, request: Any = None) -> None:
    """Record the session ``refresh`` starts (with ``TRACK_SESSIONS``), then end the
    oldest ones beyond ``SESSION_LIMIT``."""
    config = get_config()
    if not config.track_sessions:
        return
    now = timezone.now()
    _model().objects.create(
        sid=refresh.sid,
        user=user,
        created_at=now,
        last_used_at=now,
        expires_at=_expiry(refresh.exp),
        **_client(request),
    )
    session_created.send(sender=RefreshToken, user=user, sid=refresh.sid, request=request)
    limit = config.session_limit
    if limit is not None:
        newest_first = live_sessions(user).order_by("-created_at", "-id")
        excess = list(newest_first.values_list("sid", flat=True)[limit:])
        end_sessions(excess, reason="limit", user_id=user.pk)


def touch_session(refresh: RefreshToken) -> None:
    """A refresh of the session: last use now, alive until the new refresh token expires."""
    if get_config().track_sessions and refresh.sid:
        _model().objects.filter(sid=refresh.sid, revoked_at=None).update(
            last_used_at=timezone.now(), expires_at=_expiry(refresh.exp)
        )


def live_sessions(user: Any) -> QuerySet[Any]:
    """The user's sessions that are neither ended nor expired."""
    return _model().objects.filter(user=user, revoked_at=None, expires_at__gt=timezone.now())


def end_sessions(sids: list[str], *, reason: str, user_id: Any = None) -> int:
    """End the sessions ``sids`` (one blacklist write, one registry update); sends
    ``session_revoked`` for each. Returns how many were ended."""
    if not sids:
        return 0
    TokenBlacklist.revoke_families(sids)
    if get_config().track_sessions:
        _model().objects.filter(sid__in=sids, revoked_at=None).update(
            revoked_at=timezone.now(), revoke_reason=reason
        )
    for sid in sids:
        session_revoked.send(sender=RefreshToken, sid=sid, reason=reason, user_id=user_id)
    return len(sids)


def _end_every_session(user: Any, *, reason: str) -> int:
    """The user's revocation epoch (one record), then the registry (one update)."""
    config = get_config()
    TokenBlacklist.revoke_user(getattr(user, config.user_id_field))
    if not config.track_sessions:
        return 0
    sessions = live_sessions(user)
    sids = list(sessions.values_list("sid", flat=True))
    _model().objects.filter(sid__in=sids).update(revoked_at=timezone.now(), revoke_reason=reason)
    for sid in sids:
        session_revoked.send(sender=RefreshToken, sid=sid, reason=reason, user_id=user.pk)
    return len(sids)


def revoke_user_sessions(user: Any, *, reason: str = "admin", keep: str | None = None) -> int:
    """End every live session of ``user`` (but ``keep``), O(1) in their number: without
    ``keep``, one record (the user's revocation epoch); with it, one write of a family
    record per ended session. Needs ``TRACK_SESSIONS``; returns how many were ended."""
    require_tracking()
    if not keep and TokenBlacklist.supports_user_epochs():
        return _end_every_session(user, reason=reason)
    sessions = live_sessions(user)
    if keep:
        sessions = sessions.exclude(sid=keep)
    return end_sessions(list(sessions.values_list("sid", flat=True)), reason=reason, user_id=user.pk)


def _watched_fields(model: Any, update_fields: Any) -> list[str]:
    """The fields of a user save that can end sessions: the password hash, and
    ``is_active`` when the model stores it (not a plain attribute as on
    ``AbstractBaseUser``); only those the save writes."""
    fields = ["password"]
    try:
        if model._meta.get_field("is_active").concrete:
            fields.append("is_active")
    except FieldDoesNotExist:
        pass
    return [name for name in fields if update_fields is None or name in update_fields]


def user_may_revoke(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    """``pre_save`` of the user model: a new password hash (reason ``"password"``) ends
    every session of the user (with ``TRACK_SESSIONS``, or with the blacklist on and
    ``CHECK_REVOKE_TOKEN`` off); so does a reactivation (``is_active`` turned back on,
    reason ``"admin"``, with ``CHECK_USER_IS_ACTIVE``): while the user was inactive the
    user check refused their tokens (401 ``user_inactive``), and those sessions stay ended.

    Before the save, so a store outage fails the change rather than leaving the old
    sessions alive (a rolled-back change merely logs the user out).
    """
    config = get_config()
    # CHECK_REVOKE_TOKEN already refuses the old tokens (its own "password changed"
    # answer, kept as it was); without it, the epoch does it with the blacklist on.
    epochs = (
        config.blacklist_enabled
        and not config.check_revoke_token
        and TokenBlacklist.supports_user_epochs()
    )
    if not (config.track_sessions or epochs) or instance.pk is None:
        return
    fields = _watched_fields(type(instance), update_fields)
    if not fields:
        return
    row = type(instance)._base_manager.filter(pk=instance.pk).values_list(*fields).first()
    if row is None:
        return
    old = dict(zip(fields, row, strict=True))
    if "password" in old and old["password"] != instance.password:
        reason = "password"
    elif old.get("is_active") is False and instance.is_active and config.check_user_is_active:
        reason = "admin"  # reactivated: the sessions the deactivation stopped stay ended
    else:
        return
    if epochs:
        _end_every_session(instance, reason=reason)
    else:
        revoke_user_sessions(instance, reason=reason)
