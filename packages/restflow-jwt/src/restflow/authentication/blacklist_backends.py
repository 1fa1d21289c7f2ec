"""Blacklist backends (revoked token ids): the interface, the cache and model backends, the facade.

Entries are kept at least until the token's ``exp`` plus ``LEEWAY``: until then the
token would still decode, so it must still be known as revoked.

A revoked session (token family, the ``sid`` claim) is one more entry in the same store,
under :func:`family_record_id`: revoking a family writes one record whatever its length,
and a token is checked against its own id and its family's record in one read.

A user's revocation epoch ("log out everywhere", a password change) is one more record,
under :func:`user_record_id`, holding the time (unix milliseconds) of the revocation:
every session started at or before it is refused, whatever its number. The same read
fetches it (three keys, one ``MGET`` / one ``IN`` query).
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync, sync_to_async
from django.core.cache import BaseCache, caches
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, OperationalError, connections, router, transaction

from restflow.authentication.config import get_config
from restflow.authentication.constants import (
    BLACKLIST_CACHE_PREFIX,
    EVICTING_CACHE_BACKENDS,
    LOCAL_CACHE_BACKEND_PATHS,
)
from restflow.authentication.exceptions import BlacklistUnavailableError, JWTConfigurationError
from restflow.authentication.redis_lookup import reader_for, starter_for
from restflow.authentication.session_ids import (
    SESSION_ID_CLAIM,
    note_revocation,
    session_started_ms,
)

if TYPE_CHECKING:
    from restflow.authentication.models import BlacklistedToken

__all__ = [
    "BlacklistBackend",
    "CacheBlacklistBackend",
    "ModelBlacklistBackend",
    "TokenBlacklist",
    "family_record_id",
    "get_blacklisted_token_model",
    "get_token_blacklist_backend",
    "resolve_token_blacklist_backend",
    "user_record_id",
]

logger = logging.getLogger("restflow.authentication")


def retention_deadline(expires_at: int) -> float:
    """Unix time until which an entry for a token expiring at ``expires_at`` must live."""
    return expires_at + get_config().leeway_seconds


_PLAIN_JTI = re.compile(r"[A-Za-z0-9._~-]{1,128}")
_PLAIN_SID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def family_record_id(sid: str) -> str:
    """The blacklist id that marks the token family (session) ``sid`` as revoked.

    ``:`` never occurs in a plain token id, so a family record never collides with one.
    """
    if _PLAIN_SID.fullmatch(sid):
        return "f:" + sid
    return "f:h:" + hashlib.sha256(sid.encode("utf-8", "surrogatepass")).hexdigest()


def user_record_id(user_id: Any) -> str:
    """The blacklist id of the revocation epoch of the user whose id claim is ``user_id``."""
    text = str(user_id)
    if _PLAIN_SID.fullmatch(text):
        return "u:" + text
    return "u:h:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _epoch_ms(value: Any) -> int | None:
    """A stored epoch: an int (decoded), or its digits (raw Redis reply)."""
    if value is None or isinstance(value, int):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        return 1 << 62  # unreadable: refuse every token of the user (fail closed)


def _token_start_ms(payload: dict[str, Any]) -> int:
    """When the token's session started (from its ``sid``, milliseconds), else the start of
    its ``iat`` second: a token without a time-stamped session issued in the second of a
    revocation is refused too (it may have been issued before it)."""
    sid = payload.get(SESSION_ID_CLAIM)
    started = session_started_ms(sid) if isinstance(sid, str) else None
    if started is not None:
        return started
    iat = payload.get("iat")
    return int(iat) * 1000 if isinstance(iat, int | float) and not isinstance(iat, bool) else 0


def lookup_ids(jti: str, sid: str) -> tuple[str, ...]:
    """The ids whose presence revokes a token: its own ``jti``, and its family's record."""
    if not sid:
        return (jti,) if jti else ()
    return (jti, family_record_id(sid)) if jti else (family_record_id(sid),)

