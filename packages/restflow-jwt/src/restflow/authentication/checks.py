"""System checks for the JWT settings (``restflow_authentication.E0xx`` / ``W0xx``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.checks import CheckMessage, Error, Warning

from restflow.authentication.constants import (
    ACCESS_TOKEN_PROFILES,
    ALLOWED_ALGORITHMS,
    ASYMMETRIC_ALGORITHMS,
    HMAC_ALGORITHMS,
    LOCAL_CACHE_BACKEND_PATHS,
    RFC9068_PROFILE,
)
from restflow.authentication.exceptions import JWTConfigurationError
from restflow.authentication.keys import (
    key_weakness,
    looks_like_pem,
    looks_like_private_key,
    prepare_signing_key,
    prepare_verifying_key,
)

__all__ = ["check_jwt_deploy_settings", "check_jwt_settings"]

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


def _ring_messages(s: Any) -> list[CheckMessage]:
    """E012/E013: ``SIGNING_KEYS`` that cannot form a ring, or hold a weak key."""
    import time

    from restflow.authentication.keyring import build_key_ring

    try:
        build_key_ring(s, time.time())
    except JWTConfigurationError as exc:
        return [
            Error(
                str(exc),
                hint="Each SIGNING_KEYS item is {'KEY': ..., 'STATE': 'next'|'active'|'retired', "
                "'ALGORITHM': ..., 'KID': ..., 'RETIRED_AT': ...}; exactly one is active; "
                "see 'Keys and rotation' in docs/jwt.md.",
                id=_ID + "E012",
            )
        ]
    weak = [
        (index, key_weakness(entry.get("ALGORITHM", s.ALGORITHM), entry.get("KEY")))
        for index, entry in enumerate(s.SIGNING_KEYS)
    ]
    return [
        Error(
            f"{_S}['SIGNING_KEYS'][{index}] is too weak: {weakness}.",
            hint="Generate a new key: manage.py restflow_keys generate --alg ES256",
            id=_ID + "E013",
        )
        for index, weakness in weak
        if weakness
    ]


def _as_seconds(value: Any) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _jwks_url_messages(s: Any) -> list[CheckMessage]:
    """E014/E015/E017: verify-only mode needs ISSUER and AUDIENCE, holds no keys of its own,
    and may fetch again before its cached keys expire."""
    messages: list[CheckMessage] = []
    missing = [name for name in ("ISSUER", "AUDIENCE") if not getattr(s, name)]
    if missing:
        messages.append(
            Error(
                f"{_S}['JWKS_URL'] is set but {' and '.join(missing)} not: any service "
                "published at that JWKS could mint tokens this one accepts.",
                hint="Set ISSUER to the issuing service's 'iss' and AUDIENCE to this "
                "service's name (the issuer puts it in 'aud').",
                id=_ID + "E014",
            )
        )
    if _as_seconds(s.JWKS_MIN_REFRESH_INTERVAL) > _as_seconds(s.JWKS_CACHE_LIFETIME):
        messages.append(
            Error(
                f"{_S}['JWKS_MIN_REFRESH_INTERVAL'] is longer than JWKS_CACHE_LIFETIME: the "
                "cached keys would expire before a new fetch is allowed (503 in between).",
                hint="Keep JWKS_MIN_REFRESH_INTERVAL (default 30 s) well under "
                "JWKS_CACHE_LIFETIME (default 10 min).",
                id=_ID + "E017",
            )
        )
    local = [name for name in ("SIGNING_KEY", "VERIFYING_KEY", "SIGNING_KEYS") if getattr(s, name)]
    if local or s.ALGORITHM in HMAC_ALGORITHMS:
        what = ", ".join(local) if local else f"ALGORITHM {s.ALGORITHM} (an HMAC secret)"
        messages.append(
            Error(
                f"{_S}['JWKS_URL'] is set together with {what}: a verify-only service takes "
                "its public keys from the JWKS only (a JWKS never carries HMAC secrets).",
                hint="Remove the local keys and set ALGORITHM to the issuer's asymmetric "
                "algorithm, or remove JWKS_URL on the service that issues tokens.",
                id=_ID + "E015",
            )
        )
    return messages


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


def _cache_class_problem(path: str, alias: str) -> str | None:
    from django.utils.module_loading import import_string

    from restflow.authentication.blacklist_backends import eviction_problem

    try:
        cache_class = import_string(path)
    except ImportError:
        return None  # Django's own cache checks report a BACKEND that does not import
    return eviction_problem(cache_class, alias) if isinstance(cache_class, type) else None


def _blacklist_messages(s: Any) -> list[CheckMessage]:
    from django.conf import settings

    from restflow.authentication.blacklist_backends import (
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
                "ModelBlacklistBackend, or set BLACKLIST_ALLOW_LOCMEM = True for tests "
                "(manage.py check --deploy still reports it, as W005).",
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


def _locmem_deploy_messages(s: Any) -> list[CheckMessage]:
    """W005 (``check --deploy`` only): BLACKLIST_ALLOW_LOCMEM, the documented test setup,
    in a deployment. Test runs and ``runserver`` do not run deploy checks, so following
    W002's hint stays quiet there; a production ``check --deploy`` still reports it."""
    from django.conf import settings

    from restflow.authentication.blacklist_backends import (
        CacheBlacklistBackend,
        resolve_token_blacklist_backend,
    )

    if not (s.BLACKLIST_ENABLED and s.BLACKLIST_ALLOW_LOCMEM):
        return []
    try:
        backend = resolve_token_blacklist_backend(s.BLACKLIST_BACKEND)
    except JWTConfigurationError:
        return []  # E009
    path = getattr(settings, "CACHES", {}).get(s.BLACKLIST_CACHE_ALIAS, {}).get("BACKEND", "")
    if not isinstance(backend, CacheBlacklistBackend) or path not in LOCAL_CACHE_BACKEND_PATHS:
        return []
    return [
        Warning(
            f"BLACKLIST_ALLOW_LOCMEM keeps the JWT blacklist in {path} (cache alias "
            f"{s.BLACKLIST_CACHE_ALIAS!r}), which is per-process and emptied by a restart: "
            "a token revoked in one worker still works in the others, and after a restart "
            "rotated or stolen refresh tokens and revoked sessions work again.",
            hint="Point BLACKLIST_CACHE_ALIAS at a Redis cache (with persistence) or use "
            "ModelBlacklistBackend in production; BLACKLIST_ALLOW_LOCMEM is for tests.",
            id=_ID + "W005",
        )
    ]


