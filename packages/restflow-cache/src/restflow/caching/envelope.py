"""The entry envelope and its I/O: an entry is read with its scope tokens and written
stamped with them (docs/caching.md, Storage model and guarantees).

An entry is stored as ``(mark, value, tokens, cached_at, reset_at)``. A lookup reads the
entry and its scopes (:mod:`~restflow.caching.scopes`) with one ``get_many``; the entry is
served only while every scope still holds the token it was stamped with. On a miss the
tokens are taken (absent scopes created, short-lived ones extended) *before* the function
runs, so an invalidation during the computation makes the stored value unreadable.

Reads and writes here degrade: a failing backend is logged (throttled) and the call is
answered without the cache.
"""

from __future__ import annotations

import logging
import pickle
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import BaseCache

from restflow.caching import outbox
from restflow.caching._snapshot import snapshot_database
from restflow.caching.backends import (
    adelete,
    aget_many,
    aset_many,
    aset_one,
    atouch,
    degraded,
    delete,
    get_cache,
    get_many,
    set_many,
    set_one,
    touch,
)
from restflow.caching.constants import (
    METADATA_CACHE_STATUS,
    METADATA_CACHED_AT_KEY,
    METADATA_RESET_AT_KEY,
)
from restflow.caching.tokens import new_token, scope_life, token_expiry

__all__ = [
    "ENVELOPE_MARK",
    "Plan",
    "adelete_entry",
    "aprepare",
    "aread",
    "astore",
    "delete_entry",
    "make_envelope",
    "make_metadata",
    "prepare",
    "read",
    "store",
    "valid_envelope",
]

logger = logging.getLogger("restflow.caching.storage")

ENVELOPE_MARK = "rf1"
"""First item of every envelope ``(mark, value, tokens, cached_at, reset_at)``."""

_USER_ERRORS = (pickle.PicklingError, TypeError, AttributeError)


class Plan:
    """Keys touched by one call: the entry key and its scope keys, in stamp order."""

    __slots__ = ("key", "keys", "scopes", "ttl", "version")

    def __init__(self, key: str, scopes: list[str], version: int, ttl: int | None) -> None:
        self.key = key
        self.scopes = scopes
        self.keys = [key, *scopes]
        self.version = version
        self.ttl = ttl


def valid_envelope(values: Mapping[str, Any], plan: Plan) -> tuple[Any, ...] | None:
    """The envelope at ``plan.key`` if present and stamped with the current tokens."""
    env = values.get(plan.key)
    if type(env) is not tuple or len(env) != 5 or env[0] != ENVELOPE_MARK:
        return None
    stamp = env[2]
    scopes = plan.scopes
    if len(stamp) != len(scopes):
        return None
    for scope, token in zip(scopes, stamp, strict=True):
        if values.get(scope) != token:
            return None
    return env


def make_envelope(
    value: Any, tokens: tuple[int, ...], ttl: int | None, now: float
) -> tuple[Any, ...]:
    reset = now + ttl if ttl else None
    return (ENVELOPE_MARK, value, tokens, now, reset)


def _iso(timestamp: float) -> str:
    if settings.USE_TZ:
        return datetime.fromtimestamp(timestamp, tz=UTC).isoformat()
    return datetime.fromtimestamp(timestamp).isoformat()


def make_metadata(env: tuple[Any, ...], status: str) -> dict[str, Any]:
    return {
        METADATA_CACHED_AT_KEY: _iso(env[3]),
        METADATA_RESET_AT_KEY: _iso(env[4]) if env[4] is not None else None,
        METADATA_CACHE_STATUS: status,
    }


class _Stamp(NamedTuple):
    """The tokens a new entry records, and the scope writes to make before computing it."""

    tokens: tuple[int, ...]
    missing: dict[str, int]  # absent scopes to create, with their new token
    short: list[str]  # scopes living shorter than the entry: extended with ``touch``
    life: int | None  # timeout of the scopes written


def _tokens_for(plan: Plan, values: Mapping[str, Any]) -> _Stamp | None:
    """What to stamp a new entry with; ``None`` when the value about to be computed must
    not be stored (old snapshot)."""
    if _from_old_snapshot(plan):
        return None
    now = time.time()
    life = scope_life(plan.ttl)
    needed = None if plan.ttl is None else now + plan.ttl
    tokens: list[int] = []
    missing: dict[str, int] = {}
    short: list[str] = []
    for scope in plan.scopes:
        token = values.get(scope)
        if type(token) is not int:  # absent, or written by an older restflow
            token = new_token(life, now)
            missing[scope] = token
        else:
            expiry = token_expiry(token)
            if expiry is not None and (needed is None or expiry < needed):
                short.append(scope)
        tokens.append(token)
    return _Stamp(tuple(tokens), missing, short, life)