class BlacklistBackend:
    """Where revoked ``jti`` values live.

    Override at least one method of each pair (``blacklist``/``ablacklist``,
    ``is_blacklisted``/``ais_blacklisted``); the base class bridges the other half.
    Override ``consume`` (and/or ``aconsume``) with an atomic check-and-set so that a
    refresh token can be redeemed only once under concurrency; the default is a
    check-then-write, which is not atomic.
    """

    def _overrides(self, name: str) -> bool:
        return getattr(type(self), name) is not getattr(BlacklistBackend, name)

    def _missing(self, pair: str) -> NotImplementedError:
        return NotImplementedError(f"{type(self).__name__} must implement {pair}")

    def blacklist(self, jti: str, *, expires_at: int) -> None:
        if not self._overrides("ablacklist"):
            raise self._missing("blacklist() or ablacklist()")
        async_to_sync(self.ablacklist)(jti, expires_at=expires_at)

    def is_blacklisted(self, jti: str) -> bool:
        if not self._overrides("ais_blacklisted"):
            raise self._missing("is_blacklisted() or ais_blacklisted()")
        return async_to_sync(self.ais_blacklisted)(jti)

    async def ablacklist(self, jti: str, *, expires_at: int) -> None:
        if not self._overrides("blacklist"):
            raise self._missing("blacklist() or ablacklist()")
        await sync_to_async(self.blacklist, thread_sensitive=True)(jti, expires_at=expires_at)

    async def ais_blacklisted(self, jti: str) -> bool:
        if not self._overrides("is_blacklisted"):
            raise self._missing("is_blacklisted() or ais_blacklisted()")
        return await sync_to_async(self.is_blacklisted, thread_sensitive=True)(jti)

    async def add(self, jti: str, *, expires_at: int) -> None:
        """Alias of :meth:`ablacklist`."""
        await self.ablacklist(jti, expires_at=expires_at)

    def blacklist_many(self, ids: list[str], *, expires_at: int) -> None:
        """Blacklist every id; the cache and model backends do it in one round trip."""
        for one in ids:
            self.blacklist(one, expires_at=expires_at)

    def start_lookup(self, jti: str) -> Callable[[], bool]:
        """Begin :meth:`is_blacklisted`; the returned callable gives the answer.

        Lets the caller overlap the lookup with other I/O (the user query). The
        default looks up at once; backends with a network round trip may send the
        request now and read the reply when asked. The callable must be called once.
        """
        result = self.is_blacklisted(jti)
        return lambda: result

    def start_lookup_any(self, ids: tuple[str, ...]) -> Callable[[], bool]:
        """Begin "is any of ``ids`` blacklisted" (a token's id and its family record).

        The default asks :meth:`start_lookup` for each id; the cache and model backends
        answer all ids in one round trip.
        """
        if len(ids) == 1:
            return self.start_lookup(ids[0])
        finishes = [self.start_lookup(one) for one in ids]
        return lambda: any([finish() for finish in finishes])

    async def ais_any_blacklisted(self, ids: tuple[str, ...]) -> bool:
        for one in ids:
            if await self.ais_blacklisted(one):
                return True
        return False

    @property
    def supports_user_epochs(self) -> bool:
        """Whether :meth:`set_user_epoch` is implemented (the cache and model backends);
        without it, ending all of a user's sessions writes one record per session."""
        return self._overrides("set_user_epoch")

    def set_user_epoch(self, record_id: str, *, at_ms: int, expires_at: int) -> None:
        """Store ``at_ms`` (unix milliseconds) under ``record_id`` until ``expires_at``.

        A backend that implements it returns that number as the value of ``record_id``
        from :meth:`start_lookup_values` and :meth:`alookup_values`.
        """
        raise self._missing("set_user_epoch() (and start_lookup_values())")

    def start_lookup_values(self, ids: tuple[str, ...]) -> Callable[[], list[Any]]:
        """Begin reading ``ids``: the callable gives each one's stored value (``None`` when
        absent), in one round trip on the stock backends. The default reports presence."""
        finishes = [self.start_lookup(one) for one in ids]
        return lambda: [1 if finish() else None for finish in finishes]

    async def alookup_values(self, ids: tuple[str, ...]) -> list[Any]:
        return [1 if await self.ais_blacklisted(one) else None for one in ids]

    def redeem(self, jti: str, *, expires_at: int, at: int) -> tuple[bool, int]:
        """Blacklist ``jti`` as used at ``at`` (unix seconds), atomically.

        Returns ``(True, at)`` when this call did it, else ``(False, first)`` with the
        time of the first use (``0`` when the backend does not know it). The refresh
        view mints a rotated token's children from that time, so a retry inside the
        grace window gets the same pair. The default is :meth:`consume` (time unknown).
        """
        return (True, at) if self.consume(jti, expires_at=expires_at) else (False, 0)

    def consume(self, jti: str, *, expires_at: int) -> bool:
        """Blacklist ``jti``; True when this call did it, False when it already was."""
        if self._overrides("aconsume"):
            return async_to_sync(self.aconsume)(jti, expires_at=expires_at)
        if self.is_blacklisted(jti):
            return False
        self.blacklist(jti, expires_at=expires_at)
        return True

    async def aconsume(self, jti: str, *, expires_at: int) -> bool:
        if self._overrides("consume"):
            return await sync_to_async(self.consume, thread_sensitive=True)(
                jti, expires_at=expires_at
            )
        if await self.ais_blacklisted(jti):
            return False
        await self.ablacklist(jti, expires_at=expires_at)
        return True


