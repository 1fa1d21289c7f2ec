"""The four token endpoints: obtain, refresh, blacklist (logout) and verify."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed, ParseError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from restflow.authentication.blacklist import TokenBlacklist
from restflow.authentication.codec import decode_token
from restflow.authentication.config import get_config
from restflow.authentication.exceptions import TokenError, translate_token_errors
from restflow.authentication.serializers import (
    TokenBlacklistSerializer,
    TokenObtainSerializer,
    TokenRefreshSerializer,
    TokenVerifySerializer,
)
from restflow.authentication.tokens import AccessToken, RefreshToken
from restflow.authentication.users import get_token_user, get_user_authentication_rule

__all__ = ["TokenBlacklistView", "TokenObtainView", "TokenRefreshView", "TokenVerifyView"]


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

    def _validated(self, request: Request) -> dict[str, Any]:
        try:
            body = request.data
        except RecursionError:  # DRF's JSONParser catches ValueError only
            raise ParseError("JSON parse error - the request body is nested too deeply.") from None
        serializer = self.get_serializer(data=body)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


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
        return Response({"access": str(AccessToken.for_user(user)), "refresh": str(refresh)})


class TokenRefreshView(_TokenView):
    """``{"refresh"}`` -> ``{"access"}`` (+ ``"refresh"`` under rotation).

    The user is looked up again; under rotation with the blacklist on, the submitted
    token is redeemed by one atomic check-and-blacklist, so it works exactly once.
    """

    serializer_class = TokenRefreshSerializer

    def post(self, request: Request) -> Response:
        data = self._validated(request)
        config = get_config()
        with translate_token_errors():
            refresh = RefreshToken.verify(data["refresh"])
            rotate = config.rotate_refresh_tokens
            if config.blacklist_enabled and not rotate and TokenBlacklist.is_blacklisted(
                refresh.jti
            ):
                raise _blacklisted()
            get_token_user(refresh.payload)
            if (
                config.blacklist_enabled
                and rotate
                and not TokenBlacklist.consume(refresh.jti, expires_at=refresh.exp)
            ):
                raise _blacklisted()
            body = {"access": str(refresh.access_token)}
            if rotate:
                body["refresh"] = str(refresh.rotate())
        return Response(body)


class TokenBlacklistView(_TokenView):
    """``{"refresh"}`` -> 204: the refresh token can no longer be used (logout)."""

    serializer_class = TokenBlacklistSerializer

    def post(self, request: Request) -> Response:
        data = self._validated(request)
        with translate_token_errors():
            RefreshToken.verify(data["refresh"]).blacklist()
        return Response(status=status.HTTP_204_NO_CONTENT)


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
            jti = payload.get("jti", "")
            if get_config().blacklist_enabled and TokenBlacklist.is_blacklisted(jti):
                raise _blacklisted()
            get_token_user(payload)
        return Response({})
