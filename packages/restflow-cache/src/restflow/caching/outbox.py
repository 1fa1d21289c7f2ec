"""The outbox: failed bumps get a bounded retry, then are held until they can be replayed
(docs/caching.md, Scaling out).

A bump (a write of new scope tokens, :mod:`~restflow.caching.scopes`) that fails is
retried after each of :data:`RETRY_DELAYS` (bounded: about 0.3 s plus the backend's own
timeouts), then held here, per process, until a write or a read on its alias replays it.
While a scope has a held bump, reads that need it are misses (see
:mod:`~restflow.caching.envelope`): its entries are never served stale by this process.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

from asgiref.sync import sync_to_async
from django.core.signals import setting_changed
from django.dispatch import receiver

from restflow.caching import _replication
from restflow.caching.backends import aset_many, get_cache, set_many
from restflow.caching.tokens import new_token

__all__ = [
    "OUTBOX_LIMIT",
    "REPLAY_INTERVAL",
    "RETRY_DELAYS",
    "awrite",
    "held_bumps",
    "is_pending",
    "pending_count",
    "replay",
    "write",
]

RETRY_DELAYS = (0.05, 0.25)
REPLAY_INTERVAL = 1.0  # seconds between two replay attempts on one alias
OUTBOX_LIMIT = 10_000  # held scopes per process; beyond, a bump is logged and dropped
# (alias, version) -> {scope: life}; envelope reads test its truth first (empty: no cost)
held_bumps: dict[tuple[str, int], dict[str, int | None]] = {}
_next_replay: dict[str, float] = {}
_lock = threading.Lock()
logger = logging.getLogger("restflow.caching.storage")


@receiver(setting_changed)
def _forget_held(*, setting: str, **kwargs: Any) -> None:
    """Held bumps name caches of the old ``CACHES`` (tests that replace it)."""
    if setting == "CACHES":
        with _lock:
            held_bumps.clear()
            _next_replay.clear()


def _longest(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else max(a, b)


def _hold(alias: str, version: int, mapping: dict[str, Any], life: int | None) -> None:
    with _lock:
        held = held_bumps.setdefault((alias, version), {})
        room = OUTBOX_LIMIT - sum(len(v) for v in held_bumps.values())
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
            del held_bumps[(alias, version)]
    logger.warning(
        "restflow: invalidation of %d scope(s) on cache %r failed after %d retries; held "
        "for replay (%d scope(s) held)", len(mapping), alias, len(RETRY_DELAYS), pending_count(),
    )


def pending_count() -> int:
    """How many scopes have a failed invalidation held for replay in this process."""
    return sum(len(held) for held in held_bumps.values())


def is_pending(alias: str, version: int, keys: list[str]) -> bool:
    held = held_bumps.get((alias, version))
    return held is not None and any(key in held for key in keys)


def replay(alias: str) -> bool:
    """Write new tokens to the held scopes of ``alias``; ``True`` when none is left.
    Scopes a bump wrote meanwhile are written again (a new token only invalidates).
    After a failed attempt the alias is not tried again for :data:`REPLAY_INTERVAL`
    (reads during an outage do not each wait for the backend's timeout)."""
    if time.monotonic() < _next_replay.get(alias, 0.0):
        return not any(held_alias == alias for held_alias, _ in held_bumps)
    for (held_alias, version), held in list(held_bumps.items()):
        if held_alias != alias:
            continue
        with _lock:
            scopes = dict(held)
        if not scopes:
            continue
        life = functools.reduce(_longest, scopes.values())
        try:
            set_many(
                get_cache(alias), dict.fromkeys(scopes, new_token(life)), life, version, True
            )
        except Exception:
            _next_replay[alias] = time.monotonic() + REPLAY_INTERVAL
            return False
        _release(alias, version, scopes)
        logger.warning(
            "restflow: replayed the held invalidation of %d scope(s) on cache %r",
            len(scopes), alias,
        )
    return not any(held_alias == alias for held_alias, _ in held_bumps)


def _release(alias: str, version: int, written: Iterable[str]) -> None:
    with _lock:
        held = held_bumps.get((alias, version))
        if held is None:
            return
        for scope in written:
            held.pop(scope, None)
        if not held:
            del held_bumps[(alias, version)]


def write(alias: str, version: int, mapping: dict[str, Any], life: int | None) -> None:
    """``set_many`` of a bump, retried after each of :data:`RETRY_DELAYS`; held in the
    outbox (and raised) when it still fails. Held scopes of the alias go first. On
    Redis, ``CLUSTER_WAIT_REPLICAS`` makes too few replica acknowledgements a failure."""
    _replication.wanted()  # a bad setting raises here, whatever the backend
    cache = get_cache(alias)
    for attempt, delay in enumerate((*RETRY_DELAYS, None)):
        try:
            if held_bumps and attempt == 0:
                replay(alias)
            set_many(cache, mapping, life, version, True)
        except Exception:
            if delay is None:
                _hold(alias, version, mapping, life)
                raise
            time.sleep(delay)
        else:
            if held_bumps:
                _release(alias, version, mapping)
            return


async def awrite(alias: str, version: int, mapping: dict[str, Any], life: int | None) -> None:
    _replication.wanted()
    cache = get_cache(alias)
    for attempt, delay in enumerate((*RETRY_DELAYS, None)):
        try:
            if held_bumps and attempt == 0:
                await sync_to_async(replay, thread_sensitive=True)(alias)
            await aset_many(cache, mapping, life, version, True)
        except Exception:
            if delay is None:
                _hold(alias, version, mapping, life)
                raise
            await asyncio.sleep(delay)
        else:
            if held_bumps:
                _release(alias, version, mapping)
            return
