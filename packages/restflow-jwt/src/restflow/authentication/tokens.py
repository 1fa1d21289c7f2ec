"""Access and refresh tokens, and the claims they carry."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Self

from django.utils.crypto import salted_hmac

from restflow.authentication.codec import decode_typed, encode_token
from restflow.authentication.config import JWTConfig, get_config
from restflow.authentication.constants import ACCESS_TOKEN_TYPE, REFRESH_TOKEN_TYPE
from restflow.authentication.exceptions import JWTConfigurationError
from restflow.authentication.session_ids import SESSION_ID_CLAIM, new_session_id

__all__ = [
    "SESSION_ID_CLAIM",
    "AccessToken",
    "RefreshToken",
    "build_jwt_payload",
    "get_now_time",
    "get_password_hash",
    "validate_user_id_field",
]

_REVOKE_SALT = "restflow.authentication.revoke-token"
_CHILD_SALT = "restflow.authentication.rotation-child"

def _child_value(parent_jti: str, label: str) -> str:
    """A value derived from a rotated token's id: the same for every retry, unguessable."""
    return salted_hmac(_CHILD_SALT, f"{label}:{parent_jti}", algorithm="sha256").hexdigest()[:32]


def get_now_time() -> datetime:
    """Now, in UTC (independent of ``TIME_ZONE``)."""
    return datetime.now(tz=UTC)


def get_password_hash(password: str) -> str:
    """The revoke claim for a stored password hash: an HMAC keyed by ``SECRET_KEY``.

    It changes whenever the password changes and reveals nothing about the hash.
    """
    return salted_hmac(_REVOKE_SALT, password or "", algorithm="sha256").hexdigest()


def validate_user_id_field(user_id_field: str, allowlist: Any) -> None:
    if user_id_field not in tuple(allowlist):
        raise JWTConfigurationError(
            f"RESTFLOW_SETTINGS['JWT']['USER_ID_FIELD'] = {user_id_field!r} is not in "
            f"USER_ID_FIELD_ALLOWLIST {tuple(allowlist)!r}; pick a unique, non-secret "
            "field or extend the allow-list deliberately."
        )


def _base_claims(
    config: JWTConfig,
    token_type: str,
    lifetime: timedelta,
    *,
    now: datetime | None = None,
    jti: str | None = None,
) -> dict[str, Any]:
    now = now or get_now_time()
    claims: dict[str, Any] = {
        "token_type": token_type,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "jti": jti or secrets.token_urlsafe(16),
    }
    if config.issuer is not None:
        claims["iss"] = config.issuer
    if config.audience is not None:
        claims["aud"] = config.audience
    return claims


def build_jwt_payload(user: Any, *, token_type: str, lifetime: timedelta) -> dict[str, Any]:
    """The claims of a new token for ``user`` (no signing)."""
    config = get_config()
    validate_user_id_field(config.user_id_field, config.user_id_field_allowlist)
    payload = _base_claims(config, token_type, lifetime)
    user_id = getattr(user, config.user_id_field)
    if config.user_id_claim_type is str:
        user_id = str(user_id)  # RFC 7519 makes "sub" a string; UUIDs are not JSON
    payload[config.user_id_claim] = user_id
    if config.check_revoke_token:
        payload[config.revoke_token_claim] = get_password_hash(user.password)
    _add_profile_claims(config, payload)
    return payload


def _add_profile_claims(config: JWTConfig, payload: dict[str, Any]) -> None:
    """RFC 9068 access tokens also carry ``sub`` (the user id, a string) and ``client_id``."""
    if config.rfc9068 and payload["token_type"] == ACCESS_TOKEN_TYPE:
        payload["client_id"] = config.client_id
        if config.user_id_claim in payload:
            payload["sub"] = str(payload[config.user_id_claim])


