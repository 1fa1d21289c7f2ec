"""System checks of the token blacklist: its backend and cache, and W005 (deploy)."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, Warning

from restflow.authentication.checks import _ID
from restflow.authentication.constants import (
    LOCAL_CACHE_BACKEND_PATHS,
)
from restflow.authentication.exceptions import JWTConfigurationError


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

