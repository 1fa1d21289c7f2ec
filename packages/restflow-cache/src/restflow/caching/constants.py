"""Constants shared by restflow's cache wrappers: the call status, the cache-only miss
sentinel, the placeholder of an unresolved path, and the keys of a call's metadata."""

from __future__ import annotations

import enum
from typing import Final

__all__ = [
    "CACHE_MISSING",
    "METADATA_CACHED_AT_KEY",
    "METADATA_CACHE_STATUS",
    "METADATA_RESET_AT_KEY",
    "MISSING_VALUE",
    "CacheStatus",
]


class CacheStatus(enum.StrEnum):
    """How a call resolved: read from the cache, or computed."""

    HIT = "HIT"
    MISS = "MISS"


class _Missing:
    """Type of :data:`CACHE_MISSING`: one instance, compared with ``is``."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<CACHE_MISSING>"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "CACHE_MISSING"


CACHE_MISSING: Final = _Missing()
"""Returned by cache-only lookups on a miss. A cached ``None`` is a hit."""

MISSING_VALUE: Final = "__restflow:missing__"
"""Placeholder a key field emits when a dotted path cannot be resolved."""

METADATA_CACHED_AT_KEY: Final = "cached_at"
METADATA_RESET_AT_KEY: Final = "cache_reset_at"
METADATA_CACHE_STATUS: Final = "cache_status"
"""Keys of the metadata dict (``get_with_metadata``, ``set_response_cache_header``)."""
