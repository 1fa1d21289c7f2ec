"""The cookie transport for browser apps (``RESTFLOW_SETTINGS['JWT']['COOKIE']``).

The refresh token travels in an ``HttpOnly`` cookie whose ``Path`` covers only the
refresh and logout views; optionally the access token in a second one. A request that
authenticates with a cookie is checked for CSRF exactly as DRF's ``SessionAuthentication``
checks a session (Django's ``CsrfViewMiddleware`` rules, unsafe methods only); a token
sent in the body or the ``Authorization`` header needs no CSRF token, since a forged
cross-site request cannot know it.
"""

from __future__ import annotations

import posixpath
import time
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.http import HttpResponse
from django.urls import NoReverseMatch, reverse
from rest_framework.authentication import CSRFCheck
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied

from restflow.authentication.exceptions import JWTConfigurationError

__all__ = ["CookiePolicy", "enforce_csrf", "prefixed_name"]

_S = "RESTFLOW_SETTINGS['JWT']['COOKIE']"
_EXPIRED = "Thu, 01 Jan 1970 00:00:00 GMT"


def prefixed_name(name: str, *, secure: bool, domain: str | None, path: str, prefix: bool) -> str:
    """``__Host-`` when the attributes allow it (Secure, no Domain, Path ``/``), else
    ``__Secure-`` when Secure, else the bare name (RFC 6265bis cookie prefixes)."""
    if not (prefix and secure):
        return name
    return ("__Host-" if domain is None and path == "/" else "__Secure-") + name


def _common_directory(*paths: str) -> str:
    common = posixpath.commonpath(paths)
    return common if common.endswith("/") else common + "/"


@dataclass(frozen=True)
class _Cookie:
    name: str
    path: str
    domain: str | None
    secure: bool
    samesite: str

    def attributes(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "domain": self.domain,
            "secure": self.secure,
            "httponly": True,
            "samesite": self.samesite,
        }


class CookiePolicy:
    """The cookie settings, resolved (names with their prefixes, the refresh path)."""

    def __init__(self, s: Any) -> None:
        self.enabled: bool = bool(s.ENABLED)
        self.access_enabled: bool = self.enabled and bool(s.ACCESS_TOKEN)
        self.refresh_from_body: bool = bool(s.REFRESH_FROM_BODY)
        self.secure: bool = bool(s.SECURE)
        self.samesite: str = str(s.SAMESITE)
        self.domain: str | None = s.DOMAIN
        self._refresh_path: str | None = s.REFRESH_PATH
        self._refresh_name: str = s.REFRESH_NAME
        self._access_name: str = s.ACCESS_NAME
        self._access_path: str = s.ACCESS_PATH
        self._prefix: bool = bool(s.NAME_PREFIX)

    def _cookie(self, name: str, path: str) -> _Cookie:
        full = prefixed_name(
            name, secure=self.secure, domain=self.domain, path=path, prefix=self._prefix
        )
        return _Cookie(full, path, self.domain, self.secure, self.samesite)

    @cached_property
    def refresh(self) -> _Cookie:
        """Path: ``REFRESH_PATH``, else the deepest directory holding both the refresh and
        the logout (blacklist) URL, so the cookie is never sent to the rest of the API."""
        path = self._refresh_path
        if path is None:
            try:
                path = _common_directory(
                    reverse("restflow_authentication:token_refresh"),
                    reverse("restflow_authentication:token_blacklist"),
                )
            except NoReverseMatch as exc:
                raise JWTConfigurationError(
                    f"{_S}['REFRESH_PATH'] is None and the token views cannot be reversed "
                    "('restflow_authentication:token_refresh'): include "
                    "'restflow.authentication.urls' or set REFRESH_PATH to the URL prefix "
                    "of your refresh and logout views."
                ) from exc
        return self._cookie(self._refresh_name, path)

    @cached_property
    def access(self) -> _Cookie:
        return self._cookie(self._access_name, self._access_path)

    def set_tokens(self, response: HttpResponse, *, refresh: Any = None, access: Any = None) -> None:
        """Set the refresh cookie (and the access cookie when ``ACCESS_TOKEN``); each
        lives as long as its token."""
        now = time.time()
        if refresh is not None:
            self._set(response, self.refresh, str(refresh), refresh.exp - now)
        if access is not None and self.access_enabled:
            self._set(response, self.access, str(access), access.exp - now)

    def clear(self, response: HttpResponse) -> None:
        """Delete the cookies with the very attributes they were set with."""
        for cookie in (self.refresh, self.access) if self.access_enabled else (self.refresh,):
            response.set_cookie(cookie.name, "", max_age=0, expires=_EXPIRED, **cookie.attributes())

    @staticmethod
    def _set(response: HttpResponse, cookie: _Cookie, value: str, seconds: float) -> None:
        response.set_cookie(cookie.name, value, max_age=max(int(seconds), 0), **cookie.attributes())

    def read_refresh(self, request: Any) -> str | None:
        return _read(request, self.refresh.name)

    def read_access(self, request: Any) -> str | None:
        return _read(request, self.access.name) if self.access_enabled else None


def _read(request: Any, name: str) -> str | None:
    value = request.COOKIES.get(name)
    if not value:
        return None
    if not value.isascii():
        raise AuthenticationFailed("Token contains invalid characters.", code="invalid_token")
    return str(value)


def enforce_csrf(request: Any) -> None:
    """403 unless the request passes Django's CSRF check (safe methods always do), the
    check DRF's ``SessionAuthentication`` runs for a session-authenticated request."""
    check = CSRFCheck(lambda _request: None)  # type: ignore[arg-type]
    check.process_request(request)  # puts the CSRF cookie's secret into META
    reason = check.process_view(request, None, (), {})  # type: ignore[arg-type]
    if reason:
        raise PermissionDenied(f"CSRF Failed: {reason}")
