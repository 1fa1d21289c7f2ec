"""One import path for the JWT API (the settings defaults name objects in this module).

The implementation lives in modules named after one concept each: ``tokens``,
``codec``, ``keys``, ``blacklist``, ``users``, ``authentication``, ``exceptions``.
"""

from __future__ import annotations

from restflow.authentication.authentication import JWTAuthentication
from restflow.authentication.blacklist_backends import (
    BlacklistBackend,
    CacheBlacklistBackend,
    ModelBlacklistBackend,
    TokenBlacklist,
    get_blacklisted_token_model,
    get_token_blacklist_backend,
    resolve_token_blacklist_backend,
)
from restflow.authentication.codec import decode_token, encode_token
from restflow.authentication.config import get_jwt_settings, get_verifying_key
from restflow.authentication.constants import (
    ACCESS_TOKEN_JOSE_TYPE,
    ACCESS_TOKEN_TYPE,
    ALLOWED_ALGORITHMS,
    ASYMMETRIC_ALGORITHMS,
    BLACKLIST_CACHE_PREFIX,
    EVICTING_CACHE_BACKENDS,
    HMAC_ALGORITHMS,
    LOCAL_CACHE_BACKEND_PATHS,
    MAX_TOKEN_LENGTH,
    REFRESH_TOKEN_JOSE_TYPE,
    REFRESH_TOKEN_TYPE,
)
from restflow.authentication.exceptions import (
    BlacklistUnavailableError,
    JWTConfigurationError,
    TokenError,
)
from restflow.authentication.keys import validate_algorithm, validate_signing_key_shape
from restflow.authentication.tokens import (
    AccessToken,
    RefreshToken,
    build_jwt_payload,
    get_now_time,
    get_password_hash,
    validate_user_id_field,
)
from restflow.authentication.users import (
    default_user_authentication_rule,
    get_user_authentication_rule,
)

__all__ = [
    "ACCESS_TOKEN_JOSE_TYPE",
    "ACCESS_TOKEN_TYPE",
    "ALLOWED_ALGORITHMS",
    "ASYMMETRIC_ALGORITHMS",
    "BLACKLIST_CACHE_PREFIX",
    "EVICTING_CACHE_BACKENDS",
    "HMAC_ALGORITHMS",
    "LOCAL_CACHE_BACKEND_PATHS",
    "MAX_TOKEN_LENGTH",
    "REFRESH_TOKEN_JOSE_TYPE",
    "REFRESH_TOKEN_TYPE",
    "AccessToken",
    "BlacklistBackend",
    "BlacklistUnavailableError",
    "CacheBlacklistBackend",
    "JWTAuthentication",
    "JWTConfigurationError",
    "ModelBlacklistBackend",
    "RefreshToken",
    "TokenBlacklist",
    "TokenError",
    "build_jwt_payload",
    "decode_token",
    "default_user_authentication_rule",
    "encode_token",
    "get_blacklisted_token_model",
    "get_jwt_settings",
    "get_now_time",
    "get_password_hash",
    "get_token_blacklist_backend",
    "get_user_authentication_rule",
    "get_verifying_key",
    "resolve_token_blacklist_backend",
    "validate_algorithm",
    "validate_signing_key_shape",
    "validate_user_id_field",
]

