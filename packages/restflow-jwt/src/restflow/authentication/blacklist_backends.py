"""Blacklist backends (revoked token ids): the interface, the cache and model backends, the facade.

The public import path of the blacklist; each concept lives in its own module:
``blacklist_records`` (record ids), ``blacklist_base`` (the interface),
``blacklist_cache`` and ``blacklist_model`` (the two backends), ``token_blacklist``
(the configured backend and the facade).
"""

from __future__ import annotations

from restflow.authentication.blacklist_base import BlacklistBackend
from restflow.authentication.blacklist_cache import (
    EVICTION_FIX,
    CacheBlacklistBackend,
    eviction_problem,
)
from restflow.authentication.blacklist_model import (
    ModelBlacklistBackend,
    get_blacklisted_token_model,
)
from restflow.authentication.blacklist_records import (
    family_record_id,
    lookup_ids,
    retention_deadline,
    user_record_id,
)
from restflow.authentication.token_blacklist import (
    TokenBlacklist,
    get_token_blacklist_backend,
    resolve_token_blacklist_backend,
)

__all__ = [
    "EVICTION_FIX",
    "BlacklistBackend",
    "CacheBlacklistBackend",
    "ModelBlacklistBackend",
    "TokenBlacklist",
    "eviction_problem",
    "family_record_id",
    "get_blacklisted_token_model",
    "get_token_blacklist_backend",
    "lookup_ids",
    "resolve_token_blacklist_backend",
    "retention_deadline",
    "user_record_id",
]
