"""The opt-in hash-tag layout for clusters (docs/caching.md, Scaling out, Key layout;
``CACHE_SETTINGS.CLUSTER_HASH_TAGS``).

With ``N > 0`` every key restflow reads on a hit starts with ``{rf.<family>.<shard>}``:
the *family* is a digest of the namespace (or of the function without one), the *shard*
(``0 … N-1``) a hash of the first partition part (or of the key without a partition).
An entry and every scope it reads then share a slot. The namespace and function scopes
are kept once per shard: their invalidation target carries the wildcard tag
``{rf.<family>.*}``, which :func:`expand` turns into the ``N`` copies to write.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import zlib
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

__all__ = [
    "count", "entry_tag", "expand", "family", "in_slot_of", "place", "scope_tag", "tag_of", "wildcard",
]

_OPEN = "{rf."
_count: list[int] = []


@receiver(setting_changed)
def _forget(*, setting: str, **kwargs: Any) -> None:
    if setting == "RESTFLOW_SETTINGS":
        _count.clear()


def count() -> int:
    """``CACHE_SETTINGS.CLUSTER_HASH_TAGS`` (``0``: layout off), validated once."""
    if not _count:
        from restflow.settings import restflow_settings

        value = restflow_settings.CACHE_SETTINGS.CLUSTER_HASH_TAGS
        if type(value) is not int or value < 0:
            raise ImproperlyConfigured(
                f"RESTFLOW_SETTINGS['CACHE_SETTINGS']['CLUSTER_HASH_TAGS'] must be an int "
                f">= 0 (0: no hash tags; N: N hash tags per namespace), got {value!r}"
            )
        _count.append(value)
    return _count[0]


@functools.lru_cache(maxsize=4096)
def family(namespace: str, function_prefix: str) -> str:
    """8 characters naming the namespace, or the function when it has no namespace."""
    text = f"ns:{namespace}" if namespace else f"fn:{function_prefix}"
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=6).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


def _shard(text: str, n: int) -> int:
    return zlib.crc32(text.encode("utf-8")) % n


def entry_tag(fam: str, parts: list[str], key: str, n: int) -> str:
    """The tag of an entry: its shard follows the first partition part when any part is
    set (the partition scopes exist then, and must share the entry's slot), else the key."""
    shard_of = parts[0] if any(parts) else key
    return f"{_OPEN}{fam}.{_shard(shard_of, n)}}}"


def scope_tag(fam: str, first_part: str, n: int) -> str:
    """The tag of a partition scope whose first part is ``first_part``."""
    return f"{_OPEN}{fam}.{_shard(first_part, n)}}}"


def wildcard(fam: str) -> str:
    """The tag of a scope held once per shard (namespace, function)."""
    return f"{_OPEN}{fam}.*}}"


def place(scope: str, namespace: str, function_prefix: str, first_part: str | None) -> str:
    """``scope`` as the layout stores it: a partition scope in the slot of its first part,
    a namespace or function scope (``first_part`` None) in every shard; unchanged when
    the layout is off."""
    n = count()
    if not n:
        return scope
    fam = family(namespace, function_prefix)
    if first_part is None:
        return wildcard(fam) + scope
    return scope_tag(fam, first_part, n) + scope


def tag_of(key: str) -> str:
    """The hash tag ``key`` starts with, or ``""``."""
    if not key.startswith(_OPEN):
        return ""
    end = key.find("}")
    return key[: end + 1] if end > 0 else ""


def in_slot_of(key: str, names: list[str]) -> list[str]:
    """``names`` with ``key``'s hash tag in front (CLUSTER_HASH_TAGS: every scope read in
    the entry's slot), or ``names`` as they are when ``key`` has none."""
    tag = tag_of(key)
    return [tag + name for name in names] if tag else names


def expand(scope: str) -> list[str]:
    """The keys to write for ``scope``: its ``N`` copies for a wildcard tag, else itself."""
    tag = tag_of(scope)
    if not tag.endswith(".*}"):
        return [scope]
    head, rest = tag[:-2], scope[len(tag):]
    return [f"{head}{shard}}}{rest}" for shard in range(max(count(), 1))]
