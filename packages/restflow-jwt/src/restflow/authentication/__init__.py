"""restflow's JWT authentication for Django REST Framework.

Views and serializers load lazily (on first attribute access) so that naming
``"restflow.authentication.JWTAuthentication"`` in ``DEFAULT_AUTHENTICATION_CLASSES``
does not import ``rest_framework.views`` while DRF itself is importing it.
"""

from __future__ import annotations

import importlib
from typing import Any

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

__all__ = [
    "AccessToken",
    "BlacklistBackend",
    "CacheBlacklistBackend",
    "JWTAuthentication",
    "JWTConfigurationError",
    "ModelBlacklistBackend",
    "RefreshToken",
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
]

_LAZY = {
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
