"""Settings-derived objects, built lazily once and dropped on ``setting_changed``.

The hot path (one request) reads everything it needs from :func:`get_config`, so keys
are parsed once, import strings resolved once, and ``override_settings`` still works.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from restflow.authentication.constants import (
    ACCESS_TOKEN_TYPE,
    REFRESH_TOKEN_TYPE,
    RFC9068_PROFILE,
)
from restflow.authentication.exceptions import JWTConfigurationError
from restflow.settings import RestflowSettings, restflow_settings

if TYPE_CHECKING:
    from restflow.authentication.blacklist_backends import BlacklistBackend
    from restflow.authentication.cookies import CookiePolicy
    from restflow.authentication.keyring import KeyRing, RingKey
    from restflow.authentication.remote_jwks import RemoteKeySet

__all__ = ["JWTConfig", "get_config", "get_jwt_settings", "get_verifying_key", "reset_config"]


def get_jwt_settings() -> RestflowSettings:
    """The ``JWT`` section of ``RESTFLOW_SETTINGS`` merged with the defaults."""
    return restflow_settings.JWT


def get_verifying_key() -> str | bytes | None:
    """The configured key that verifies tokens: ``VERIFYING_KEY``, else ``SIGNING_KEY``."""
    jwt_settings = get_jwt_settings()
    key = jwt_settings.VERIFYING_KEY
    return key if key is not None else jwt_settings.SIGNING_KEY


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class JWTConfig:
    """A snapshot of the JWT settings plus the objects derived from them."""

    def __init__(self, jwt_settings: RestflowSettings) -> None:
        s = jwt_settings
        self.algorithm: str = s.ALGORITHM
        self.signing_key_setting: str | bytes | None = s.SIGNING_KEY
        self.verifying_key_setting: str | bytes | None = s.VERIFYING_KEY
        self.issuer: str | None = s.ISSUER
        self.audience: str | list[str] | None = s.AUDIENCE
        self.leeway: float | timedelta = s.LEEWAY
        self.leeway_seconds = _seconds(s.LEEWAY)
        self.access_lifetime: timedelta = s.ACCESS_TOKEN_LIFETIME
        self.refresh_lifetime: timedelta = s.REFRESH_TOKEN_LIFETIME
        self.user_id_claim: str = s.USER_ID_CLAIM
        self.user_id_field: str = s.USER_ID_FIELD
        self.user_id_field_allowlist: tuple[str, ...] = tuple(s.USER_ID_FIELD_ALLOWLIST)
        types = s.AUTH_HEADER_TYPES
        self.header_types: tuple[str, ...] = (types,) if isinstance(types, str) else tuple(types)
        self.header_types_lower = frozenset(t.lower() for t in self.header_types)
        self.blacklist_enabled: bool = bool(s.BLACKLIST_ENABLED)
        self.blacklist_cache_alias: str = s.BLACKLIST_CACHE_ALIAS
        self.blacklist_allow_locmem: bool = bool(s.BLACKLIST_ALLOW_LOCMEM)
        self.rotate_refresh_tokens: bool = bool(s.ROTATE_REFRESH_TOKENS)
        self.rotation_grace_seconds = _seconds(s.ROTATION_GRACE_PERIOD)
        self.track_sessions: bool = bool(s.TRACK_SESSIONS)
        self.session_limit: int | None = s.SESSION_LIMIT
        self.session_record_client: bool = bool(s.SESSION_RECORD_CLIENT)
        self.check_user_is_active: bool = bool(s.CHECK_USER_IS_ACTIVE)
        self.check_revoke_token: bool = bool(s.CHECK_REVOKE_TOKEN)
        self.revoke_token_claim: str = s.REVOKE_TOKEN_CLAIM
        self.user_lookups: dict[Any, Any] = {}  # userquery.compiled_user_lookup's
        self._rule_setting: Any = s.USER_AUTHENTICATION_RULE
        self._backend_setting: Any = s.BLACKLIST_BACKEND
        self.jwks_url: str | None = s.JWKS_URL
        self.jwks_max_age = _seconds(s.JWKS_MAX_AGE)
        self.rfc9068: bool = s.ACCESS_TOKEN_PROFILE == RFC9068_PROFILE
        self.client_id: str | None = s.CLIENT_ID
        self._settings = s

    @property
    def challenge_scheme(self) -> str:
        return self.header_types[0] if self.header_types else "Bearer"

    @cached_property
    def key_ring(self) -> KeyRing:
        """The keys of ``SIGNING_KEYS`` (or the ring of one of ``SIGNING_KEY``)."""
        import time

        from restflow.authentication.keyring import build_key_ring

        if self.jwks_url is not None:
            raise JWTConfigurationError(
                "RESTFLOW_SETTINGS['JWT']['JWKS_URL'] is set: this service only verifies "
                "tokens and cannot sign them (remove JWKS_URL on the service that issues)."
            )
        return build_key_ring(self._settings, time.time())

    @cached_property
    def remote_keys(self) -> RemoteKeySet | None:
        """The ``JWKS_URL`` key set of a verify-only service (``None`` otherwise)."""
        if self.jwks_url is None:
            return None
        from restflow.authentication.remote_jwks import RemoteKeySet

        s = self._settings
        return RemoteKeySet(
            self.jwks_url,
            cache_lifetime=_seconds(s.JWKS_CACHE_LIFETIME),
            min_refresh_interval=_seconds(s.JWKS_MIN_REFRESH_INTERVAL),
            timeout=_seconds(s.JWKS_TIMEOUT),
        )

    @cached_property
    def find_key(self) -> Callable[[Any], RingKey | None]:
        """``kid -> RingKey or None``: a dict lookup, or the JWKS_URL key set."""
        remote = self.remote_keys
        return self.key_ring.verifying.get if remote is None else remote.find

    @cached_property
    def decode_options(self) -> dict[str, dict[str, Any]]:
        """PyJWT options per token type (RFC 9068 access tokens require more claims)."""
        base = ["exp", "iat", "jti"]
        access = [*base, "iss", "aud", "sub", "client_id"] if self.rfc9068 else base
        return {
            ACCESS_TOKEN_TYPE: {"require": access, "verify_signature": True},
            REFRESH_TOKEN_TYPE: {"require": base, "verify_signature": True},
        }

    @cached_property
    def cookie(self) -> CookiePolicy:
        """The ``COOKIE`` block (browser apps): names, attributes, refresh path."""
        from restflow.authentication.cookies import CookiePolicy

        return CookiePolicy(self._settings.COOKIE)

    @cached_property
    def user_model(self) -> Any:
        from django.contrib.auth import get_user_model

        return get_user_model()

    @cached_property
    def user_id_model_field(self) -> Any:
        """The model field behind ``USER_ID_FIELD`` (``pk`` maps to the primary key)."""
        meta = self.user_model._meta
        if self.user_id_field == "pk":
            return meta.pk
        return meta.get_field(self.user_id_field)

    @cached_property
    def user_id_claim_type(self) -> type:
        """The JSON type issuing writes into ``USER_ID_CLAIM`` and the only one accepted.

        ``int`` for integer fields (``AutoField``, ``BigAutoField``, a one-to-one primary
        key onto one), except under ``sub`` (a string by RFC 7519); ``str`` otherwise,
        in the canonical form ``str(value)`` (UUIDs lowercase with hyphens).
        """
        from django.db import models

        field = self.user_id_model_field
        while field.is_relation:
            field = field.target_field
        if isinstance(field, models.IntegerField) and self.user_id_claim != "sub":
            return int
        return str

    @cached_property
    def user_authentication_rule(self) -> Callable[[Any], bool]:
        spec = self._rule_setting
        if not isinstance(spec, str):
            return spec
        try:
            return import_string(spec)
        except ImportError as exc:
            raise JWTConfigurationError(
                f"RESTFLOW_SETTINGS['JWT']['USER_AUTHENTICATION_RULE'] = {spec!r} "
                f"cannot be imported: {exc}"
            ) from exc

    @cached_property
    def blacklist_backend(self) -> BlacklistBackend:
        from restflow.authentication.blacklist_backends import resolve_token_blacklist_backend

        return resolve_token_blacklist_backend(self._backend_setting)


_lock = threading.Lock()
_config: JWTConfig | None = None


def get_config() -> JWTConfig:
    """The current :class:`JWTConfig` (built on first use after a settings change)."""
    config = _config
    if config is None:
        config = _build()
    return config


def _build() -> JWTConfig:
    global _config
    with _lock:
        if _config is None:
            _config = JWTConfig(get_jwt_settings())
        return _config


def reset_config(**kwargs: Any) -> None:
    """Forget the derived objects (connected to ``setting_changed``)."""
    global _config
    with _lock:
        _config = None


# Any setting may matter (RESTFLOW_SETTINGS, CACHES, AUTH_USER_MODEL, SECRET_KEY), and
# setting_changed only fires in tests, so reset on every change.
setting_changed.connect(reset_config, dispatch_uid="restflow.authentication.config.reset")
