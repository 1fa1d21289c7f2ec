"""A protected endpoint that reports who the request authenticated as."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from restflow.authentication import JWTAuthentication, JWTCookieAuthentication


class WhoAmIView(APIView):
    authentication_classes = (JWTAuthentication,)
    permission_classes = (IsAuthenticated,)

    def get(self, request: Request) -> Response:
        return Response({"username": request.user.get_username(), "jti": request.auth.jti})


class MaybeAnonymousView(APIView):
    authentication_classes = (JWTAuthentication,)
    permission_classes = ()

    def get(self, request: Request) -> Response:
        user: Any = request.user
        return Response({"authenticated": bool(user and user.is_authenticated)})


class CookieWhoAmIView(APIView):
    """``WhoAmIView`` behind ``JWTCookieAuthentication``; POST is an unsafe method (CSRF)."""

    authentication_classes = (JWTCookieAuthentication,)
    permission_classes = (IsAuthenticated,)

    def get(self, request: Request) -> Response:
        return Response({"username": request.user.get_username(), "jti": request.auth.jti})

    def post(self, request: Request) -> Response:
        return Response({"username": request.user.get_username(), "changed": True})
