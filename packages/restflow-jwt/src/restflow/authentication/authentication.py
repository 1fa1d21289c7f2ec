"""``JWTAuthentication``: DRF authentication with restflow access tokens."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed

from restflow.authentication.blacklist_backends import TokenBlacklist
from restflow.authentication.codec import read_header
from restflow.authentication.config import JWTConfig, get_config
from restflow.authentication.cookies import enforce_csrf
from restflow.authentication.exceptions import TokenError, translate_token_errors
from restflow.authentication.tokens import AccessToken
from restflow.authentication.users import aget_token_user, get_token_user

__all__ = ["JWTAuthentication", "JWTCookieAuthentication"]

_BLACKLISTED = "Token has been blacklisted."


def _raw_token(request: Any, config: JWTConfig) -> str | None:
    """The token of the ``Authorization`` header, ``None`` when the header is not ours."""
    header = request.META.get("HTTP_AUTHORIZATION")
    if not header or not isinstance(header, str):
        return None
    parts = header.split()
    if not parts or parts[0].lower() not in config.header_types_lower:
        return None
    if len(parts) != 2:
        raise AuthenticationFailed(
            f"Authorization header must be '{config.challenge_scheme} <token>'.",
            code="invalid_authorization_header",
        )
    if not parts[1].isascii():
        raise AuthenticationFailed("Token contains invalid characters.", code="invalid_token")
    return parts[1]


class JWTAuthentication(BaseAuthentication):
    """Authenticate ``Authorization: Bearer <access token>``.

    Per request: one signature check, one blacklist read (when enabled: the token's id
    and its session's revocation record together), one user query;
    the user must still exist, be active (``CHECK_USER_IS_ACTIVE``), match the revoke
    claim (``CHECK_REVOKE_TOKEN``) and pass ``USER_AUTHENTICATION_RULE``.
    """

    www_authenticate_realm = "api"

    def authenticate(self, request: Any) -> tuple[Any, AccessToken] | None:
        config = get_config()
        raw = _raw_token(request, config)
        if raw is None:
            return None
        return self._authenticate_token(raw, config)

    def _authenticate_token(self, raw: str, config: JWTConfig) -> tuple[Any, AccessToken]:
        with translate_token_errors():
            token = AccessToken.verify(raw)
            if not config.blacklist_enabled:
                return self.get_user(token), token
            # The blacklist read (the token's id and its family's record, one round
            # trip) travels while the user query runs; the blacklist verdict still
            # takes precedence over any user error.
            blacklisted = TokenBlacklist.start_token_lookup(token.payload)
            try:
                user = self.get_user(token)
            except BaseException:
                if blacklisted():
                    raise TokenError(_BLACKLISTED, code="token_blacklisted") from None
                raise
            if blacklisted():
                raise TokenError(_BLACKLISTED, code="token_blacklisted")
            return user, token

    async def aauthenticate(self, request: Any) -> tuple[Any, AccessToken] | None:
        config = get_config()
        raw = _raw_token(request, config)
        if raw is None:
            return None
        return await self._aauthenticate_token(raw, config)

    async def _aauthenticate_token(self, raw: str, config: JWTConfig) -> tuple[Any, AccessToken]:
        with translate_token_errors():
            remote = config.remote_keys
            if remote is not None:  # verify-only: a due JWKS fetch runs off the event loop
                await remote.aprepare(read_header(raw).get("kid"))
            token = AccessToken.verify(raw)
            if config.blacklist_enabled and await TokenBlacklist.ais_token_revoked(token.payload):
                raise TokenError(_BLACKLISTED, code="token_blacklisted")
            return await self.aget_user(token), token

    def authenticate_header(self, request: Any) -> str:
        return f'{get_config().challenge_scheme} realm="{self.www_authenticate_realm}"'

    def get_user(self, token: AccessToken) -> Any:
        with translate_token_errors():
            return get_token_user(token.payload)

    async def aget_user(self, token: AccessToken) -> Any:
        with translate_token_errors():
            return await aget_token_user(token.payload)


class JWTCookieAuthentication(JWTAuthentication):
    """``JWTAuthentication`` that also reads the access token from its cookie
    (``COOKIE['ACCESS_TOKEN']``) when the request has no ``Authorization`` header.

    A cookie-authenticated request must pass Django's CSRF check for unsafe methods, as
    DRF's ``SessionAuthentication`` requires of a session (403 ``CSRF Failed: ...``);
    a Bearer-header request stays CSRF-exempt.
    """

    def authenticate(self, request: Any) -> tuple[Any, AccessToken] | None:
        config = get_config()
        raw = _raw_token(request, config)
        if raw is not None:
            return self._authenticate_token(raw, config)
        raw = config.cookie.read_access(request)
        if raw is None:
            return None
        result = self._authenticate_token(raw, config)
        enforce_csrf(request)
        return result

    async def aauthenticate(self, request: Any) -> tuple[Any, AccessToken] | None:
        config = get_config()
        raw = _raw_token(request, config)
        if raw is not None:
            return await self._aauthenticate_token(raw, config)
        raw = config.cookie.read_access(request)
        if raw is None:
            return None
        result = await self._aauthenticate_token(raw, config)
        await sync_to_async(enforce_csrf)(request)  # CSRF_USE_SESSIONS reads the session
        return result