@dataclass(frozen=True)
class _Token:
    payload: dict[str, Any] = field(default_factory=dict)
    raw: str = ""
    token_type: str = ""

    type_name: ClassVar[str] = ""

    def __str__(self) -> str:
        return self.raw

    @property
    def jti(self) -> str:
        value = self.payload.get("jti", "")
        return value if isinstance(value, str) else ""

    @property
    def exp(self) -> int:
        return int(self.payload.get("exp", 0))

    @property
    def sid(self) -> str:
        """The token's family (session) id; ``""`` for tokens issued without one."""
        value = self.payload.get(SESSION_ID_CLAIM, "")
        return value if isinstance(value, str) else ""

    def blacklist(self) -> None:
        """Revoke this token until it expires (plus ``LEEWAY``)."""
        from restflow.authentication.blacklist_backends import TokenBlacklist

        TokenBlacklist.blacklist(self.jti, expires_at=self.exp)

    async def ablacklist(self) -> None:
        from restflow.authentication.blacklist_backends import TokenBlacklist

        await TokenBlacklist.ablacklist(self.jti, expires_at=self.exp)

    @classmethod
    def _lifetime(cls, config: JWTConfig) -> timedelta:
        raise NotImplementedError

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Self:
        """Sign ``payload`` (as given) into a token of this class."""
        return cls(payload=payload, raw=encode_token(payload), token_type=cls.type_name)

    @classmethod
    def for_user(cls, user: Any) -> Self:
        """A new token for ``user``."""
        lifetime = cls._lifetime(get_config())
        return cls.from_payload(build_jwt_payload(user, token_type=cls.type_name, lifetime=lifetime))

    @classmethod
    def verify(cls, raw: str) -> Self:
        """Decode and check ``raw``; :class:`TokenError` unless it is a valid token of this type."""
        payload = decode_typed(raw, (cls.type_name,))
        return cls(payload=payload, raw=raw, token_type=cls.type_name)


class AccessToken(_Token):
    """A short-lived token that authenticates requests."""

    type_name = ACCESS_TOKEN_TYPE

    @classmethod
    def _lifetime(cls, config: JWTConfig) -> timedelta:
        return config.access_lifetime


class RefreshToken(_Token):
    """A long-lived token that buys new access tokens at the refresh view."""

    type_name = REFRESH_TOKEN_TYPE

    @classmethod
    def _lifetime(cls, config: JWTConfig) -> timedelta:
        return config.refresh_lifetime

    @classmethod
    def for_user(cls, user: Any) -> Self:
        """A new refresh token for ``user``, starting a new family (session)."""
        payload = build_jwt_payload(
            user, token_type=cls.type_name, lifetime=cls._lifetime(get_config())
        )
        payload[SESSION_ID_CLAIM] = new_session_id()
        return cls.from_payload(payload)

    @property
    def child_sid(self) -> str:
        """The family of the tokens this one buys: its own, or (for a token issued before
        families existed) one derived from its ``jti``, so its children form a family."""
        return self.sid or _child_value(self.jti, SESSION_ID_CLAIM)[:22]

    def _derive(
        self, token_class: type[_Token], *, at: int | None = None
    ) -> dict[str, Any]:
        config = get_config()
        lifetime = token_class._lifetime(config)
        if at is None:
            payload = _base_claims(config, token_class.type_name, lifetime)
        else:
            now = datetime.fromtimestamp(at, tz=UTC)
            jti = _child_value(self.jti, token_class.type_name)
            payload = _base_claims(config, token_class.type_name, lifetime, now=now, jti=jti)
        payload[SESSION_ID_CLAIM] = self.child_sid
        if config.user_id_claim in self.payload:
            payload[config.user_id_claim] = self.payload[config.user_id_claim]
        claim = config.revoke_token_claim
        if config.check_revoke_token and claim in self.payload:
            payload[claim] = self.payload[claim]
        _add_profile_claims(config, payload)
        return payload

    @property
    def access_token(self) -> AccessToken:
        """A new access token for the same user (fresh ``iat``/``exp``/``jti``)."""
        return AccessToken.from_payload(self._derive(AccessToken))

    def rotate(self) -> RefreshToken:
        """A new refresh token for the same user and family, with a full lifetime."""
        return RefreshToken.from_payload(self._derive(RefreshToken))

    def children(self, at: int) -> tuple[AccessToken, RefreshToken]:
        """The access and refresh token that replace this one when it is rotated at ``at``.

        Their ids and times derive from this token's ``jti`` and ``at`` alone, so every
        retry of one rotation gets the same pair (same claims; the same bytes with a
        deterministic signature algorithm: HMAC, RSA PKCS#1 v1.5, EdDSA).
        """
        access = AccessToken.from_payload(self._derive(AccessToken, at=at))
        return access, RefreshToken.from_payload(self._derive(RefreshToken, at=at))
