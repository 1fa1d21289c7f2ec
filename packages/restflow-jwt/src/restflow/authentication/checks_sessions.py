"""System checks of the session settings."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error

from restflow.authentication.checks import _ID, _S


def _session_messages(s: Any) -> list[CheckMessage]:
    """E018-E020: the session settings."""
    from django.apps import apps

    messages: list[CheckMessage] = []
    limit = s.SESSION_LIMIT
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        messages.append(
            Error(
                f"{_S}['SESSION_LIMIT'] = {limit!r} is not a positive integer.",
                hint="Give the number of live sessions a user may keep (say 5), or None.",
                id=_ID + "E018",
            )
        )
    elif limit is not None and not s.TRACK_SESSIONS:
        messages.append(
            Error(
                f"{_S}['SESSION_LIMIT'] is set but TRACK_SESSIONS is False: sessions are not "
                "counted, so the limit would never apply.",
                hint="Set TRACK_SESSIONS = True (and migrate restflow_authentication).",
                id=_ID + "E018",
            )
        )
    if s.TRACK_SESSIONS and not apps.is_installed("restflow.authentication"):
        messages.append(
            Error(
                f"{_S}['TRACK_SESSIONS'] is True but 'restflow.authentication' is not in "
                "INSTALLED_APPS: the session registry is its TokenSession model.",
                hint="Add 'restflow.authentication' to INSTALLED_APPS and run migrate.",
                id=_ID + "E019",
            )
        )
    grace = s.ROTATION_GRACE_PERIOD
    seconds = grace.total_seconds() if hasattr(grace, "total_seconds") else grace
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        messages.append(
            Error(
                f"{_S}['ROTATION_GRACE_PERIOD'] = {grace!r} is not a number of seconds >= 0.",
                hint="Use 0 (off, the default) or a few seconds, e.g. 10.",
                id=_ID + "E020",
            )
        )
    return messages

