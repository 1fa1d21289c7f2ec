"""restflow's JWT authentication for Django REST Framework.

Every name loads lazily (on first attribute access): Django imports this package at
start-up, and PyJWT, cryptography and DRF's views are only needed once a token is
handled. It also lets ``"restflow.authentication.JWTAuthentication"`` be named in
``DEFAULT_AUTHENTICATION_CLASSES`` without importing ``rest_framework.views`` while DRF
itself is importing it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from restflow.authentication.authentication import JWTCookieAuthentication
    from restflow.authentication.jwt import (
        AccessToken,
        BlacklistBackend,
        CacheBlacklistBackend,
        JWTAuthentication,
        JWTConfigurationError,
        ModelBlacklistBackend,
        RefreshToken,
        TokenBlacklist,
        TokenError,
    )
    from restflow.authentication.revocation import (
        ablacklist,
        ais_blacklisted,
        blacklist,
        is_blacklisted,
    )

__all__ = [
    "AccessToken",
    "BlacklistBackend",
    "CacheBlacklistBackend",
    "JWTAuthentication",
    "JWTConfigurationError",
    "JWTCookieAuthentication",
    "ModelBlacklistBackend",
    "RefreshToken",
    "SessionDetailView",
    "SessionListView",
    "SessionLogoutAllView",
    "TokenBlacklist",
    "TokenBlacklistSerializer",
    "TokenBlacklistView",
    "TokenError",
    "TokenObtainSerializer",
    "TokenObtainView",
    "TokenRefreshSerializer",
    "TokenRefreshView",
    "TokenVerifySerializer",
    "TokenVerifyView",
    "ablacklist",
    "ais_blacklisted",
    "blacklist",
    "is_blacklisted",
    "revoke_user_sessions",
]

_LAZY = {
    "blacklist": "revocation",
    "ablacklist": "revocation",
    "is_blacklisted": "revocation",
    "ais_blacklisted": "revocation",
    "revoke_user_sessions": "sessions",
    "SessionLogoutAllView": "views",
    "SessionListView": "views",
    "SessionDetailView": "views",
    "AccessToken": "jwt",
    "BlacklistBackend": "jwt",
    "CacheBlacklistBackend": "jwt",
    "JWTAuthentication": "jwt",
    "JWTCookieAuthentication": "authentication",
    "JWTConfigurationError": "jwt",
    "ModelBlacklistBackend": "jwt",
    "RefreshToken": "jwt",
    "TokenBlacklist": "jwt",
    "TokenError": "jwt",
    "TokenObtainView": "views",
    "TokenRefreshView": "views",
    "TokenBlacklistView": "views",
    "TokenVerifyView": "views",
    "TokenObtainSerializer": "serializers",
    "TokenRefreshSerializer": "serializers",
    "TokenBlacklistSerializer": "serializers",
    "TokenVerifySerializer": "serializers",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value

