"""System checks of the cookie transport of browser apps (``COOKIE``)."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, Warning

from restflow.authentication.checks import _ID, _S

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