_CSRF_MIDDLEWARE = "django.middleware.csrf.CsrfViewMiddleware"
_SAMESITE = ("Lax", "Strict", "None")


def _cookie_messages(s: Any) -> list[CheckMessage]:
    """W006, E021-E022, W007: the cookie transport of browser apps (``COOKIE``)."""
    from django.conf import settings

    c = s.COOKIE
    if not c.ENABLED:
        return []
    name = f"{_S}['COOKIE']"
    messages: list[CheckMessage] = []
    if not c.SECURE and not settings.DEBUG:
        messages.append(
            Warning(
                f"{name}['SECURE'] is False outside DEBUG: the refresh token cookie would be "
                "sent over plain HTTP, where anyone on the path can read it.",
                hint="Serve the site over HTTPS and keep SECURE = True (the default).",
                id=_ID + "W006",
            )
        )
    if c.SAMESITE not in _SAMESITE:
        messages.append(
            Error(
                f"{name}['SAMESITE'] = {c.SAMESITE!r} is not one of {', '.join(_SAMESITE)}.",
                hint="Use 'Lax' (the default), or 'Strict'.",
                id=_ID + "E021",
            )
        )
    elif c.SAMESITE == "None" and not c.SECURE:
        messages.append(
            Error(
                f"{name}['SAMESITE'] is 'None' without SECURE: browsers reject such a cookie, "
                "and it would be sent with every cross-site request.",
                hint="Set SECURE = True with SAMESITE = 'None', or use 'Lax'.",
                id=_ID + "E021",
            )
        )
    if _CSRF_MIDDLEWARE not in (getattr(settings, "MIDDLEWARE", None) or ()):
        messages.append(
            Error(
                f"{name}['ENABLED'] is True but {_CSRF_MIDDLEWARE} is not in MIDDLEWARE: "
                "the browser never gets the CSRF token that cookie-authenticated requests "
                "must send back.",
                hint=f"Add '{_CSRF_MIDDLEWARE}' to MIDDLEWARE.",
                id=_ID + "E022",
            )
        )
    messages += _cookie_domain_messages(c.DOMAIN, list(getattr(settings, "ALLOWED_HOSTS", [])))
    return messages


def _cookie_domain_messages(domain: str | None, allowed_hosts: list[str]) -> list[CheckMessage]:
    """W007: a ``Domain`` attribute sends the cookie to every host under it."""
    if domain is None:
        return []
    bare = domain.lstrip(".").lower()
    hosts = [h.lower() for h in allowed_hosts if h and h != "*" and not h.startswith(".")]
    if hosts and all(h == bare for h in hosts) and "." in bare:
        return []
    return [
        Warning(
            f"{_S}['COOKIE']['DOMAIN'] = {domain!r} is broader than the host"
            + (f" ({', '.join(hosts)})" if hosts else "")
            + ": every host under it receives the refresh token cookie, so one compromised "
            "or user-controlled subdomain can take it.",
            hint="Leave DOMAIN = None (the cookie stays on the exact host, and gets the "
            "__Host- prefix where its path allows), or name the API host itself.",
            id=_ID + "W007",
        )
    ]


def check_jwt_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Every JWT check (see the table in docs/jwt.md)."""
    from restflow.authentication.config import get_jwt_settings

    s = get_jwt_settings()
    messages = _algorithm_errors(s)
    messages += _user_id_errors(s) or _user_id_field_messages(s)
    if s.JWKS_URL is not None:
        messages += _jwks_url_messages(s)
    elif s.SIGNING_KEYS:
        messages += _ring_messages(s)
    elif not messages or messages[0].id not in (_ID + "E001", _ID + "E002"):
        messages += _key_messages(s)
    messages += _profile_messages(s)
    messages += _blacklist_messages(s)
    messages += _session_messages(s)
    messages += _cookie_messages(s)
    messages += _rule_messages(s)
    return messages


def check_jwt_deploy_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The JWT checks of ``manage.py check --deploy`` (W005)."""
    from restflow.authentication.config import get_jwt_settings

    return _locmem_deploy_messages(get_jwt_settings())