def _class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _backend_path(cache: BaseCache) -> str:
    return _class_path(type(cache))


EVICTION_FIX = (
    "Point BLACKLIST_CACHE_ALIAS at a Redis cache with maxmemory-policy noeviction (never "
    "allkeys-*; volatile-* only with memory to spare, every blacklist entry has a TTL), "
    "or set BLACKLIST_BACKEND = 'restflow.authentication.jwt.ModelBlacklistBackend'."
)


def eviction_problem(cache_class: type, alias: str) -> str | None:
    """Why the cache blacklist cannot live in ``cache_class`` (``None`` when it can)."""
    for cls in cache_class.__mro__:
        reason = EVICTING_CACHE_BACKENDS.get(_class_path(cls))
        if reason is not None:
            return (
                f"The JWT blacklist cache (BLACKLIST_CACHE_ALIAS = {alias!r}) is a "
                f"{cache_class.__name__}, which drops entries before they expire ({reason}): "
                "revoked and rotated tokens would be accepted again."
            )
    return None


class CacheBlacklistBackend(BlacklistBackend):
    """Entries in a Django cache (``BLACKLIST_CACHE_ALIAS``); atomic ``consume`` via ``add``.

    Refuses caches that drop entries before they expire (``EVICTING_CACHE_BACKENDS``:
    ``DatabaseCache``, ``FileBasedCache``, memcached, ``DummyCache``), and the per-process
    ``LocMemCache`` unless ``BLACKLIST_ALLOW_LOCMEM`` is true.
    """

    def __init__(self) -> None:
        self._verified: type | None = None
        self._readers: weakref.WeakKeyDictionary[BaseCache, Callable[..., list[Any]]] = (
            weakref.WeakKeyDictionary()
        )
        self._starters: weakref.WeakKeyDictionary[BaseCache, Any] = weakref.WeakKeyDictionary()

    def _cache(self) -> BaseCache:
        cache = caches[get_config().blacklist_cache_alias]
        if type(cache) is not self._verified:
            self._verify(cache)
        return cache

    def _verify(self, cache: BaseCache) -> None:
        path = _backend_path(cache)
        alias = get_config().blacklist_cache_alias
        problem = eviction_problem(type(cache), alias)
        if problem is not None:
            raise JWTConfigurationError(f"{problem} {EVICTION_FIX}")
        if path in LOCAL_CACHE_BACKEND_PATHS and not get_config().blacklist_allow_locmem:
            raise JWTConfigurationError(
                f"CacheBlacklistBackend refuses {path} (cache alias {alias!r}): it is "
                "per-process, so revoked tokens would stay valid in other workers. Point "
                "BLACKLIST_CACHE_ALIAS at a shared Redis cache, use ModelBlacklistBackend, "
                "or set BLACKLIST_ALLOW_LOCMEM = True for tests and single-process servers."
            )
        self._verified = type(cache)

    @staticmethod
    def _key(jti: str) -> str:
        # Our own ids (uuid4 hex) are used as they are; anything else a signed token may
        # carry (spaces, control characters, very long ids) is hashed, so every key stays
        # a valid memcached key. ":" never occurs in a plain id, so the two never collide.
        if _PLAIN_JTI.fullmatch(jti) or (jti[:2] in ("f:", "u:") and _PLAIN_JTI.fullmatch(jti, 2)):
            return BLACKLIST_CACHE_PREFIX + jti  # a family or user record: "f:"/"u:" + plain id
        digest = hashlib.sha256(jti.encode("utf-8", "surrogatepass")).hexdigest()
        return BLACKLIST_CACHE_PREFIX + "h:" + digest

    @staticmethod
    def _timeout(expires_at: int) -> int:
        return max(1, math.ceil(retention_deadline(expires_at) - time.time()))

    def blacklist(self, jti: str, *, expires_at: int) -> None:
        self._cache().set(self._key(jti), 1, self._timeout(expires_at))

    def blacklist_many(self, ids: list[str], *, expires_at: int) -> None:
        entries = dict.fromkeys([self._key(one) for one in ids], 1)
        self._cache().set_many(entries, self._timeout(expires_at))

    def _read(self, *ids: str) -> list[Any]:
        cache = self._cache()
        reader = self._readers.get(cache)
        if reader is None:
            reader = self._readers[cache] = reader_for(cache)
        return reader(*[self._key(one) for one in ids])

    def is_blacklisted(self, jti: str) -> bool:
        return bool(self._read(jti)[0])

    def start_lookup(self, jti: str) -> Callable[[], bool]:
        return self.start_lookup_any((jti,))

    def start_lookup_any(self, ids: tuple[str, ...]) -> Callable[[], bool]:
        finish = self.start_lookup_values(ids)
        return lambda: any(finish())

    def start_lookup_values(self, ids: tuple[str, ...]) -> Callable[[], list[Any]]:
        cache = self._cache()
        starter = self._starters.get(cache)
        if starter is None:
            starter = self._starters[cache] = starter_for(cache)
        if starter is False:
            result = self._read(*ids)
            return lambda: result
        return starter(*[self._key(one) for one in ids])

    async def alookup_values(self, ids: tuple[str, ...]) -> list[Any]:
        keys = [self._key(one) for one in ids]
        found = await self._cache().aget_many(keys)
        return [found.get(key) for key in keys]

    async def ais_any_blacklisted(self, ids: tuple[str, ...]) -> bool:
        return any(await self.alookup_values(ids))

    def set_user_epoch(self, record_id: str, *, at_ms: int, expires_at: int) -> None:
        self._cache().set(self._key(record_id), at_ms, self._timeout(expires_at))

    def consume(self, jti: str, *, expires_at: int) -> bool:
        return bool(self._cache().add(self._key(jti), 1, self._timeout(expires_at)))

    def redeem(self, jti: str, *, expires_at: int, at: int) -> tuple[bool, int]:
        cache, key = self._cache(), self._key(jti)
        if cache.add(key, at, self._timeout(expires_at)):
            return True, at
        first = cache.get(key)
        return False, first if isinstance(first, int) and first > 1 else 0

    async def ablacklist(self, jti: str, *, expires_at: int) -> None:
        await self._cache().aset(self._key(jti), 1, self._timeout(expires_at))

    async def ais_blacklisted(self, jti: str) -> bool:
        return bool(await self._cache().aget(self._key(jti)))

    async def aconsume(self, jti: str, *, expires_at: int) -> bool:
        return bool(await self._cache().aadd(self._key(jti), 1, self._timeout(expires_at)))


