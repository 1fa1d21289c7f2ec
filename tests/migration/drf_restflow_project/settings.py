"""The project's ``RESTFLOW_SETTINGS``, unchanged from its drf-restflow days."""

from __future__ import annotations

from datetime import timedelta

RESTFLOW_SETTINGS = {
    "JWT": {
        "SIGNING_KEY": "migrated-project-signing-key-" + "s" * 40,
        "ALGORITHM": "HS256",
        "ACCESS_TOKEN_LIFETIME": timedelta(minutes=10),
        "REFRESH_TOKEN_LIFETIME": timedelta(days=2),
        "USER_ID_CLAIM": "user_id",
        "USER_ID_FIELD": "id",
        "AUTH_HEADER_TYPES": ("Bearer",),
        "BLACKLIST_ENABLED": True,
        "BLACKLIST_BACKEND": "restflow.authentication.jwt.ModelBlacklistBackend",
        "ROTATE_REFRESH_TOKENS": True,
        "LEEWAY": 0,
        "CHECK_USER_IS_ACTIVE": True,
        "CHECK_REVOKE_TOKEN": True,
        "REVOKE_TOKEN_CLAIM": "hash_password",
    },
    "CACHE_SETTINGS": {
        "MAX_KEY_SUFFIX_LENGTH": 250,
        "HASH_SUFFIX_ON_OVERFLOW": True,
        "KEY_HASH_ALGORITHM": "sha256",
        "DEFAULT_DISPATCHER": "outbox",
        "DISPATCHER_RAISE_EXCEPTION": False,
        "DISPATCHER_SETTINGS": {
            "outbox": {"TOPIC": "cache-invalidation"},
            "threadpool": {"MAX_WORKERS": 2},
        },
    },
}
