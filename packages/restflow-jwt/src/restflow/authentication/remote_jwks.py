"""Verify-only mode: the issuer's public keys fetched from ``JWKS_URL`` and cached.

The key set is fetched with PyJWT's :class:`jwt.PyJWKClient` (its own cache off) and
parsed by :class:`jwt.PyJWKSet`; this module adds the policy around it:

- a fetched set is used for ``JWKS_CACHE_LIFETIME``;
- an unknown ``kid`` triggers a re-fetch at most once per ``JWKS_MIN_REFRESH_INTERVAL``
  (a flood of forged kids costs one fetch per interval, not one per request);
- a failed fetch keeps the cached set until it expires; after that every token is
  refused with 503 (fail closed) and the next attempt waits for the same interval;
- under ``aauthenticate`` a due fetch runs in a worker thread (:meth:`RemoteKeySet.aprepare`);
- only asymmetric keys with a ``kid`` are taken: a shared secret in a JWKS is ignored,
  and so is an RSA key under 2048 bits.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import jwt

from restflow.authentication.constants import ASYMMETRIC_ALGORITHMS, MIN_RSA_KEY_BITS
from restflow.authentication.exceptions import KeySetUnavailableError
from restflow.authentication.keyring import ACTIVE, RingKey
from restflow.log import log_throttled

__all__ = ["RemoteKeySet"]

logger = logging.getLogger("restflow.authentication")


def _usable(jwk: Any) -> bool:
    return (
        isinstance(jwk, dict)
        and jwk.get("kty") != "oct"
        and isinstance(jwk.get("kid"), str)
        and jwk.get("use", "sig") == "sig"
        and jwk.get("alg", "RS256") in ASYMMETRIC_ALGORITHMS
        and "d" not in jwk  # a private key published by mistake is not trusted either
    )


class RemoteKeySet:
    """``find(kid)``: the key of the issuer's JWKS with that ``kid``, or ``None``."""

    def __init__(
        self, url: str, *, cache_lifetime: float, min_refresh_interval: float, timeout: float
    ) -> None:
        self.url = url
        self._client = jwt.PyJWKClient(url, cache_jwk_set=False, timeout=timeout)
        self._cache_lifetime = cache_lifetime
        self._min_interval = min_refresh_interval
        self._keys: dict[Any, RingKey] = {}
        self._expires_at = -math.inf  # clock() values
        self._last_attempt = -math.inf
        self._lock = threading.Lock()
        #: Monotonic seconds; replaceable so tests can move time without sleeping.
        self.clock: Callable[[], float] = time.monotonic

    def find(self, kid: Any) -> RingKey | None:
        now = self.clock()
        if now < self._expires_at:
            key = self._keys.get(kid)
            if key is not None or now - self._last_attempt < self._min_interval:
                return key
        return self._refresh(kid)

    def fetch_due(self, kid: Any) -> bool:
        """Whether ``find(kid)`` would fetch (or wait for a fetch) now."""
        now = self.clock()
        if now >= self._expires_at:
            return True
        return kid not in self._keys and now - self._last_attempt >= self._min_interval

    async def aprepare(self, kid: Any) -> None:
        """Run a due fetch in a worker thread, so the event loop is not blocked by it."""
        if isinstance(kid, str | None) and self.fetch_due(kid):
            await asyncio.to_thread(self.find, kid)

    def _refresh(self, kid: Any) -> RingKey | None:
        with self._lock:  # one fetch at a time; the others then read its result
            now = self.clock()
            if now - self._last_attempt >= self._min_interval:
                self._last_attempt = now
                try:
                    self._keys = self._fetch()
                    self._expires_at = now + self._cache_lifetime
                except KeySetUnavailableError as exc:
                    log_throttled(
                        logger,
                        "jwks-unavailable",
                        "JWKS_URL %s could not be fetched: %s",
                        self.url,
                        exc,
                        level=logging.ERROR,
                    )
                    if not now < self._expires_at:
                        raise
            elif not now < self._expires_at:
                raise KeySetUnavailableError(
                    f"JWKS_URL {self.url} failed less than JWKS_MIN_REFRESH_INTERVAL ago."
                )
            return self._keys.get(kid)

    def _fetch(self) -> dict[Any, RingKey]:
        try:
            data = self._client.fetch_data()
            members = data.get("keys")
            jwk_set = jwt.PyJWKSet([jwk for jwk in members if _usable(jwk)])
        except (jwt.PyJWTError, ValueError, TypeError, AttributeError) as exc:
            raise KeySetUnavailableError(f"{type(exc).__name__}: {exc}") from exc
        keys: dict[Any, RingKey] = {}
        for jwk in jwk_set:
            if jwk.key_type == "RSA" and jwk.key.key_size < MIN_RSA_KEY_BITS:
                continue  # an RSA key too short to trust (as the system checks refuse locally)
            if jwk.algorithm_name in ASYMMETRIC_ALGORITHMS and jwk.key_id is not None:
                keys[jwk.key_id] = RingKey(
                    kid=jwk.key_id, algorithm=jwk.algorithm_name, state=ACTIVE, verifying_key=jwk.key
                )
        return keys
