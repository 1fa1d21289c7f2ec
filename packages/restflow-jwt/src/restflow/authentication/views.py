"""The token endpoints (obtain, refresh, blacklist (logout), verify) and the sessions API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth import authenticate
from django.middleware.csrf import rotate_token
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed, NotFound, ParseError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from restflow.authentication.authentication import JWTCookieAuthentication
from restflow.authentication.blacklist_backends import TokenBlacklist
from restflow.authentication.codec import decode_token
from restflow.authentication.config import get_config
from restflow.authentication.cookies import enforce_csrf
from restflow.authentication.exceptions import TokenError, translate_token_errors
from restflow.authentication.rotation import rotate_refresh_token
from restflow.authentication.serializers import (
    LogoutAllSerializer,
    SessionSerializer,
    TokenBlacklistSerializer,
    TokenObtainSerializer,
    TokenRefreshSerializer,
    TokenVerifySerializer,
)
from restflow.authentication.sessions import (
    end_sessions,
    live_sessions,
    require_tracking,
    revoke_user_sessions,
    start_session,
    touch_session,
)
from restflow.authentication.tokens import AccessToken, RefreshToken
from restflow.authentication.users import get_token_user, get_user_authentication_rule

__all__ = [
    "SessionDetailView",
    "SessionListView",
    "SessionLogoutAllView",
    "TokenBlacklistView",
    "TokenObtainView",
    "TokenRefreshView",
    "TokenVerifyView",
]


def _blacklisted() -> TokenError:
    return TokenError("Token has been blacklisted.", code="token_blacklisted")


class _TokenView(APIView):
    """POST-only, unauthenticated, answers 401 with a ``WWW-Authenticate`` challenge."""

    authentication_classes = ()
    permission_classes = ()
    http_method_names = ["post", "options"]
    serializer_class: type[BaseSerializer[Any]]

    def get_serializer(self, *args: Any, **kwargs: Any) -> BaseSerializer[Any]:
        kwargs.setdefault("context", {"request": self.request, "view": self})
        return self.serializer_class(*args, **kwargs)

    def get_authenticate_header(self, request: Request) -> str:
        return f'{get_config().challenge_scheme} realm="api"'

    @staticmethod
    def _body(request: Request) -> Any:
        try:
            return request.data
        except RecursionError:  # DRF's JSONParser catches ValueError only
            raise ParseError("JSON parse error - the request body is nested too deeply.") from None

    def _validated(self, request: Request) -> dict[str, Any]:
        serializer = self.get_serializer(data=self._body(request))
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    #: The cookie transport (see restflow.authentication.cookies): ``None`` follows
    #: ``COOKIE['ENABLED']``; ``as_view(cookie=True)`` mounts browser endpoints beside
    #: body-token ones.
    cookie: bool | None = None
    _cookie_used = False

    def _cookie_mode(self) -> bool:
        return get_config().cookie.enabled if self.cookie is None else self.cookie

    def _refresh_input(self, request: Request) -> str:
        """The refresh token of the body or, in cookie mode, of the cookie (CSRF-checked)."""
        policy = get_config().cookie
        if self._cookie_mode():
            body = self._body(request) if policy.refresh_from_body else None
            in_body = isinstance(body, Mapping) and "refresh" in body
            raw = None if in_body else policy.read_refresh(request)
            if raw is not None:
                enforce_csrf(request)
                self._cookie_used = True
                return raw
            if not policy.refresh_from_body:
                raise AuthenticationFailed("The refresh cookie is missing.", code="no_refresh_cookie")
        return str(self._validated(request)["refresh"])

    def _tokens_response(
        self, access: AccessToken, refresh: RefreshToken | None, *, cookie: bool
    ) -> Response:
        """``{"access", "refresh"}``; in cookie mode the refresh token (and with
        ``ACCESS_TOKEN`` the access token) goes into its cookie instead of the body."""
        policy = get_config().cookie
        body = {} if cookie and policy.access_enabled else {"access": str(access)}
        if refresh is not None and not cookie:
            body["refresh"] = str(refresh)
        response = Response(body)
        if cookie:
            policy.set_tokens(response, refresh=refresh, access=access)
        return response

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        if self._cookie_used and response.status_code == status.HTTP_401_UNAUTHORIZED:
            get_config().cookie.clear(response)  # a dead cookie the page cannot remove itself
        return response


class TokenObtainView(_TokenView):
    """``{"username", "password"}`` -> ``{"access", "refresh"}``."""

    serializer_class = TokenObtainSerializer

    def post(self, request: Request) -> Response:
        data = self._validated(request)
        user = authenticate(request=request, username=data["username"], password=data["password"])
        if not get_user_authentication_rule()(user):
            raise AuthenticationFailed(
                "No active account found with the given credentials.", code="no_active_account"
            )
        refresh = RefreshToken.for_user(user)
        start_session(user, refresh, request)
        cookie = self._cookie_mode()
        if cookie:
            rotate_token(request)  # a new CSRF secret per login, as django.contrib.auth.login
        return self._tokens_response(refresh.access_token, refresh, cookie=cookie)


class TokenRefreshView(_TokenView):
    """``{"refresh"}`` -> ``{"access"}`` (+ ``"refresh"`` under rotation).

    The user is looked up again and the token's family (session) must not be revoked.
    Under rotation with the blacklist on, the submitted token is redeemed by one atomic
    check-and-blacklist, so it works exactly once; presenting it again revokes its whole
    family, except for a retry inside ``ROTATION_GRACE_PERIOD``, which gets the same pair.
    """

    serializer_class = TokenRefreshSerializer

    def post(self, request: Request) -> Response:
        raw = self._refresh_input(request)
        config = get_config()
        with translate_token_errors():
            refresh = RefreshToken.verify(raw)
            rotate = config.rotate_refresh_tokens
            if not (config.blacklist_enabled and rotate):
                if config.blacklist_enabled and TokenBlacklist.is_token_revoked(refresh.payload):
                    raise _blacklisted()
                get_token_user(refresh.payload)
                child = refresh.rotate() if rotate else None
                if not rotate:
                    touch_session(refresh)
                return self._tokens_response(refresh.access_token, child, cookie=self._cookie_used)
            access, child = rotate_refresh_token(refresh)
        return self._tokens_response(access, child, cookie=self._cookie_used)


class TokenBlacklistView(_TokenView):
    """``{"refresh"}`` -> 204: the refresh token can no longer be used (logout).

    Its family (session) is revoked too: the access tokens it bought stop working.
    """

    serializer_class = TokenBlacklistSerializer

    def post(self, request: Request) -> Response:
        raw = self._refresh_input(request)
        with translate_token_errors():
            refresh = RefreshToken.verify(raw)
            refresh.blacklist()
            if refresh.sid:
                user_id = refresh.payload.get(get_config().user_id_claim)
                end_sessions([refresh.sid], reason="logout", user_id=user_id)
        response = Response(status=status.HTTP_204_NO_CONTENT)
        if self._cookie_used:
            get_config().cookie.clear(response)
        return response


class TokenVerifyView(_TokenView):
    """``{"token"}`` -> 200 ``{}`` when the token would still be accepted.

    Signature, expiry, type, iss, aud and blacklist, then the user checks of
    authentication: the user exists, is active (``CHECK_USER_IS_ACTIVE``), matches the
    revoke claim (``CHECK_REVOKE_TOKEN``) and passes ``USER_AUTHENTICATION_RULE``.
    """

    serializer_class = TokenVerifySerializer

    def post(self, request: Request) -> Response:
        data = self._validated(request)
        with translate_token_errors():
            payload = decode_token(data["token"])
            if get_config().blacklist_enabled and TokenBlacklist.is_token_revoked(payload):
                raise _blacklisted()
            get_token_user(payload)
        return Response({})


class _SessionView(APIView):
    """The signed-in user's own sessions (``TRACK_SESSIONS``); JWT-authenticated."""

    authentication_classes = (JWTCookieAuthentication,)
    permission_classes = (IsAuthenticated,)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        require_tracking()
        super().initial(request, *args, **kwargs)

    def current_sid(self) -> str:
        token = self.request.auth
        return token.sid if isinstance(token, AccessToken) else ""


