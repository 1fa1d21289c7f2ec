"""What ``cache_response`` may share between clients (docs/caching.md, What is refused
by default).

What is never stored (the response is returned, uncached):

- responses whose status is not in ``statuses`` (default: only ``200``);
- responses setting a cookie, saying ``Cache-Control: private``/``no-store``/``no-cache``,
  or varying on ``Cookie``/``Authorization``/``*``;
- responses that embed a CSRF token (the view called ``get_token``);
- streaming and file responses.

Requests that are not served from, nor written to, the cache:

- methods other than ``methods`` (default ``GET``/``HEAD``);
- requests authenticated as a user (or carrying ``request.auth``) unless the key
  constructor has a user-scoped field (``RequestValueKeyField("user.id")``) or the
  decorator says ``public=True`` (a request with ``request.auth`` but no authenticated
  user has no identity to key by: only ``public=True`` caches it);
- calls in which no request is found (no argument is a Django ``HttpRequest`` or a DRF
  ``Request`` and ``self.request`` is not set): a warning names the function, once.

Responses of calls that read or wrote ``request.session`` are not stored either.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable
from typing import Any

from django.http.response import HttpResponseBase

from restflow.caching._requests import http_request, proxied
from restflow.caching.request_key_fields import user_identity
from restflow.caching.response_store import render_view_response_async, render_view_response_sync

__all__ = [
    "identified",
    "note_view_effects",
    "refusal",
    "request_refusal",
    "run_view_async",
    "run_view_sync",
    "session_of",
]

_COMMA = re.compile(r"\s*,\s*")
_PRIVATE_DIRECTIVES = frozenset({"private", "no-store", "no-cache"})
_UNSAFE_VARY = frozenset({"*", "cookie", "authorization"})


# What the view did that forbids storing its response (a CSRF token, the session), kept
# beside the response: the object the view returned is not changed. id -> (weak
# reference, reason); an entry goes when its response does.
_refusals: dict[int, tuple[weakref.ref[Any], str]] = {}


def _note_refusal(response: Any, reason: str) -> None:
    key = id(response)

    def forget(ref: weakref.ref[Any]) -> None:
        held = _refusals.get(key)
        if held is not None and held[0] is ref:
            _refusals.pop(key, None)

    _refusals[key] = (weakref.ref(response, forget), reason)


def _noted_refusal(response: Any) -> str | None:
    held = _refusals.get(id(response))
    return held[1] if held is not None and held[0]() is response else None


def refusal(response: Any, statuses: frozenset[int]) -> str | None:
    """Why ``response`` must not be stored (``None`` when it may)."""
    if not isinstance(response, HttpResponseBase) or getattr(response, "streaming", False):
        return "not a complete HttpResponse"
    if response.status_code not in statuses:
        return f"status {response.status_code}"
    if response.cookies or response.has_header("Set-Cookie"):
        return "sets a cookie"
    directives = {
        d.split("=", 1)[0].strip().lower()
        for d in _COMMA.split(response.get("Cache-Control", ""))
        if d.strip()
    }
    if directives & _PRIVATE_DIRECTIVES:
        return "Cache-Control forbids shared caching"
    vary = {v.strip().lower() for v in _COMMA.split(response.get("Vary", "")) if v.strip()}
    if vary & _UNSAFE_VARY:
        return "varies on the user"
    return _noted_refusal(response)


def identified(request: Any) -> tuple[bool, bool]:
    """``(authenticated, has_identity)``: whether the request is authenticated (as a user
    or by ``request.auth``), and whether a user-scoped key field can tell it apart."""
    try:
        auth = getattr(request, "auth", None)
        identity = user_identity(request)
    except Exception:
        return True, False  # authentication failed loudly: never share the answer
    return identity is not None or auth is not None, identity is not None


def session_of(request: Any) -> Any:
    """The Django session of ``request`` (``None`` without ``SessionMiddleware``)."""
    http = http_request(request)
    session = getattr(http, "session", None) if http is not None else None
    return session if hasattr(session, "accessed") else None


def note_view_effects(request: Any, response: Any, session_used: bool) -> Any:
    """Remember what the view did that forbids sharing ``response`` (a CSRF token, the
    session), beside the response; returns ``response``."""
    if not isinstance(response, HttpResponseBase):
        return response
    meta = getattr(request, "META", None) or {}
    if meta.get("CSRF_COOKIE_NEEDS_UPDATE"):
        _note_refusal(response, "embeds a CSRF token")
    elif session_used:
        _note_refusal(response, "read or wrote the session")
    return response


def request_refusal(
    request: Any, methods: frozenset[str], public: bool, user_scoped: bool
) -> str | None:
    """Why this request must neither read nor write the cache (``None`` when it may):
    ``"method"`` for a method not in ``methods``; an authenticated request unless the
    decorator says ``public`` or the key has a user-scoped field that tells it apart."""
    method = getattr(proxied(request), "method", None)
    if method is not None and method.upper() not in methods:
        return "method"
    if public:
        return None
    authenticated, has_identity = identified(request)
    if not authenticated or (has_identity and user_scoped):
        return None
    return (
        "the request is authenticated (add a user-scoped key field or pass public=True)"
    )


def run_view_sync(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], request: Any
) -> Any:
    """Render the view's response, noting whether it read or wrote the session."""
    session = session_of(request)
    if session is None:
        return note_view_effects(request, render_view_response_sync(func, args, kwargs), False)
    accessed, session.accessed = session.accessed, False
    try:
        response = render_view_response_sync(func, args, kwargs)
    finally:
        used = session.accessed or session.modified
        session.accessed = accessed or session.accessed
    return note_view_effects(request, response, used)


async def run_view_async(
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    request: Any,
    is_async: bool,
) -> Any:
    """:func:`run_view_sync` from the event loop (a sync view runs in place)."""
    session = session_of(request)
    accessed = False
    if session is not None:
        accessed, session.accessed = session.accessed, False
    try:
        if not is_async:
            response = render_view_response_sync(func, args, kwargs)
        else:
            response = await render_view_response_async(func, args, kwargs)
    finally:
        used = session is not None and (session.accessed or session.modified)
        if session is not None:
            session.accessed = accessed or session.accessed
    return note_view_effects(request, response, used)