def get_blacklisted_token_model() -> type[BlacklistedToken]:
    from restflow.authentication.models import BlacklistedToken

    return BlacklistedToken


def _expiry_datetime(expires_at: int) -> datetime:
    return datetime.fromtimestamp(expires_at, tz=UTC)


def _row_values(ids: tuple[str, ...], found: dict[str, datetime]) -> list[Any]:
    return [int(found[one].timestamp() * 1000) if one in found else None for one in ids]


#: A transaction that lost a race and may simply run again: PostgreSQL's serialization
#: failure and deadlock (SQLSTATE), MySQL/MariaDB's deadlock (error number).
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
_RETRYABLE_MYSQL_ERRORS = frozenset({1213})
_WRITE_ATTEMPTS = 3


def _retryable(exc: OperationalError) -> bool:
    cause = exc.__cause__
    state = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    if state in _RETRYABLE_SQLSTATES:
        return True
    args: tuple[Any, ...] = tuple(getattr(cause, "args", ()))
    return bool(args) and args[0] in _RETRYABLE_MYSQL_ERRORS


def _write_retrying(model: Any, write: Callable[[], Any]) -> None:
    """Run ``write`` (one upsert) and again when it lost a race with a concurrent writer
    of the same id.

    At REPEATABLE READ, PostgreSQL refuses ``INSERT ... ON CONFLICT`` with a serialization
    failure when the conflicting row was committed after the statement's snapshot: fifty
    racers reusing one refresh token all write the same family record. The row is there
    by then, so a fresh transaction succeeds. Not inside the caller's own transaction (its
    snapshot stays old, and it is aborted): the error goes up, as it would without this.
    """
    using = router.db_for_write(model)
    for attempt in range(1, _WRITE_ATTEMPTS + 1):
        try:
            write()
            return
        except OperationalError as exc:
            if attempt == _WRITE_ATTEMPTS or connections[using].in_atomic_block or not _retryable(exc):
                raise


