"""``hash_string``: the digest used for hashed key parts (docs/settings.md, KEY_HASH_ALGORITHM)."""

from __future__ import annotations

import hashlib

from restflow.settings import restflow_settings

__all__ = ["hash_string", "sha256_hex"]


def hash_string(value: str) -> str:
    """Hash ``value`` with ``CACHE_SETTINGS.KEY_HASH_ALGORITHM`` (read at call time).

    The setting is a :mod:`hashlib` name (``"sha256"``, ``"blake2b"``, ...) or a callable
    taking the string and returning its digest. Unknown names raise hashlib's ``ValueError``.
    """
    algorithm = restflow_settings.CACHE_SETTINGS.KEY_HASH_ALGORITHM
    if callable(algorithm):
        return str(algorithm(value))
    if algorithm == "sha256":
        return hashlib.sha256(value.encode("utf-8")).hexdigest()
    return hashlib.new(algorithm, value.encode("utf-8")).hexdigest()


def sha256_hex(value: str) -> str:
    """Hex SHA-256 of ``value``, independent of settings (used for restflow's own keys)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()
