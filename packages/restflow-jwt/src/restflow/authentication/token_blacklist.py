"""The configured blacklist backend and :class:`TokenBlacklist`, the facade every caller
uses (store failures raise ``BlacklistUnavailableError``)."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from restflow.authentication.blacklist_base import BlacklistBackend
from restflow.authentication.blacklist_cache import CacheBlacklistBackend
from restflow.authentication.blacklist_records import (
    _epoch_ms,
    _token_start_ms,
    family_record_id,
    lookup_ids,
    user_record_id,
)
from restflow.authentication.config import get_config
from restflow.authentication.exceptions import BlacklistUnavailableError, JWTConfigurationError
from restflow.authentication.session_ids import (
    SESSION_ID_CLAIM,
    note_revocation,
)

__all__ = ["TokenBlacklist", "get_token_blacklist_backend", "resolve_token_blacklist_backend"]

logger = logging.getLogger("restflow.authentication")


def resolve_token_blacklist_backend(spec: Any) -> BlacklistBackend:
    """A backend from an instance, a subclass or a dotted path (else the cache backend)."""
    if isinstance(spec, BlacklistBackend):
        return spec
    if isinstance(spec, type) and issubclass(spec, BlacklistBackend):
        return spec()
    if isinstance(spec, str):
        from django.utils.module_loading import import_string

        try:
            backend_class = import_string(spec)
        except ImportError as exc:
            raise JWTConfigurationError(
                f"RESTFLOW_SETTINGS['JWT']['BLACKLIST_BACKEND'] = {spec!r} cannot be "
                f"imported: {exc}"
            ) from exc
        return resolve_token_blacklist_backend(backend_class)
    logger.warning(
        "BLACKLIST_BACKEND %r is not a BlacklistBackend, subclass or dotted path; "
        "using CacheBlacklistBackend",
        spec,
    )
    return CacheBlacklistBackend()


def get_token_blacklist_backend() -> BlacklistBackend:
    """The configured backend (resolved again after any settings change)."""
    return get_config().blacklist_backend


@contextmanager
def _store_errors() -> Iterator[None]:
    """Store failures become ``BlacklistUnavailableError``; configuration errors do not."""
    try:
        yield
    except (ImproperlyConfigured, NotImplementedError):
        raise
    except Exception as exc:
        raise BlacklistUnavailableError(f"token blacklist backend failed: {exc!r}") from exc


class TokenBlacklist:
    """Facade over the configured backend; store failures raise ``BlacklistUnavailableError``."""

    @staticmethod
    def blacklist(jti: str, *, expires_at: int) -> None:
        with _store_errors():
            get_token_blacklist_backend().blacklist(jti, expires_at=expires_at)

    @staticmethod
    def is_blacklisted(jti: str, sid: str = "") -> bool:
        """Whether ``jti`` is revoked, or the family ``sid`` (when given) is."""
        ids = lookup_ids(jti, sid)
        if not ids:
            return False
        with _store_errors():
            backend = get_token_blacklist_backend()
            if len(ids) == 1:
                return backend.is_blacklisted(ids[0])
            return backend.start_lookup_any(ids)()

    @staticmethod
    def start_lookup(jti: str, sid: str = "") -> Callable[[], bool]:
        """Begin ``is_blacklisted(jti, sid)``; call the result (once) for the answer.

        One round trip however many ids are asked (the token's and its family's).
        """
        ids = lookup_ids(jti, sid)
        if not ids:
            return lambda: False
        with _store_errors():
            finish = get_token_blacklist_backend().start_lookup_any(ids)

        def answer() -> bool:
            with _store_errors():
                return finish()

        return answer

    @staticmethod
    def revoke_family(sid: str) -> None:
        """Revoke every token of the family (session) ``sid``: one record, O(1).

        Kept for a full refresh lifetime from now: no token of the family can outlive it.
        """
        TokenBlacklist.revoke_families([sid])

    @staticmethod
    def revoke_families(sids: list[str]) -> None:
        """:meth:`revoke_family` for each sid, in one round trip on the stock backends."""
        if not sids:
            return
        lifetime = get_config().refresh_lifetime.total_seconds()
        expires_at = math.ceil(time.time() + lifetime)
        with _store_errors():
            get_token_blacklist_backend().blacklist_many(
                [family_record_id(sid) for sid in sids], expires_at=expires_at
            )

    @staticmethod
    def redeem(jti: str, *, expires_at: int, at: int) -> tuple[bool, int]:
        """Atomically mark ``jti`` used at ``at``; see :meth:`BlacklistBackend.redeem`."""
        with _store_errors():
            return get_token_blacklist_backend().redeem(jti, expires_at=expires_at, at=at)

    @staticmethod
    def consume(jti: str, *, expires_at: int) -> bool:
        """Atomically blacklist ``jti``; False when it was blacklisted already."""
        with _store_errors():
            return get_token_blacklist_backend().consume(jti, expires_at=expires_at)

    @staticmethod
    async def ablacklist(jti: str, *, expires_at: int) -> None:
        with _store_errors():
            await get_token_blacklist_backend().ablacklist(jti, expires_at=expires_at)

    @staticmethod
    async def ais_blacklisted(jti: str, sid: str = "") -> bool:
        ids = lookup_ids(jti, sid)
        if not ids:
            return False
        with _store_errors():
            backend = get_token_blacklist_backend()
            if len(ids) == 1:
                return await backend.ais_blacklisted(ids[0])
            return await backend.ais_any_blacklisted(ids)

    @staticmethod
    async def aconsume(jti: str, *, expires_at: int) -> bool:
        with _store_errors():
            return await get_token_blacklist_backend().aconsume(jti, expires_at=expires_at)

    @staticmethod
    async def add(jti: str, *, expires_at: int) -> None:
        """Alias of :meth:`ablacklist`."""
        await TokenBlacklist.ablacklist(jti, expires_at=expires_at)

    @staticmethod
    def _token_ids(
        payload: dict[str, Any], backend: BlacklistBackend, own_id: bool
    ) -> tuple[tuple[str, ...], str]:
        jti, sid = payload.get("jti", ""), payload.get(SESSION_ID_CLAIM, "")
        ids = lookup_ids(
            jti if own_id and isinstance(jti, str) else "", sid if isinstance(sid, str) else ""
        )
        user_id = payload.get(get_config().user_id_claim)
        if user_id is None or isinstance(user_id, dict | list) or not backend.supports_user_epochs:
            return ids, ""
        epoch_id = user_record_id(user_id)
        return (*ids, epoch_id), epoch_id

    @staticmethod
    def _verdict(values: list[Any], epoch_id: str, payload: dict[str, Any]) -> bool:
        if not epoch_id:
            return any(values)
        epoch = _epoch_ms(values[-1])
        return any(values[:-1]) or (epoch is not None and _token_start_ms(payload) <= epoch)

    @staticmethod
    def start_token_lookup(payload: dict[str, Any], *, own_id: bool = True) -> Callable[[], bool]:
        """Begin "is this token revoked": its ``jti`` (unless ``own_id`` is False), its
        family's record and its user's revocation epoch, in one read (one ``MGET`` / one
        ``IN`` query). Call the result once for the answer."""
        with _store_errors():
            backend = get_token_blacklist_backend()
            ids, epoch_id = TokenBlacklist._token_ids(payload, backend, own_id)
            if not ids:
                return lambda: False
            finish = backend.start_lookup_values(ids) if epoch_id else backend.start_lookup_any(ids)

        def answer() -> bool:
            with _store_errors():
                found = finish()
            if isinstance(found, bool):
                return found
            return TokenBlacklist._verdict(found, epoch_id, payload)

        return answer

    @staticmethod
    def is_token_revoked(payload: dict[str, Any], *, own_id: bool = True) -> bool:
        """:meth:`start_token_lookup`, answered at once."""
        return TokenBlacklist.start_token_lookup(payload, own_id=own_id)()

    @staticmethod
    async def ais_token_revoked(payload: dict[str, Any]) -> bool:
        """:meth:`is_token_revoked` for async code."""
        with _store_errors():
            backend = get_token_blacklist_backend()
            ids, epoch_id = TokenBlacklist._token_ids(payload, backend, True)
            if not ids:
                return False
            if not epoch_id:
                return await backend.ais_any_blacklisted(ids)
            values = await backend.alookup_values(ids)
        return TokenBlacklist._verdict(values, epoch_id, payload)

    @staticmethod
    def supports_user_epochs() -> bool:
        return get_token_blacklist_backend().supports_user_epochs

    @staticmethod
    def revoke_user(user_id: Any) -> None:
        """End every session of the user whose id claim is ``user_id`` started until now:
        one record (the revocation epoch), O(1) whatever the number of sessions.

        Kept for a full token lifetime: no token of those sessions can outlive it.
        """
        config = get_config()
        lifetime = max(config.refresh_lifetime, config.access_lifetime).total_seconds()
        now_ns = time.time_ns()
        with _store_errors():
            get_token_blacklist_backend().set_user_epoch(
                user_record_id(user_id),
                at_ms=now_ns // 1_000_000,
                expires_at=math.ceil(now_ns / 1e9 + lifetime),
            )
        note_revocation()