class ModelBlacklistBackend(BlacklistBackend):
    """Rows of :class:`BlacklistedToken`; atomic ``consume`` through the unique ``jti``.

    Needs ``restflow.authentication`` in ``INSTALLED_APPS`` and its migration.
    """

    def blacklist(self, jti: str, *, expires_at: int) -> None:
        model = get_blacklisted_token_model()
        model.objects.get_or_create(jti=jti, defaults={"expires_at": _expiry_datetime(expires_at)})

    def is_blacklisted(self, jti: str) -> bool:
        return get_blacklisted_token_model().objects.filter(jti=jti).exists()

    def blacklist_many(self, ids: list[str], *, expires_at: int) -> None:
        model = get_blacklisted_token_model()
        expiry = _expiry_datetime(expires_at)
        _write_retrying(
            model,
            lambda: model.objects.bulk_create(
                [model(jti=one, expires_at=expiry) for one in ids], ignore_conflicts=True
            ),
        )

    def start_lookup_any(self, ids: tuple[str, ...]) -> Callable[[], bool]:
        result = get_blacklisted_token_model().objects.filter(jti__in=ids).exists()
        return lambda: result

    async def ais_any_blacklisted(self, ids: tuple[str, ...]) -> bool:
        return await get_blacklisted_token_model().objects.filter(jti__in=ids).aexists()

    def start_lookup_values(self, ids: tuple[str, ...]) -> Callable[[], list[Any]]:
        """One ``jti IN (...)`` query; a row's value is its ``created_at`` (milliseconds),
        which for a user record is the revocation epoch."""
        rows = get_blacklisted_token_model().objects.filter(jti__in=ids)
        result = _row_values(ids, dict(rows.values_list("jti", "created_at")))
        return lambda: result

    async def alookup_values(self, ids: tuple[str, ...]) -> list[Any]:
        rows = get_blacklisted_token_model().objects.filter(jti__in=ids)
        return _row_values(ids, {jti: at async for jti, at in rows.values_list("jti", "created_at")})

    def set_user_epoch(self, record_id: str, *, at_ms: int, expires_at: int) -> None:
        """One upsert (``INSERT ... ON CONFLICT DO UPDATE``); the epoch is the row's
        ``created_at``, which Django sets to now (``auto_now_add``), at or after ``at_ms``."""
        model = get_blacklisted_token_model()
        features = connections[router.db_for_write(model)].features
        target = ["jti"] if features.supports_update_conflicts_with_target else None
        def upsert() -> None:
            row = model(jti=record_id, expires_at=_expiry_datetime(expires_at))
            model.objects.bulk_create(
                [row],
                update_conflicts=True,
                unique_fields=target,
                update_fields=["created_at", "expires_at"],
            )

        _write_retrying(model, upsert)

    def consume(self, jti: str, *, expires_at: int) -> bool:
        return self.redeem(jti, expires_at=expires_at, at=0)[0]

    def redeem(self, jti: str, *, expires_at: int, at: int) -> tuple[bool, int]:
        """The first use is the winner's ``created_at``, read back by every later racer."""
        model = get_blacklisted_token_model()
        try:
            with transaction.atomic(using=router.db_for_write(model)):
                row = model.objects.create(jti=jti, expires_at=_expiry_datetime(expires_at))
        except IntegrityError:
            first = model.objects.filter(jti=jti).values_list("created_at", flat=True).first()
            return False, int(first.timestamp()) if first is not None else 0
        return True, int(row.created_at.timestamp())

    async def ablacklist(self, jti: str, *, expires_at: int) -> None:
        model = get_blacklisted_token_model()
        await model.objects.aget_or_create(
            jti=jti, defaults={"expires_at": _expiry_datetime(expires_at)}
        )

    async def ais_blacklisted(self, jti: str) -> bool:
        return await get_blacklisted_token_model().objects.filter(jti=jti).aexists()


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
