"""restflow's settings: one Django setting, ``RESTFLOW_SETTINGS``, read lazily.

>>> from restflow.settings import restflow_settings
>>> restflow_settings.JWT.ALGORITHM
'HS256'

Values are merged key by key against :data:`DEFAULTS` at every level, resolved on first
read and stored on the accessor with ``setattr`` (DRF's way: later reads are plain
attribute lookups), and deleted in place when Django sends ``setting_changed`` for
``RESTFLOW_SETTINGS`` (so ``override_settings`` needs no reload call). The blocks of
``CACHE_SETTINGS["DISPATCHER_SETTINGS"]`` take their defaults from the dispatcher
classes (:class:`DispatcherBlocks`).
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
        # Browser apps: the refresh (and optionally the access) token in HttpOnly cookies.
        "COOKIE": {
            "ENABLED": False,
            "REFRESH_NAME": "refresh",
            "ACCESS_NAME": "access",
            "ACCESS_TOKEN": False,
            "SECURE": True,
            "SAMESITE": "Lax",
            "DOMAIN": None,
            "REFRESH_PATH": None,
            "ACCESS_PATH": "/",
            "NAME_PREFIX": True,
            "REFRESH_FROM_BODY": True,
        },
    },
    "CACHE_SETTINGS": {
        "MAX_KEY_SUFFIX_LENGTH": 250,
        "HASH_SUFFIX_ON_OVERFLOW": False,
        "KEY_HASH_ALGORITHM": "sha256",
        "DEFAULT_DISPATCHER": "inline",
        "DISPATCHER_RAISE_EXCEPTION": False,
        "CLUSTER_HASH_TAGS": 0,
        "CLUSTER_WAIT_REPLICAS": 0,
        "CLUSTER_WAIT_TIMEOUT_MS": 100,
        # One block per dispatcher; each block's defaults are the ``default_settings`` of
        # the dispatcher class registered under that name (see DispatcherBlocks).
        "DISPATCHER_SETTINGS": {},
    },
}

#: The path of the section whose blocks are declared by the dispatchers themselves.
DISPATCHER_BLOCKS_PATH = ("CACHE_SETTINGS", "DISPATCHER_SETTINGS")


class RestflowSettings:
    """Attribute access to a dict of defaults overlaid with the user's values.

    As DRF's ``api_settings``: a name is resolved on its first read and stored on the
    instance with ``setattr``, so every later read is a plain attribute lookup;
    :meth:`reload` deletes those attributes in place. A key whose default is a ``dict``
    is served as a nested ``RestflowSettings`` that lives as long as its parent, so a
    section object obtained before :meth:`reload` reports current values after it.
    """

    def __init__(
        self,
        defaults: dict[str, Any],
        user_settings_loader: Callable[[], dict[str, Any]] | None = None,
        *,
        path: tuple[str, ...] = (),
    ) -> None:
        self._defaults = defaults
        self._loader = user_settings_loader or self._read_django_settings
        self._path = path
        self._resolved: set[str] = set()
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
        # Called only when ``name`` is not an instance attribute yet: resolve, then keep.
        if name.startswith("_"):
            raise AttributeError(name)
        value = self._resolve(name)
        setattr(self, name, value)
        self._resolved.add(name)
        return value

    def _unknown(self, name: str) -> AttributeError:
        return AttributeError(
            f"Invalid restflow setting: {name!r} (known: {', '.join(sorted(self._defaults))})"
        )

    def _resolve(self, name: str) -> Any:
        if name not in self._defaults:
            raise self._unknown(name)
        default = self._defaults[name]
        if isinstance(default, dict):
            return self._section(name, default)
        return self.user_settings.get(name, default)

    def _section(self, name: str, defaults: dict[str, Any]) -> RestflowSettings:
        section = self._sections.get(name)
        if section is None:

            def load(parent: RestflowSettings = self, key: str = name) -> dict[str, Any]:
                value = parent.user_settings.get(key)
                return value if isinstance(value, dict) else {}

            path = (*self._path, name)
            kind = DispatcherBlocks if path == DISPATCHER_BLOCKS_PATH else RestflowSettings
            section = kind(defaults, load, path=path)
            self._sections[name] = section
        else:
            section._defaults = defaults  # a plugin registered since may declare new ones
        return section

    def get(self, name: str, default: Any = None) -> Any:
        """The value of ``name``, or the user's value of a key without a default, else
        ``default`` (for options a dispatcher reads without declaring them)."""
        if name in self._defaults:
            return getattr(self, name)
        return self.user_settings.get(name, default)

    def reload(self) -> None:
        """Forget every resolved value, at this level and below (the objects stay)."""
        for name in self._resolved:
            self.__dict__.pop(name, None)
        self._resolved.clear()
        for section in self._sections.values():
            section.reload()

    def _names(self) -> list[str]:
        return list(self._defaults)

    def to_dict(self) -> dict[str, Any]:
        """The resolved settings as plain dicts, plus user keys that have no default."""
        result: dict[str, Any] = {}
        names = self._names()
        for name in names:
            value = getattr(self, name)
            result[name] = value.to_dict() if isinstance(value, RestflowSettings) else value
        for name, value in self.user_settings.items():
            if name not in result:
                result[name] = copy.deepcopy(value)
        return result

    def __repr__(self) -> str:
        return f"<RestflowSettings {sorted(self._names())}>"


class DispatcherBlocks(RestflowSettings):
    """``CACHE_SETTINGS.DISPATCHER_SETTINGS``: one block per dispatcher name.

    A block's defaults are ``{"RAISE_EXCEPTION": None}`` plus the ``default_settings``
    of the dispatcher class registered under that name, so each plugin owns its block
    and core names none of them. A name no installed dispatcher provides is a block of
    the user's keys only.
    """

    def _resolve(self, name: str) -> Any:
        from restflow.dispatch.registry import dispatcher_default_settings

        return self._section(name, dispatcher_default_settings(name))

    def get(self, name: str, default: Any = None) -> Any:
        return getattr(self, name)

    def _names(self) -> list[str]:
        from restflow.dispatch.registry import registered_dispatcher_names

        return registered_dispatcher_names()


restflow_settings = RestflowSettings(defaults=DEFAULTS)


def reload_restflow_settings(*, setting: str, **kwargs: Any) -> None:
    """``setting_changed`` receiver: drop resolved values when RESTFLOW_SETTINGS changes."""
    if setting == SETTING_NAME:
        restflow_settings.reload()


setting_changed.connect(reload_restflow_settings, dispatch_uid="restflow.settings.reload")
