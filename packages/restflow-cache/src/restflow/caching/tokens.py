"""Scope tokens: the random values a scope key holds, and how long a scope lives
(docs/caching.md, Storage model and guarantees).

Scope tokens are integers below ``2**63`` carrying their own expiry (``<unix minute> << 36
| <36 random bits>``): Redis stores such a value inline in the key's object, with no
separate allocation. A writer that stores an entry living longer than one of its scopes first
extends that scope with ``touch``, so scopes outlive the entries that depend on them and
still expire (bounded metadata).
"""

from __future__ import annotations

import time
from os import urandom as _urandom

__all__ = ["new_token", "scope_life", "token_expiry"]


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
