"""``path("auth/", include("restflow.authentication.urls"))`` mounts the four token views and the JWKS."""

from __future__ import annotations

from django.urls import path

from restflow.authentication.jwks import jwks_view
from restflow.authentication.views import (
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
]