# -- sync I/O --------------------------------------------------------------------------
def read(cache: BaseCache, alias: str, keys: list[str], version: int) -> dict[str, Any] | None:
    """``get_many`` of ``keys``; ``None`` when the backend fails (logged, throttled) or a
    scope read has a failed invalidation held for replay that cannot be replayed yet."""
    if (
        outbox.held_bumps
        and outbox.is_pending(alias, version, keys)
        and not outbox.replay(alias)
        and outbox.is_pending(alias, version, keys)
    ):
        return None
    try:
        return get_many(cache, keys, version)
    except Exception as exc:
        degraded(alias, "read", exc)
        return None


def _from_old_snapshot(plan: Plan) -> bool:
    """Whether a value computed now may read a database snapshot older than the tokens
    just read (see ``_snapshot``): such a value is returned but not stored."""
    database = snapshot_database()
    if database is None:
        return False
    logger.debug(
        "Not caching %s: computed inside a transaction on database %r whose snapshot may "
        "predate an invalidation (REPEATABLE READ, SERIALIZABLE or SQLite WAL)",
        plan.key,
        database,
    )
    return True


def prepare(
    cache: BaseCache, alias: str, plan: Plan, values: Mapping[str, Any]
) -> tuple[int, ...] | None:
    """Tokens to stamp a new entry with: create absent scopes, extend short-lived ones.

    ``None`` when the value must not be stored: the cache failed, or the value would be
    computed from a database snapshot that may predate the tokens.
    """
    stamp = _tokens_for(plan, values)
    if stamp is None:
        return None
    try:
        if stamp.missing:
            set_many(cache, stamp.missing, stamp.life, plan.version)  # per slot on a cluster
        for scope in stamp.short:
            touch(cache, scope, stamp.life, plan.version)
    except Exception as exc:
        degraded(alias, "write", exc)
        return None
    return stamp.tokens


def _entry_write_failed(alias: str, exc: Exception) -> None:
    """A failed entry write is logged and the entry not stored, unless the value itself is
    at fault (it cannot be pickled): that error reaches the caller."""
    if isinstance(exc, _USER_ERRORS):
        raise exc
    degraded(alias, "write", exc)


def store(
    cache: BaseCache, alias: str, plan: Plan, value: Any, tokens: tuple[int, ...]
) -> tuple[Any, ...] | None:
    env = make_envelope(value, tokens, plan.ttl, time.time())
    try:
        set_one(cache, plan.key, env, plan.ttl, plan.version)
    except Exception as exc:
        _entry_write_failed(alias, exc)
        return None
    return env


def delete_entry(alias: str, key: str, version: int) -> None:
    delete(get_cache(alias), key, version)


async def adelete_entry(alias: str, key: str, version: int) -> None:
    await adelete(get_cache(alias), key, version)


# -- async I/O -------------------------------------------------------------------------
async def aread(
    cache: BaseCache, alias: str, keys: list[str], version: int
) -> dict[str, Any] | None:
    if outbox.held_bumps and outbox.is_pending(alias, version, keys):
        replayed = await sync_to_async(outbox.replay, thread_sensitive=True)(alias)
        if not replayed and outbox.is_pending(alias, version, keys):
            return None
    try:
        return await aget_many(cache, keys, version)
    except Exception as exc:
        degraded(alias, "read", exc)
        return None


async def aprepare(
    cache: BaseCache, alias: str, plan: Plan, values: Mapping[str, Any]
) -> tuple[int, ...] | None:
    stamp = _tokens_for(plan, values)
    if stamp is None:
        return None
    try:
        if stamp.missing:
            await aset_many(cache, stamp.missing, stamp.life, plan.version)
        for scope in stamp.short:
            await atouch(cache, scope, stamp.life, plan.version)
    except Exception as exc:
        degraded(alias, "write", exc)
        return None
    return stamp.tokens


async def astore(
    cache: BaseCache, alias: str, plan: Plan, value: Any, tokens: tuple[int, ...]
) -> tuple[Any, ...] | None:
    env = make_envelope(value, tokens, plan.ttl, time.time())
    try:
        await aset_one(cache, plan.key, env, plan.ttl, plan.version)
    except Exception as exc:
        _entry_write_failed(alias, exc)
        return None
    return env
