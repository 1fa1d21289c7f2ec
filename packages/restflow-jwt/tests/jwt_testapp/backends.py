"""Blacklist backends written the way a third party would, against the base class only."""

from __future__ import annotations

from restflow.authentication import BlacklistBackend


class SyncOnly(BlacklistBackend):
    """Implements only the two synchronous methods; the base class bridges the rest."""

    def __init__(self) -> None:
        self.entries: set[str] = set()

    def blacklist(self, jti: str, *, expires_at: int) -> None:
        self.entries.add(jti)

    def is_blacklisted(self, jti: str) -> bool:
        return jti in self.entries
