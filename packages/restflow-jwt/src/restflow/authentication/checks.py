"""System checks for the JWT settings (``restflow_authentication.E0xx`` / ``W0xx``)."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, Warning

from restflow.authentication.constants import (
    ALLOWED_ALGORITHMS,
    ASYMMETRIC_ALGORITHMS,
    HMAC_ALGORITHMS,
    LOCAL_CACHE_BACKEND_PATHS,
)
from restflow.authentication.exceptions import JWTConfigurationError
from restflow.authentication.keys import (
    key_weakness,
    looks_like_pem,
    looks_like_private_key,
    prepare_signing_key,
    prepare_verifying_key,
)

__all__ = ["check_jwt_settings"]

_ID = "restflow_authentication."
_S = "RESTFLOW_SETTINGS['JWT']"


def _algorithm_errors(s: Any) -> list[CheckMessage]:
    algorithm = s.ALGORITHM
    if isinstance(algorithm, str) and algorithm.lower() == "none":
        return [
            Error(
                f"{_S}['ALGORITHM'] is 'none': tokens would carry no signature.",
                hint="Use 'HS256' with a random 32-byte secret, or an asymmetric algorithm.",
                id=_ID + "E001",
            )
        ]
    if algorithm not in ALLOWED_ALGORITHMS:
        return [
            Error(
                f"{_S}['ALGORITHM'] = {algorithm!r} is not supported.",
                hint=f"Use one of: {', '.join(ALLOWED_ALGORITHMS)}.",
                id=_ID + "E002",
            )
        ]
    return []


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


def _hmac_key_errors(s: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for setting in ("SIGNING_KEY", "VERIFYING_KEY"):
        if looks_like_pem(getattr(s, setting)):
            messages.append(
                Error(
                    f"{_S}['{setting}'] is a PEM/SSH key but ALGORITHM {s.ALGORITHM} is HMAC.",
                    hint="HMAC needs a random secret; for RSA/EC keys choose RS256/ES256 etc.",
                    id=_ID + "E004",
                )
            )
    weakness = key_weakness(s.ALGORITHM, s.SIGNING_KEY)
    if weakness and not messages:
        messages.append(
            Error(
                f"{_S}['SIGNING_KEY'] is too short: {weakness}.",
                hint="Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(64))'",
                id=_ID + "E005",
            )
        )
    return messages


def _asymmetric_key_errors(s: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    if looks_like_private_key(s.VERIFYING_KEY):
        messages.append(
            Error(
                f"{_S}['VERIFYING_KEY'] holds a private key.",
                hint="Give the public key (PEM) as VERIFYING_KEY; keep the private key in "
                "SIGNING_KEY on the servers that issue tokens only.",
                id=_ID + "E007",
            )
        )
    for setting in ("SIGNING_KEY", "VERIFYING_KEY"):
        weakness = key_weakness(s.ALGORITHM, getattr(s, setting))
        if weakness:
            messages.append(
                Error(
                    f"{_S}['{setting}'] is too weak: {weakness}.",
                    hint="Generate a new RSA key of at least 2048 bits (3072 recommended).",
                    id=_ID + "E006",
                )
            )
    try:
        prepare_verifying_key(s.ALGORITHM, s.VERIFYING_KEY, s.SIGNING_KEY)
        if s.SIGNING_KEY is not None:
            prepare_signing_key(s.ALGORITHM, s.SIGNING_KEY)
    except JWTConfigurationError as exc:
        messages.append(
            Error(
                f"No usable key for {s.ALGORITHM}: {exc}",
                hint="Set VERIFYING_KEY to the PEM public key (and SIGNING_KEY to the PEM "
                "private key where tokens are issued); install 'restflow-jwt[crypto]'.",
                id=_ID + "E008",
            )
        )
    return messages


def _key_messages(s: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    if s.SIGNING_KEY is None and (s.ALGORITHM in HMAC_ALGORITHMS or s.VERIFYING_KEY is None):
        messages.append(
            Warning(
                f"{_S}['SIGNING_KEY'] is not set: tokens cannot be issued or verified.",
                hint="Set SIGNING_KEY (a random secret for HMAC, a private key for RS/PS/ES).",
                id=_ID + "W001",
            )
        )
    if s.ALGORITHM in HMAC_ALGORITHMS:
        messages += _hmac_key_errors(s)
    elif s.ALGORITHM in ASYMMETRIC_ALGORITHMS and (s.SIGNING_KEY or s.VERIFYING_KEY):
        messages += _asymmetric_key_errors(s)
    return messages


def _cache_class_problem(path: str, alias: str) -> str | None:
    from django.utils.module_loading import import_string

    from restflow.authentication.blacklist import eviction_problem

    try:
        cache_class = import_string(path)
    except ImportError:
        return None  # Django's own cache checks report a BACKEND that does not import
    return eviction_problem(cache_class, alias) if isinstance(cache_class, type) else None


def _blacklist_messages(s: Any) -> list[CheckMessage]:
    from django.conf import settings

    from restflow.authentication.blacklist import (
        EVICTION_FIX,
        CacheBlacklistBackend,
        resolve_token_blacklist_backend,
    )

    try:
        backend = resolve_token_blacklist_backend(s.BLACKLIST_BACKEND)
    except JWTConfigurationError as exc:
        return [
            Error(
                str(exc),
                hint="Use 'restflow.authentication.jwt.CacheBlacklistBackend', "
                "'restflow.authentication.jwt.ModelBlacklistBackend' or your own "
                "BlacklistBackend subclass.",
                id=_ID + "E009",
            )
        ]
    if not (s.BLACKLIST_ENABLED and isinstance(backend, CacheBlacklistBackend)):
        return []
    cache = getattr(settings, "CACHES", {}).get(s.BLACKLIST_CACHE_ALIAS, {})
    path = cache.get("BACKEND", "")
    problem = _cache_class_problem(path, s.BLACKLIST_CACHE_ALIAS)
    if problem is not None:
        return [Error(problem, hint=EVICTION_FIX, id=_ID + "E011")]
    options = cache.get("OPTIONS", {})
    if options.get("IGNORE_EXCEPTIONS") or getattr(settings, "DJANGO_REDIS_IGNORE_EXCEPTIONS", False):
        return [
            Warning(
                f"The JWT blacklist cache alias {s.BLACKLIST_CACHE_ALIAS!r} ignores cache "
                "errors (django-redis IGNORE_EXCEPTIONS): during an outage every revoked "
                "token would be accepted.",
                hint="Give the blacklist its own cache alias without IGNORE_EXCEPTIONS "
                "(and set BLACKLIST_CACHE_ALIAS to it), or use ModelBlacklistBackend.",
                id=_ID + "W003",
            )
        ]
    if path in LOCAL_CACHE_BACKEND_PATHS and not s.BLACKLIST_ALLOW_LOCMEM:
        return [
            Warning(
                f"The JWT blacklist uses cache alias {s.BLACKLIST_CACHE_ALIAS!r} ({path}), "
                "which is per-process; the first blacklist use will fail.",
                hint="Point BLACKLIST_CACHE_ALIAS at a shared cache (Redis), use "
                "ModelBlacklistBackend, or set BLACKLIST_ALLOW_LOCMEM = True for tests.",
                id=_ID + "W002",
            )
        ]
    return []


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


def check_jwt_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Every JWT check (see the table in docs/jwt.md)."""
    from restflow.authentication.config import get_jwt_settings

    s = get_jwt_settings()
    messages = _algorithm_errors(s)
    messages += _user_id_errors(s) or _user_id_field_messages(s)
    if not messages or messages[0].id not in (_ID + "E001", _ID + "E002"):
        messages += _key_messages(s)
    messages += _blacklist_messages(s)
    messages += _rule_messages(s)
    return messages
