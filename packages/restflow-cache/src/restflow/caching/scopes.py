"""Scopes: the names and bumps that invalidate entries (docs/caching.md, Storage
model and guarantees).

Every entry belongs to a fixed list of *scopes* (namespace, function, partition levels,
key). A scope is a small cache key holding a random token; an entry records the tokens
of its scopes when its computation starts (see :mod:`~restflow.caching.envelope`) and is
valid only while every scope still holds them. Invalidating a namespace, a function, a
partition or one key is therefore a single write of new tokens (a *bump*), whatever the
number of entries, on every Django backend.

Tokens are :mod:`~restflow.caching.tokens`; a bump that fails is retried, then held for
replay by :mod:`~restflow.caching.outbox`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import time
from collections.abc import Iterable

from restflow.caching._hash_tags import expand
from restflow.caching.hashing import sha256_hex
from restflow.caching.outbox import awrite, write
from restflow.caching.tokens import new_token

__all__ = [
    "FAILED_ALIASES",
    "KEY_SCOPE_PREFIX",
    "SCOPE_PREFIX",
    "Groups",
    "Target",
    "abump_targets",
    "addressed_parts",
    "bump_groups",
    "bump_targets",
    "function_scope",
    "group_targets",
    "key_scope",
    "namespace_scope",
    "partition_scope",
    "partition_scopes",
]

SCOPE_PREFIX = "restflow:gen:"

Target = tuple[str, int, str, int | None]
"""``(cache alias, Django version, scope key, scope life)`` of one scope to bump."""


# -- names -----------------------------------------------------------------------------
def namespace_scope(namespace: str) -> str:
    return f"{SCOPE_PREFIX}ns:{sha256_hex(namespace)}"


def function_scope(function_prefix: str) -> str:
    return f"{SCOPE_PREFIX}fn:{sha256_hex(function_prefix)}"


# Scope names embed short, memcached-safe texts as they are (saving a hash per call) and
# a SHA-256 of longer ones. Entry keys always contain "::", so a raw text never looks
# like a 64-digit hex digest: the two forms cannot collide.
_RAW_SCOPE_LIMIT = 150
_UNSAFE_TEXT = re.compile(r"[^!-~]")


def _scope_name(kind: str, text: str) -> str:
    if len(text) <= _RAW_SCOPE_LIMIT and _UNSAFE_TEXT.search(text) is None:
        return f"{SCOPE_PREFIX}{kind}:{text}"
    return f"{SCOPE_PREFIX}{kind}:{sha256_hex(text)}"


def addressed_parts(parts: list[str]) -> list[str]:
    """``parts`` up to the last non-empty one: the partition levels a call addresses."""
    last = len(parts)
    while last and not parts[last - 1]:
        last -= 1
    return parts[:last]


def partition_scope(function_prefix: str, parts: Iterable[str]) -> str:
    return _scope_name("pt", function_prefix + "".join(part + "::" for part in parts))


def partition_scopes(function_prefix: str, parts: list[str]) -> list[str]:
    """Scope keys of partition levels ``1 … m`` (``m`` = last non-empty part)."""
    scopes: list[str] = []
    text = function_prefix
    for part in addressed_parts(parts):
        text += part + "::"
        scopes.append(_scope_name("pt", text))
    return scopes


# Every entry owns a key scope, so its name is kept short and fixed-size whatever the
# entry key: a 96-bit BLAKE2b digest, base64url. Two keys sharing a digest would only make
# ``delete_cache`` of one also invalidate the other (an extra miss, never a stale hit).
KEY_SCOPE_PREFIX = "restflow:k:"


@functools.lru_cache(maxsize=8192)
def key_scope(key: str) -> str:
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=12).digest()
    return KEY_SCOPE_PREFIX + base64.urlsafe_b64encode(digest).decode("ascii")


# -- bumps ---------------------------------------------------------------------------
Groups = list[tuple[str, int, list[str], int | None]]
"""Scopes to bump per ``(alias, version)`` with the longest life of each group."""


def group_targets(targets: Iterable[Target]) -> Groups:
    """``targets`` per ``(alias, version)``: a bump writes each group with one
    ``set_many``. Kept by callers that bump the same scopes again (``_worker``)."""
    scopes: dict[tuple[str, int], tuple[list[str], set[int | None]]] = {}
    for alias, version, scope, life in targets:
        names = expand(scope)  # a scope held once per hash-tag shard: every copy
        group = scopes.get((alias, version))
        if group is None:
            scopes[(alias, version)] = (names, {life})
        else:
            group[0].extend(names)
            group[1].add(life)
    return [
        (alias, version, names, None if None in lives else max(x for x in lives if x is not None))
        for (alias, version), (names, lives) in scopes.items()
    ]


FAILED_ALIASES = "restflow_failed_aliases"
"""Attribute of an error raised by a bump: the cache aliases that could not be written."""


def _raise_failures(failures: list[tuple[str, Exception]]) -> None:
    """Raise the first error of a bump that wrote every other alias, naming the failed ones.

    The error keeps its type (so a broker's retry settings for it still apply); a note
    and the :data:`FAILED_ALIASES` attribute name every alias that failed.
    """
    error = failures[0][1]
    aliases = tuple(dict.fromkeys(alias for alias, _ in failures))
    details = "; ".join(f"{alias!r} ({type(exc).__name__}: {exc})" for alias, exc in failures)
    error.add_note(
        f"restflow could not invalidate on cache alias(es) {details}; "
        "every other alias of this invalidation was written; the failed scopes are held "
        "for replay by the next read or write on their alias"
    )
    setattr(error, FAILED_ALIASES, aliases)
    raise error


def bump_targets(targets: Iterable[Target]) -> None:
    """Write new tokens to the given scopes: one ``set_many`` per (alias, version).

    Invalidation is not degraded: a backend error propagates so the caller (the rule
    registry, a broker) can log, retry or dead-letter it. It propagates only after every
    other alias was written: one unreachable cache does not keep the others stale.
    """
    targets = list(targets)
    if len(targets) == 1:  # delete_by_prefix / invalidate_all: no grouping to do
        alias, version, scope, life = targets[0]
        write(alias, version, dict.fromkeys(expand(scope), new_token(life)), life)
        return
    bump_groups(group_targets(targets))


def bump_groups(groups: Groups) -> None:
    """:func:`bump_targets` of scopes grouped by :func:`group_targets`.

    The scopes of one group get the same new token: a token is only ever compared with
    the stamps of its own scope, so one fresh token per write is as good as one per
    scope (and costs one draw of random bits instead of one per scope).
    """
    failures: list[tuple[str, Exception]] = []
    now = time.time()
    for alias, version, names, life in groups:
        try:
            write(alias, version, dict.fromkeys(names, new_token(life, now)), life)
        except Exception as exc:
            failures.append((alias, exc))
    if failures:
        _raise_failures(failures)


async def abump_targets(targets: Iterable[Target]) -> None:
    targets = list(targets)
    if len(targets) == 1:
        alias, version, scope, life = targets[0]
        await awrite(alias, version, dict.fromkeys(expand(scope), new_token(life)), life)
        return
    failures: list[tuple[str, Exception]] = []
    now = time.time()
    for alias, version, names, life in group_targets(targets):
        try:
            await awrite(alias, version, dict.fromkeys(names, new_token(life, now)), life)
        except Exception as exc:
            failures.append((alias, exc))
    if failures:
        _raise_failures(failures)
