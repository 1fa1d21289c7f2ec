"""The interface of blacklist backends (:class:`BlacklistBackend`), with the bridges
between its sync and async halves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async

__all__ = ["BlacklistBackend"]


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