class SessionListView(_SessionView):
    """``GET sessions/``: the live sessions, most recently used first, ``current`` marked."""

    def get(self, request: Request) -> Response:
        sessions = live_sessions(request.user).order_by("-last_used_at", "-id")
        context = {"request": request, "current_sid": self.current_sid()}
        return Response(SessionSerializer(sessions, many=True, context=context).data)


class SessionDetailView(_SessionView):
    """``DELETE sessions/<id>/``: end one session (204; 404 when it is not a live one of yours)."""

    def delete(self, request: Request, sid: str) -> Response:
        if not live_sessions(request.user).filter(sid=sid).exists():
            raise NotFound("No such session.")
        with translate_token_errors():
            end_sessions([sid], reason="logout", user_id=request.user.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SessionLogoutAllView(_SessionView):
    """``POST sessions/logout-all/`` ``{"keep_current": false}``: end every session (but the
    current one with ``keep_current``); answers ``{"ended": n}``."""

    def post(self, request: Request) -> Response:
        serializer = LogoutAllSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        keep = self.current_sid() if serializer.validated_data["keep_current"] else None
        with translate_token_errors():
            ended = revoke_user_sessions(request.user, reason="logout", keep=keep)
        response = Response({"ended": ended})
        policy = get_config().cookie
        if keep is None and policy.enabled:
            policy.clear(response)  # this browser's session ended too
        return response
