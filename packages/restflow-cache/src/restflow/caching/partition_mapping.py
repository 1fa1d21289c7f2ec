"""Partition mapping: addressing a key's named partitions with values instead of a call.

An invalidation rule's ``field_mapping`` (and ``delete_by_prefix``) may name a partition
key field of the cached function or view rather than one of its parameters (``user`` for
``user = RequestValueKeyField("user.id", partition=True)``): the field builds its part
from that one value (:meth:`CacheKeyField.mapped_payload`), so a save drops the entries
of exactly that partition.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

__all__ = [
    "UnaddressableKeyField",
    "key_field_values",
    "mapped_partition_parts",
    "named_parameters",
]

_Func = Callable[..., Any]


class UnaddressableKeyField(LookupError):
    """A value was given for a key field whose partition one value cannot address: the
    field is not a partition field, or it reads several values (``"*"``, two names) or
    none of the call's (the host, the format). ``field`` names it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"key field {field!r} {reason}")
        self.field = field
        self.reason = reason


@functools.lru_cache(maxsize=1024)
def _named_parameters(func: _Func) -> frozenset[str]:
    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return frozenset()
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return frozenset(p.name for p in parameters if p.kind not in variadic)


def named_parameters(func: _Func) -> frozenset[str]:
    """Names of ``func``'s parameters other than ``*args`` and ``**kwargs``."""
    try:
        return _named_parameters(func)
    except TypeError:  # unhashable callable
        return _named_parameters.__wrapped__(func)


def key_field_values(fields: dict[str, Any], func: _Func, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The keywords of ``kwargs`` that name key fields rather than parameters of
    ``func``; :class:`UnaddressableKeyField` for a field that is not a partition."""
    if not kwargs or fields.keys().isdisjoint(kwargs):
        return {}
    parameters = named_parameters(func)
    named = {k: v for k, v in kwargs.items() if k in fields and k not in parameters}
    for name in named:
        if not fields[name].partition:
            raise UnaddressableKeyField(name, "is not a partition field (partition=True)")
    return named


def mapped_partition_parts(
    partition_items: list[tuple[str, Any]],
    named: dict[str, Any],
    func: _Func,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> list[str]:
    """The partition parts in attribute-name order, the ``named`` fields built from their
    mapped value and the others from the call."""
    rest = {name: value for name, value in kwargs.items() if name not in named}
    parts: list[str] = []
    for name, field in partition_items:
        if name not in named:
            parts.append(field.get_cache_key_part(func, args, rest))
            continue
        payload = field.mapped_payload(named[name])
        if payload is None:
            raise UnaddressableKeyField(name, "cannot be built from one value")
        parts.append(field.stringify(payload))
    return parts
