"""Injective, memcached-safe rendering of key payloads.

Every scalar is rendered by its string form (so ``1`` and ``"1"`` share a key: a URL kwarg
and a model field mapped by an invalidation rule must meet), with the characters that the
key grammar uses as separators (``: | , % " [ ] { }``), whitespace, control and non-ASCII
characters percent-encoded as UTF-8. Markers that no escaped string can produce stand for
``None`` (``null``; the string ``"null"`` renders ``%6Eull``) and the empty string
(``""``). Nested containers are bracketed, so ``["a"]``, ``"a"`` and ``{"a": ...}`` differ.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from django.db import models

from restflow.caching.hashing import sha256_hex

__all__ = ["MAX_KEY_LENGTH", "canonical", "escape", "render_payload", "safe_key"]

MAX_KEY_LENGTH = 200
"""Longest entry key restflow hands to Django. Django adds ``KEY_PREFIX`` and
``:<version>:``; 50 bytes are left for those so the final key stays within memcached's 250."""

_RESERVED = '%:|,"[]{}'
_SAFE_CHARS = frozenset(chr(c) for c in range(33, 127)) - frozenset(_RESERVED)
_UNSAFE = re.compile("[^" + "".join(re.escape(c) for c in sorted(_SAFE_CHARS)) + "]")
_NOT_PRINTABLE = re.compile(r"[^!-~]")
_HEAD_LENGTH = MAX_KEY_LENGTH - 70


def escape(text: str) -> str:
    """Render one string so that it cannot be confused with key grammar or markers."""
    if not text:
        return '""'
    if text == "null":
        return "%6Eull"
    if _UNSAFE.search(text) is None:
        return text
    out: list[str] = []
    for char in text:
        if char in _SAFE_CHARS:
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
    return "".join(out)


def canonical(value: Any, sort_lists: bool) -> str:
    """Canonical text of ``value`` nested inside a payload."""
    kind = type(value)
    if kind is str:
        return escape(value)
    if kind is int:
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "{" + render_payload(value, sort_lists) + "}"
    if isinstance(value, list | tuple):
        items = [canonical(item, sort_lists) for item in value]
        if sort_lists:
            items.sort()
        return "[" + ",".join(items) + "]"
    if isinstance(value, set | frozenset):
        return "[" + ",".join(sorted(canonical(item, sort_lists) for item in value)) + "]"
    if isinstance(value, datetime.date | datetime.time):
        return escape(value.isoformat())
    if isinstance(value, models.Model):
        return escape(f"{value._meta.label}#{value.pk}")
    return escape(str(value))


def render_payload(payload: Any, sort_lists: bool) -> str:
    """Canonical text of a field's payload: a top-level dict renders without braces."""
    if isinstance(payload, dict):
        if not payload:
            return ""
        entries = [
            f"{canonical(key, sort_lists)}:{canonical(item, sort_lists)}"
            for key, item in payload.items()
        ]
        entries.sort()
        return "||".join(entries)
    return canonical(payload, sort_lists)


def safe_key(key: str) -> str:
    """Return ``key`` if memcached-safe and short enough, else a readable head plus a hash."""
    if len(key) <= MAX_KEY_LENGTH and _NOT_PRINTABLE.search(key) is None:
        return key
    head = _NOT_PRINTABLE.sub("_", key[:_HEAD_LENGTH])
    return f"{head}#{sha256_hex(key)}"
