"""restflow's settings: one Django setting, ``RESTFLOW_SETTINGS``, read lazily.

>>> from restflow.settings import restflow_settings
>>> restflow_settings.JWT.ALGORITHM
'HS256'

Values are merged key by key against :data:`DEFAULTS` at every level, cached on first
read, and dropped in place when Django sends ``setting_changed`` for
``RESTFLOW_SETTINGS`` (so ``override_settings`` needs no reload call).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

__all__ = [
    "DEFAULTS",
    "SETTING_NAME",
    "RestflowSettings",
    "reload_restflow_settings",
    "restflow_settings",
]

SETTING_NAME = "RESTFLOW_SETTINGS"

DEFAULTS: dict[str, Any] = {
    "JWT": {
        "SIGNING_KEY": None,
        "VERIFYING_KEY": None,
        "ALGORITHM": "HS256",
        "ACCESS_TOKEN_LIFETIME": timedelta(minutes=5),
        "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
        "ISSUER": None,
        "AUDIENCE": None,
        "USER_ID_CLAIM": "user_id",
        "USER_ID_FIELD": "id",
        "USER_ID_FIELD_ALLOWLIST": ("id", "pk", "uuid", "username", "email"),
        "AUTH_HEADER_TYPES": ("Bearer",),
        "BLACKLIST_ENABLED": True,
        "BLACKLIST_BACKEND": "restflow.authentication.jwt.CacheBlacklistBackend",
        "BLACKLIST_CACHE_ALIAS": "default",
        "BLACKLIST_ALLOW_LOCMEM": False,
        "ROTATE_REFRESH_TOKENS": True,
        "ROTATION_GRACE_PERIOD": 0,
        "TRACK_SESSIONS": False,
        "SESSION_LIMIT": None,
        "SESSION_RECORD_CLIENT": False,
        "LEEWAY": 0,
        "CHECK_USER_IS_ACTIVE": True,
        "CHECK_REVOKE_TOKEN": False,
        "REVOKE_TOKEN_CLAIM": "hash_password",
        "USER_AUTHENTICATION_RULE": (
            "restflow.authentication.jwt.default_user_authentication_rule"
        ),
        "SIGNING_KEYS": (),
        "JWKS_MAX_AGE": timedelta(minutes=10),
        "JWKS_URL": None,
        "JWKS_CACHE_LIFETIME": timedelta(minutes=10),
        "JWKS_MIN_REFRESH_INTERVAL": timedelta(seconds=30),
        "JWKS_TIMEOUT": timedelta(seconds=5),
        "ACCESS_TOKEN_PROFILE": "restflow",
        "CLIENT_ID": None,
    },
    "CACHE_SETTINGS": {
        "MAX_KEY_SUFFIX_LENGTH": 250,
        "HASH_SUFFIX_ON_OVERFLOW": False,
        "KEY_HASH_ALGORITHM": "sha256",
        "DEFAULT_DISPATCHER": "inline",
        "DISPATCHER_RAISE_EXCEPTION": False,
        "DISPATCHER_SETTINGS": {
            "celery": {
                "TASK_NAME": "restflow.caching.tasks.task_run_cache_rules",
                "QUEUE": None,
                "RAISE_EXCEPTION": None,
            },
            "threadpool": {
                "MAX_WORKERS": 4,
                "RAISE_EXCEPTION": None,
            },
            "django_rq": {
                "QUEUE": "default",
                "FUNCTION_PATH": "restflow.caching.tasks.run_cache_rules",
                "RAISE_EXCEPTION": None,
            },
            "dramatiq": {
                "QUEUE": "default",
                "ACTOR_NAME": "restflow.task_run_cache_rules",
                "RAISE_EXCEPTION": None,
            },
            "django_q": {
                "CLUSTER": None,
                "GROUP": None,
                "FUNCTION_PATH": "restflow.caching.tasks.run_cache_rules",
                "RAISE_EXCEPTION": None,
            },
            "asyncio": {
                "RAISE_EXCEPTION": None,
            },
            "inline": {
                "RAISE_EXCEPTION": None,
            },
        },
    },
}

_UNSET = object()


class RestflowSettings:
    """Attribute access to a dict of defaults overlaid with the user's values.

    A key whose default is a ``dict`` is served as a nested ``RestflowSettings``; nested
    sections resolve their user values through their parent on every cache miss, so a
    section object obtained before :meth:`reload` reports current values after it.
    """

    def __init__(
        self,
        defaults: dict[str, Any],
        user_settings_loader: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self._defaults = defaults
        self._loader = user_settings_loader or self._read_django_settings
        self._cache: dict[str, Any] = {}
        self._sections: dict[str, RestflowSettings] = {}

    @staticmethod
    def _read_django_settings() -> dict[str, Any]:
        from django.conf import settings

        try:
            value = getattr(settings, SETTING_NAME, None)
        except ImproperlyConfigured:
            return {}
        return value if isinstance(value, dict) and value else {}

    @property
    def user_settings(self) -> dict[str, Any]:
        value = self._loader()
        return value if isinstance(value, dict) and value else {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._defaults:
            raise AttributeError(
                f"Invalid restflow setting: {name!r} "
                f"(known: {', '.join(sorted(self._defaults))})"
            )
        cached = self._cache.get(name, _UNSET)
        if cached is not _UNSET:
            return cached
        default = self._defaults[name]
        if isinstance(default, dict):
            value: Any = self._section(name)
        else:
            user = self.user_settings
            value = user.get(name, default)
        self._cache[name] = value
        return value

    def _section(self, name: str) -> RestflowSettings:
        section = self._sections.get(name)
        if section is None:

            def load(parent: RestflowSettings = self, key: str = name) -> dict[str, Any]:
                value = parent.user_settings.get(key)
                return value if isinstance(value, dict) else {}

            section = RestflowSettings(self._defaults[name], load)
            self._sections[name] = section
        return section

    def reload(self) -> None:
        """Forget every cached value, at this level and below."""
        self._cache.clear()
        for section in self._sections.values():
            section.reload()

    def to_dict(self) -> dict[str, Any]:
        """The resolved settings as plain dicts, plus user keys that have no default."""
        result: dict[str, Any] = {}
        for name in self._defaults:
            value = getattr(self, name)
            result[name] = value.to_dict() if isinstance(value, RestflowSettings) else value
        for name, value in self.user_settings.items():
            if name not in self._defaults:
                result[name] = copy.deepcopy(value)
        return result

    def __repr__(self) -> str:
        return f"<RestflowSettings {sorted(self._defaults)}>"


restflow_settings = RestflowSettings(defaults=DEFAULTS)


def reload_restflow_settings(*, setting: str, **kwargs: Any) -> None:
    """``setting_changed`` receiver: drop cached values when RESTFLOW_SETTINGS changes."""
    if setting == SETTING_NAME:
        restflow_settings.reload()


setting_changed.connect(reload_restflow_settings, dispatch_uid="restflow.settings.reload")

# Registering the system checks is cheap (no I/O) and makes them run whenever a restflow
# distribution is used in a Django project.
import restflow.checks  # noqa: E402, F401
