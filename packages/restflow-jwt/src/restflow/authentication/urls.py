"""``path("auth/", include("restflow.authentication.urls"))``: the token views, the JWKS
(``.well-known/jwks.json``) and the sessions API (``sessions/``, ``sessions/<id>/``,
``sessions/logout-all/``)."""

from __future__ import annotations

from django.urls import path

from restflow.authentication.jwks import jwks_view
from restflow.authentication.views import (
    SessionDetailView,
    SessionListView,
    SessionLogoutAllView,
    TokenBlacklistView,
    TokenObtainView,
    TokenRefreshView,
    TokenVerifyView,
)

app_name = "restflow_authentication"

urlpatterns = [
    path("token/", TokenObtainView.as_view(), name="token_obtain"),
    path("token/refresh/", TokenRefreshView.as_view(), name="token_refresh"),
    path("token/blacklist/", TokenBlacklistView.as_view(), name="token_blacklist"),
    path("token/verify/", TokenVerifyView.as_view(), name="token_verify"),
    path(".well-known/jwks.json", jwks_view, name="jwks"),
    path("sessions/", SessionListView.as_view(), name="session_list"),
    path("sessions/logout-all/", SessionLogoutAllView.as_view(), name="session_logout_all"),
    path("sessions/<str:sid>/", SessionDetailView.as_view(), name="session_detail"),
]
