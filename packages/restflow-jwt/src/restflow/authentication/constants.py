"""Constants of restflow's JWT implementation (token types, algorithms, limits)."""

from __future__ import annotations

__all__ = [
    "ACCESS_TOKEN_JOSE_TYPE",
    "ACCESS_TOKEN_PROFILES",
    "ACCESS_TOKEN_TYPE",
    "ALLOWED_ALGORITHMS",
    "ASYMMETRIC_ALGORITHMS",
    "BLACKLIST_CACHE_PREFIX",
    "EVICTING_CACHE_BACKENDS",
    "FORBIDDEN_JOSE_HEADERS",
    "HMAC_ALGORITHMS",
    "HMAC_MIN_KEY_BYTES",
    "LOCAL_CACHE_BACKEND_PATHS",
    "MAX_TOKEN_LENGTH",
    "MIN_RSA_KEY_BITS",
    "REFRESH_TOKEN_JOSE_TYPE",
    "REFRESH_TOKEN_TYPE",
    "RFC9068_PROFILE",
]

ACCESS_TOKEN_TYPE = "access"  # noqa: S105
REFRESH_TOKEN_TYPE = "refresh"  # noqa: S105

#: JOSE ``typ`` header of each token type (RFC 9068 names access tokens ``at+jwt``).
ACCESS_TOKEN_JOSE_TYPE = "at+jwt"  # noqa: S105
REFRESH_TOKEN_JOSE_TYPE = "rt+jwt"  # noqa: S105

#: ``ACCESS_TOKEN_PROFILE`` values: restflow's own claims, or RFC 9068's (adds ``sub`` and
#: ``client_id``; requires ``iss``, ``aud``, ``sub``, ``client_id`` in access tokens).
RFC9068_PROFILE = "rfc9068"
ACCESS_TOKEN_PROFILES = ("restflow", RFC9068_PROFILE)

BLACKLIST_CACHE_PREFIX = "restflow:jwt:bl:"

HMAC_ALGORITHMS = ("HS256", "HS384", "HS512")
ASYMMETRIC_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES256K",
    "ES384",
    "ES512",
    "EdDSA",
)
ALLOWED_ALGORITHMS = HMAC_ALGORITHMS + ASYMMETRIC_ALGORITHMS

#: Caches the cache blacklist accepts only with ``BLACKLIST_ALLOW_LOCMEM`` (tests, one process).
LOCAL_CACHE_BACKEND_PATHS = ("django.core.cache.backends.locmem.LocMemCache",)

_CULLS = "it culls a third of its entries whenever it holds MAX_ENTRIES (300 by default)"
_EVICTS = "memcached evicts the least recently used entries when its memory is full"

#: Caches the cache blacklist refuses (subclasses included), with the reason: they drop
#: entries before the token expires or store none, and a dropped entry is a revoked
#: token that works again.
EVICTING_CACHE_BACKENDS = {
    "django.core.cache.backends.db.DatabaseCache": _CULLS,
    "django.core.cache.backends.filebased.FileBasedCache": _CULLS,
    "django.core.cache.backends.memcached.PyMemcacheCache": _EVICTS,
    "django.core.cache.backends.memcached.PyLibMCCache": _EVICTS,
    "django.core.cache.backends.dummy.DummyCache": "it stores nothing",
}

#: Tokens longer than this (characters) are rejected before any parsing or key work.
MAX_TOKEN_LENGTH = 8192

#: JOSE header parameters that would let a token pick its own key or key source.
FORBIDDEN_JOSE_HEADERS = frozenset({"jku", "jwk", "x5u", "x5c"})

#: Shortest acceptable HMAC secret per algorithm: the length of the hash output.
HMAC_MIN_KEY_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}

MIN_RSA_KEY_BITS = 2048
