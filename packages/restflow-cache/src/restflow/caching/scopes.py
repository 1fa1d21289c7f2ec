"""Scopes: the names, tokens and bumps that invalidate entries (docs/caching.md, Storage
model and guarantees).

Every entry belongs to a fixed list of *scopes* (namespace, function, partition levels,
key). A scope is a small cache key holding a random token; an entry records the tokens
of its scopes when its computation starts (see :mod:`~restflow.caching.envelope`) and is
valid only while every scope still holds them. Invalidating a namespace, a function, a
partition or one key is therefore a single write of new tokens (a *bump*), whatever the
number of entries, on every Django backend.

Scope tokens are integers below ``2**63`` carrying their own expiry (``<unix minute> << 36
| <36 random bits>``): Redis stores such a value inline in the key's object, with no
separate allocation. A writer that stores an entry living longer than one of its scopes first
extends that scope with ``touch``, so scopes outlive the entries that depend on them and
still expire (bounded metadata).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import logging
import re
import threading
import time
from collections.abc import Iterable
from os import urandom as _urandom
from typing import Any

from asgiref.sync import sync_to_async
from django.core.signals import setting_changed
from django.dispatch import receiver

from restflow.caching.backends import aset_many, get_cache, set_many
from restflow.caching.hashing import sha256_hex

__all__ = [
    "FAILED_ALIASES",
    "KEY_SCOPE_PREFIX",
    "SCOPE_PREFIX",
    "Target",
    "abump_targets",
    "bump_targets",
    "function_scope",
    "key_scope",
    "namespace_scope",
    "new_token",
    "partition_scope",
    "partition_scopes",
    "scope_life",
    "token_expiry",
]

SCOPE_PREFIX = "restflow:gen:"

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


# -- bumps ---------------------------------------------------------------------------
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
        "every other alias of this invalidation was written; the failed scopes are held "
        "for replay by the next read or write on their alias"
    )
    setattr(error, FAILED_ALIASES, aliases)
    raise error


# -- failed bumps: bounded retry, then the outbox -------------------------------------
# A bump that fails is retried after each of these pauses (bounded: about 0.3 s plus the
# backend's own timeouts), then held here, per process, until a write or a read on its
# alias replays it. While a scope has a held bump, reads that need it are misses: its
# entries are never served stale by this process (docs/caching.md, Scaling out).
RETRY_DELAYS = (0.05, 0.25)
REPLAY_INTERVAL = 1.0  # seconds between two replay attempts on one alias
OUTBOX_LIMIT = 10_000  # held scopes per process; beyond, a bump is logged and dropped
_outbox: dict[tuple[str, int], dict[str, int | None]] = {}
_next_replay: dict[str, float] = {}
_outbox_lock = threading.Lock()
logger = logging.getLogger("restflow.caching.storage")


@receiver(setting_changed)
def _forget_outbox(*, setting: str, **kwargs: Any) -> None:
    """Held bumps name caches of the old ``CACHES`` (tests that replace it)."""
    if setting == "CACHES":
        with _outbox_lock:
            _outbox.clear()
            _next_replay.clear()


def _longest(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else max(a, b)


def _hold(alias: str, version: int, mapping: dict[str, Any], life: int | None) -> None:
    with _outbox_lock:
        held = _outbox.setdefault((alias, version), {})
        room = OUTBOX_LIMIT - sum(len(v) for v in _outbox.values())
        for scope in mapping:
            if scope in held:
                held[scope] = _longest(held[scope], life)
            elif room > 0:
                held[scope] = life
                room -= 1
            else:
                logger.error(
                    "restflow: outbox full (%d scopes); invalidation of %r on cache %r "
                    "dropped: its entries may be served until their TTL",
                    OUTBOX_LIMIT, scope, alias,
                )
        if not held:
            del _outbox[(alias, version)]
    logger.warning(
        "restflow: invalidation of %d scope(s) on cache %r failed after %d retries; held "
        "for replay (%d scope(s) held)", len(mapping), alias, len(RETRY_DELAYS), pending_count(),
    )


def pending_count() -> int:
    """How many scopes have a failed invalidation held for replay in this process."""
    return sum(len(held) for held in _outbox.values())


def is_pending(alias: str, version: int, keys: list[str]) -> bool:
    held = _outbox.get((alias, version))
    return held is not None and any(key in held for key in keys)


def replay(alias: str) -> bool:
    """Write new tokens to the held scopes of ``alias``; ``True`` when none is left.
    Scopes a bump wrote meanwhile are written again (a new token only invalidates).
    After a failed attempt the alias is not tried again for :data:`REPLAY_INTERVAL`
    (reads during an outage do not each wait for the backend's timeout)."""
    if time.monotonic() < _next_replay.get(alias, 0.0):
        return not any(held_alias == alias for held_alias, _ in _outbox)
    for (held_alias, version), held in list(_outbox.items()):
        if held_alias != alias:
            continue
        with _outbox_lock:
            scopes = dict(held)
        if not scopes:
            continue
        life = functools.reduce(_longest, scopes.values())
        try:
            set_many(get_cache(alias), dict.fromkeys(scopes, new_token(life)), life, version)
        except Exception:
            _next_replay[alias] = time.monotonic() + REPLAY_INTERVAL
            return False
        _release(alias, version, scopes)
        logger.warning(
            "restflow: replayed the held invalidation of %d scope(s) on cache %r",
            len(scopes), alias,
        )
    return not any(held_alias == alias for held_alias, _ in _outbox)


def _release(alias: str, version: int, written: Iterable[str]) -> None:
    with _outbox_lock:
        held = _outbox.get((alias, version))
        if held is None:
            return
        for scope in written:
            held.pop(scope, None)
        if not held:
            del _outbox[(alias, version)]


def _write(alias: str, version: int, mapping: dict[str, Any], life: int | None) -> None:
    """``set_many`` of a bump, retried after each of :data:`RETRY_DELAYS`; held in the
    outbox (and raised) when it still fails. Held scopes of the alias go first."""
    cache = get_cache(alias)
    for attempt, delay in enumerate((*RETRY_DELAYS, None)):
        try:
            if _outbox and attempt == 0:
                replay(alias)
            set_many(cache, mapping, life, version)
        except Exception:
            if delay is None:
                _hold(alias, version, mapping, life)
                raise
            time.sleep(delay)
        else:
            if _outbox:
                _release(alias, version, mapping)
            return


async def _awrite(alias: str, version: int, mapping: dict[str, Any], life: int | None) -> None:
    cache = get_cache(alias)
    for attempt, delay in enumerate((*RETRY_DELAYS, None)):
        try:
            if _outbox and attempt == 0:
                await sync_to_async(replay, thread_sensitive=True)(alias)
            await aset_many(cache, mapping, life, version)
        except Exception:
            if delay is None:
                _hold(alias, version, mapping, life)
                raise
            await asyncio.sleep(delay)
        else:
            if _outbox:
                _release(alias, version, mapping)
            return


def bump_targets(targets: Iterable[Target]) -> None:
    """Write new tokens to the given scopes: one ``set_many`` per (alias, version).

    Invalidation is not degraded: a backend error propagates so the caller (the rule
    registry, a broker) can log, retry or dead-letter it. It propagates only after every
    other alias was written: one unreachable cache does not keep the others stale.
    """
    targets = list(targets)
    if len(targets) == 1:  # delete_by_prefix / invalidate_all: no grouping to do
        alias, version, scope, life = targets[0]
        _write(alias, version, {scope: new_token(life)}, life)
        return
    failures: list[tuple[str, Exception]] = []
    for (alias, version), (mapping, life) in _group(targets).items():
        try:
            _write(alias, version, mapping, life)
        except Exception as exc:
            failures.append((alias, exc))
    if failures:
        _raise_failures(failures)


async def abump_targets(targets: Iterable[Target]) -> None:
    targets = list(targets)
    if len(targets) == 1:
        alias, version, scope, life = targets[0]
        await _awrite(alias, version, {scope: new_token(life)}, life)
        return
    failures: list[tuple[str, Exception]] = []
    for (alias, version), (mapping, life) in _group(targets).items():
        try:
            await _awrite(alias, version, mapping, life)
        except Exception as exc:
            failures.append((alias, exc))
    if failures:
        _raise_failures(failures)
