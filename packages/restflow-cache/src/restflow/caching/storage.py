"""Generation scopes, the entry envelope and degrade-safe cache I/O (caching.md §7).

Every entry belongs to a fixed list of *scopes* (namespace, function, partition levels,
key). A scope is a small cache key holding a random token; an entry records the tokens
of its scopes when its computation starts and is valid only while every scope still
holds them. Invalidating a namespace, a function, a partition or one key is therefore a
single write of new tokens, whatever the number of entries, on every Django backend; a
lookup reads the entry and its scopes with one ``get_many``.

Scope tokens are integers below ``2**63`` carrying their own expiry (``<unix minute> << 36
| <36 random bits>``): Redis stores such a value inline in the key's object, with no
separate allocation. A writer that stores an entry living longer than one of its scopes first
extends that scope with ``touch``, so scopes outlive the entries that depend on them and
still expire (bounded metadata).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging
import pickle
import re
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from os import urandom as _urandom
from typing import Any

from django.conf import settings
from django.core.cache import BaseCache

from restflow.caching._backends import aset_many, get_cache, get_many, purge_namespace, set_many
from restflow.caching._snapshot import snapshot_database
from restflow.caching.hashing import sha256_hex
from restflow.log import log_throttled

__all__ = [
    "ENVELOPE_MARK",
    "FAILED_ALIASES",
    "KEY_SCOPE_PREFIX",
    "SCOPE_PREFIX",
    "Plan",
    "abump_targets",
    "bump_targets",
    "function_scope",
    "get_cache",
    "get_many",
    "key_scope",
    "lock_key",
    "make_metadata",
    "namespace_scope",
    "new_token",
    "partition_scope",
    "partition_scopes",
    "purge_namespace",
    "scope_life",
    "valid_envelope",
]

logger = logging.getLogger("restflow.caching.storage")

SCOPE_PREFIX = "restflow:gen:"
LOCK_PREFIX = "restflow:lock:"
ENVELOPE_MARK = "rf1"
"""First item of every envelope ``(mark, value, tokens, cached_at, reset_at)``."""

DEGRADE_LOG_INTERVAL = 60.0
_USER_ERRORS = (pickle.PicklingError, TypeError, AttributeError)

Target = tuple[str, int, str, int | None]
"""``(cache alias, Django version, scope key, scope life)`` of one scope to bump."""


# -- names -----------------------------------------------------------------------------
def namespace_scope(namespace: str) -> str:
    return f"{SCOPE_PREFIX}ns:{sha256_hex(namespace)}"


def function_scope(function_prefix: str) -> str:
    return f"{SCOPE_PREFIX}fn:{sha256_hex(function_prefix)}"


# Scope names embed short, memcached-safe texts as they are (saving a hash per call) and
# a SHA-256 of longer ones. Entry keys always contain "::", so a raw text never looks
# like a 64-digit hex digest: the two forms cannot collide.
_RAW_SCOPE_LIMIT = 150
_UNSAFE_TEXT = re.compile(r"[^!-~]")


def _scope_name(kind: str, text: str) -> str:
    if len(text) <= _RAW_SCOPE_LIMIT and _UNSAFE_TEXT.search(text) is None:
        return f"{SCOPE_PREFIX}{kind}:{text}"
    return f"{SCOPE_PREFIX}{kind}:{sha256_hex(text)}"


def partition_scope(function_prefix: str, parts: Iterable[str]) -> str:
    return _scope_name("pt", function_prefix + "".join(part + "::" for part in parts))


def partition_scopes(function_prefix: str, parts: list[str]) -> list[str]:
    """Scope keys of partition levels ``1 … m`` (``m`` = last non-empty part)."""
    last = len(parts)
    while last and not parts[last - 1]:
        last -= 1
    scopes: list[str] = []
    text = function_prefix
    for part in parts[:last]:
        text += part + "::"
        scopes.append(_scope_name("pt", text))
    return scopes


# Every entry owns a key scope, so its name is kept short and fixed-size whatever the
# entry key: a 96-bit BLAKE2b digest, base64url. Two keys sharing a digest would only make
# ``delete_cache`` of one also invalidate the other (an extra miss, never a stale hit).
KEY_SCOPE_PREFIX = "restflow:k:"


@functools.lru_cache(maxsize=8192)
def key_scope(key: str) -> str:
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=12).digest()
    return KEY_SCOPE_PREFIX + base64.urlsafe_b64encode(digest).decode("ascii")


def lock_key(key: str) -> str:
    return f"{LOCK_PREFIX}{sha256_hex(key)}"


# -- tokens ----------------------------------------------------------------------------
def scope_life(ttl: int | None) -> int | None:
    """Timeout of a scope key created for entries of ``ttl`` seconds."""
    return None if ttl is None else 2 * int(ttl) + 60


_RANDOM_BITS = 36
_EXPIRY_LIMIT = (1 << 27) - 1  # unix minutes: year 2225


def new_token(life: int | None, now: float | None = None) -> int:
    """``<expiry minute> << 36 | <36 random bits>`` (expiry ``0`` for none), below ``2**63``.

    An integer: Django's Redis backends store it as plain digits (Redis keeps it inline,
    without unpickling on the way back) and it pickles in a few bytes. The expiry is
    rounded down to the minute, so it never claims a scope lives longer than it does.
    """
    random = int.from_bytes(_urandom(5), "big") >> 4
    if life is None:
        return random
    minute = min(int((now or time.time()) + life) // 60, _EXPIRY_LIMIT)
    return (minute << _RANDOM_BITS) | random


def token_expiry(token: int) -> float | None:
    minute = token >> _RANDOM_BITS
    return float(minute * 60) if minute else None


# -- plan and envelope -----------------------------------------------------------------
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
        "cached_at": _iso(env[3]),
        "cache_reset_at": _iso(env[4]) if env[4] is not None else None,
        "cache_status": status,
    }


def _tokens_for(
    plan: Plan, values: Mapping[str, Any], now: float
) -> tuple[tuple[int, ...], dict[str, int], list[str], int | None]:
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
    return tuple(tokens), missing, short, life


def _degraded(alias: str, operation: str, exc: BaseException) -> None:
    log_throttled(
        logger,
        f"{alias}:{operation}",
        "Cache %r failed during %s (%s: %s); answering without the cache",
        alias,
        operation,
        type(exc).__name__,
        exc,
        interval=DEGRADE_LOG_INTERVAL,
    )


# -- sync I/O --------------------------------------------------------------------------
def read(cache: BaseCache, alias: str, keys: list[str], version: int) -> dict[str, Any] | None:
    """``get_many`` of ``keys``; ``None`` when the backend fails (logged, throttled)."""
    try:
        return get_many(cache, keys, version)
    except Exception as exc:
        _degraded(alias, "read", exc)
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
    if _from_old_snapshot(plan):
        return None
    now = time.time()
    tokens, missing, short, life = _tokens_for(plan, values, now)
    try:
        if missing:
            cache.set_many(missing, timeout=life, version=plan.version)
        for scope in short:
            cache.touch(scope, life, version=plan.version)
    except Exception as exc:
        _degraded(alias, "write", exc)
        return None
    return tokens


def store(
    cache: BaseCache, alias: str, plan: Plan, value: Any, tokens: tuple[int, ...]
) -> tuple[Any, ...] | None:
    env = make_envelope(value, tokens, plan.ttl, time.time())
    try:
        cache.set(plan.key, env, timeout=plan.ttl, version=plan.version)
    except _USER_ERRORS:
        raise
    except Exception as exc:
        _degraded(alias, "write", exc)
        return None
    return env


def acquire_lock(
    cache: BaseCache, alias: str, key: str, token: str, timeout: int, version: int
) -> bool | None:
    try:
        return bool(cache.add(key, token, timeout=timeout, version=version))
    except Exception as exc:
        _degraded(alias, "lock", exc)
        return None


def release_lock(cache: BaseCache, alias: str, key: str, token: str, version: int) -> None:
    try:
        if cache.get(key, version=version) == token:
            cache.delete(key, version=version)
    except Exception as exc:
        _degraded(alias, "lock", exc)


def _group(targets: Iterable[Target]) -> dict[tuple[str, int], tuple[dict[str, int], Any]]:
    """New tokens per ``(alias, version)``; a group's scopes share the longest life.

    The scopes of one group get the same new token: a token is only ever compared with
    the stamps of its own scope, so one fresh token per write is as good as one per
    scope (and costs one draw of random bits instead of one per scope).
    """
    scopes: dict[tuple[str, int], tuple[list[str], set[int | None]]] = {}
    for alias, version, scope, life in targets:
        group = scopes.get((alias, version))
        if group is None:
            scopes[(alias, version)] = ([scope], {life})
        else:
            group[0].append(scope)
            group[1].add(life)
    now = time.time()
    groups: dict[tuple[str, int], tuple[dict[str, int], Any]] = {}
    for key, (names, lives) in scopes.items():
        life = None if None in lives else max(x for x in lives if x is not None)
        groups[key] = (dict.fromkeys(names, new_token(life, now)), life)
    return groups


FAILED_ALIASES = "restflow_failed_aliases"
"""Attribute of an error raised by a bump: the cache aliases that could not be written."""


def _raise_failures(failures: list[tuple[str, Exception]]) -> None:
    """Raise the first error of a bump that wrote every other alias, naming the failed ones.

    The error keeps its type (so a broker's retry settings for it still apply); a note
    and the :data:`FAILED_ALIASES` attribute name every alias that failed.
    """
    error = failures[0][1]
    aliases = tuple(dict.fromkeys(alias for alias, _ in failures))
    details = "; ".join(f"{alias!r} ({type(exc).__name__}: {exc})" for alias, exc in failures)
    error.add_note(
        f"restflow could not invalidate on cache alias(es) {details}; "
        "every other alias of this invalidation was written"
    )
    setattr(error, FAILED_ALIASES, aliases)
    raise error


def bump_targets(targets: Iterable[Target]) -> None:
    """Write new tokens to the given scopes: one ``set_many`` per (alias, version).

    Invalidation is not degraded: a backend error propagates so the caller (the rule
    registry, a broker) can log, retry or dead-letter it. It propagates only after every
    other alias was written: one unreachable cache does not keep the others stale.
    """
    targets = list(targets)
    if len(targets) == 1:  # delete_by_prefix / invalidate_all: no grouping to do
        alias, version, scope, life = targets[0]
        set_many(get_cache(alias), {scope: new_token(life)}, life, version)
        return
    failures: list[tuple[str, Exception]] = []
    for (alias, version), (mapping, life) in _group(targets).items():
        try:
            set_many(get_cache(alias), mapping, life, version)
        except Exception as exc:
            failures.append((alias, exc))
    if failures:
        _raise_failures(failures)


async def abump_targets(targets: Iterable[Target]) -> None:
    targets = list(targets)
    if len(targets) == 1:
        alias, version, scope, life = targets[0]
        await aset_many(get_cache(alias), {scope: new_token(life)}, life, version)
        return
    failures: list[tuple[str, Exception]] = []
    for (alias, version), (mapping, life) in _group(targets).items():
        try:
            await aset_many(get_cache(alias), mapping, life, version)
        except Exception as exc:
            failures.append((alias, exc))
    if failures:
        _raise_failures(failures)


def delete_entry(alias: str, key: str, version: int) -> None:
    get_cache(alias).delete(key, version=version)


async def adelete_entry(alias: str, key: str, version: int) -> None:
    await get_cache(alias).adelete(key, version=version)


# -- async I/O -------------------------------------------------------------------------
async def aread(
    cache: BaseCache, alias: str, keys: list[str], version: int
) -> dict[str, Any] | None:
    try:
        return await cache.aget_many(keys, version=version)
    except Exception as exc:
        _degraded(alias, "read", exc)
        return None


async def aprepare(
    cache: BaseCache, alias: str, plan: Plan, values: Mapping[str, Any]
) -> tuple[int, ...] | None:
    if _from_old_snapshot(plan):
        return None
    now = time.time()
    tokens, missing, short, life = _tokens_for(plan, values, now)
    try:
        if missing:
            await cache.aset_many(missing, timeout=life, version=plan.version)
        for scope in short:
            await cache.atouch(scope, life, version=plan.version)
    except Exception as exc:
        _degraded(alias, "write", exc)
        return None
    return tokens


async def astore(
    cache: BaseCache, alias: str, plan: Plan, value: Any, tokens: tuple[int, ...]
) -> tuple[Any, ...] | None:
    env = make_envelope(value, tokens, plan.ttl, time.time())
    try:
        await cache.aset(plan.key, env, timeout=plan.ttl, version=plan.version)
    except _USER_ERRORS:
        raise
    except Exception as exc:
        _degraded(alias, "write", exc)
        return None
    return env


async def aacquire_lock(
    cache: BaseCache, alias: str, key: str, token: str, expiry: int, version: int
) -> bool | None:
    try:
        return bool(await cache.aadd(key, token, timeout=expiry, version=version))
    except Exception as exc:
        _degraded(alias, "lock", exc)
        return None


async def arelease_lock(cache: BaseCache, alias: str, key: str, token: str, version: int) -> None:
    try:
        if await cache.aget(key, version=version) == token:
            await cache.adelete(key, version=version)
    except Exception as exc:
        _degraded(alias, "lock", exc)
