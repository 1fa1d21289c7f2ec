"""System checks of what a token says and whom it names: the user id claim and field, the
access-token profile, the user authentication rule."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, Warning

from restflow.authentication.checks import _ID, _S
from restflow.authentication.constants import (
    ACCESS_TOKEN_PROFILES,
    RFC9068_PROFILE,
)


def _user_id_errors(s: Any) -> list[CheckMessage]:
    if s.USER_ID_FIELD in tuple(s.USER_ID_FIELD_ALLOWLIST):
        return []
    return [
        Error(
            f"{_S}['USER_ID_FIELD'] = {s.USER_ID_FIELD!r} is not in USER_ID_FIELD_ALLOWLIST.",
            hint="Use a unique, non-secret field such as 'id' or 'uuid', or extend "
            "USER_ID_FIELD_ALLOWLIST deliberately.",
            id=_ID + "E003",
        )
    ]


def _user_id_field_messages(s: Any) -> list[CheckMessage]:
    """W004: tokens name users by a value users can change, or that is not unique.

    Safe: the primary key, or a unique field users cannot edit (``editable=False``).
    Anything else can later name another account: after a rename, a new account taking
    the old value is authenticated by the old tokens, unless ``CHECK_REVOKE_TOKEN`` ties
    each token to its user's password hash.
    """
    if s.CHECK_REVOKE_TOKEN or s.USER_ID_FIELD == "pk":
        return []
    from django.contrib.auth import get_user_model
    from django.core.exceptions import FieldDoesNotExist

    meta = get_user_model()._meta
    try:
        field = meta.get_field(s.USER_ID_FIELD)
    except FieldDoesNotExist:
        return []  # E003 or the first token issue reports it
    unique = getattr(field, "unique", False)  # False for a reverse relation
    if getattr(field, "primary_key", False) or (unique and not field.editable):
        return []
    why = "users can change it" if unique else "it is not unique"
    return [
        Warning(
            f"{_S}['USER_ID_FIELD'] = {s.USER_ID_FIELD!r} names users by a value {why}: "
            "a token would authenticate whichever account holds the value later (a new "
            "account that takes a renamed user's old value gets the old tokens).",
            hint=f"Use the primary key ({meta.pk.name!r}) or a unique field with "
            "editable=False as USER_ID_FIELD, or set CHECK_REVOKE_TOKEN = True (tokens then "
            "carry an HMAC of the user's password hash and stop matching another account).",
            id=_ID + "W004",
        )
    ]


def _profile_messages(s: Any) -> list[CheckMessage]:
    """E016: an unknown ACCESS_TOKEN_PROFILE, or RFC 9068 without the claims it requires."""
    if s.ACCESS_TOKEN_PROFILE not in ACCESS_TOKEN_PROFILES:
        problem = f"{_S}['ACCESS_TOKEN_PROFILE'] = {s.ACCESS_TOKEN_PROFILE!r} is not known."
    else:
        missing = [name for name in ("ISSUER", "AUDIENCE", "CLIENT_ID") if not getattr(s, name)]
        if s.ACCESS_TOKEN_PROFILE != RFC9068_PROFILE or not missing:
            return []
        problem = (
            f"{_S}['ACCESS_TOKEN_PROFILE'] is 'rfc9068' but {', '.join(missing)} not set: "
            "RFC 9068 access tokens must carry iss, aud and client_id."
        )
    return [
        Error(
            problem,
            hint=f"Use one of {ACCESS_TOKEN_PROFILES}; with 'rfc9068' set ISSUER, AUDIENCE "
            "and CLIENT_ID (the OAuth client these tokens are issued to).",
            id=_ID + "E016",
        )
    ]


def _rule_messages(s: Any) -> list[CheckMessage]:
    rule = s.USER_AUTHENTICATION_RULE
    if not isinstance(rule, str):
        return []
    from django.utils.module_loading import import_string

    try:
        import_string(rule)
    except ImportError as exc:
        return [
            Error(
                f"{_S}['USER_AUTHENTICATION_RULE'] = {rule!r} cannot be imported: {exc}",
                hint="Give the dotted path of a callable rule(user) -> bool.",
                id=_ID + "E010",
            )
        ]
    return []

