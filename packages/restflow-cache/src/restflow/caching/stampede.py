"""The stampede lock of ``lock=True``: one caller computes a missing entry while the
others wait for it (docs/caching.md, Stampede control).

The lock is a cache key added with ``add`` and a random token; only its holder deletes
it, and it expires after the lock timeout. A backend failure degrades: the caller
computes without the lock.
"""

from __future__ import annotations

import math
import secrets
import time
from typing import Any

from django.core.cache import BaseCache

from restflow.caching.backends import acall, degraded
from restflow.caching.hashing import sha256_hex

__all__ = ["Lock", "lock_key"]

LOCK_PREFIX = "restflow:lock:"
_FIRST_DELAY = 0.002
_LONGEST_DELAY = 0.05


def lock_key(key: str) -> str:
    """The cache key of the lock of entry ``key``."""
    return f"{LOCK_PREFIX}{sha256_hex(key)}"


class Lock:
    """The lock of one entry as one caller takes it or waits for it (with backoff)."""

    __slots__ = ("alias", "cache", "deadline", "delay", "key", "timeout", "token", "version")

    def __init__(
        self, cache: BaseCache, alias: str, entry_key: str, version: int, lock_timeout: float
    ) -> None:
        self.cache = cache
        self.alias = alias
        self.key = lock_key(entry_key)
        self.version = version
        self.token = secrets.token_hex(8)
        self.timeout = max(1, math.ceil(lock_timeout))
        self.deadline = time.monotonic() + lock_timeout
        self.delay = _FIRST_DELAY

    def expired(self) -> bool:
        """Whether this caller has waited ``lock_timeout`` seconds."""
        return time.monotonic() >= self.deadline

    def backoff(self) -> float:
        """Seconds to wait before the next attempt (growing, capped)."""
        delay = self.delay
        self.delay = min(delay * 1.5, _LONGEST_DELAY)
        return delay

    def acquire(self) -> bool | None:
        """``True`` when taken, ``False`` when held by another caller, ``None`` when the
        cache failed."""
        try:
            return bool(self.cache.add(self.key, self.token, timeout=self.timeout, version=self.version))
        except Exception as exc:
            return self._failed(exc)

    def release(self) -> None:
        try:
            if self.cache.get(self.key, version=self.version) == self.token:
                self.cache.delete(self.key, version=self.version)
        except Exception as exc:
            self._failed(exc)

    async def aacquire(self) -> bool | None:
        try:
            added = await acall(
                self.cache, "add", self.key, self.token, timeout=self.timeout, version=self.version
            )
        except Exception as exc:
            return self._failed(exc)
        return bool(added)

    async def arelease(self) -> None:
        try:
            if await acall(self.cache, "get", self.key, version=self.version) == self.token:
                await acall(self.cache, "delete", self.key, version=self.version)
        except Exception as exc:
            self._failed(exc)

    def _failed(self, exc: Exception) -> Any:
        degraded(self.alias, "lock", exc)
        return None
