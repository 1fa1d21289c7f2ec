"""Key fields: each turns one aspect of a call into a deterministic key part (docs/caching.md,
Key fields). This module holds the argument fields and exports every field class; the
request fields are in :mod:`~restflow.caching.request_key_fields`, the structure
fingerprints in :mod:`~restflow.caching.structure_key_fields`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from restflow.caching._binding import bind_flat
from restflow.caching._requests import request_types
from restflow.caching.key_field_base import CacheKeyField, selection, single_name
from restflow.caching.request_key_fields import (
    AcceptedRendererKeyField,
    HostKeyField,
    QueryParamsKeyField,
    RequestValueKeyField,
)
from restflow.caching.structure_key_fields import DjangoModelKeyField, DrfSerializerKeyField

__all__ = [
    "AcceptedRendererKeyField",
    "ArgsKeyField",
    "CacheKeyField",
    "ConstantKeyField",
    "DjangoModelKeyField",
    "DrfSerializerKeyField",
    "HostKeyField",
    "QueryParamsKeyField",
    "RequestValueKeyField",
    "ViewKwargsKeyField",
]

_Func = Callable[..., Any]


class ConstantKeyField(CacheKeyField):
    """A fixed ``{key: str(value)}`` part, e.g. a schema version."""

    def __init__(
        self,
        key: str,
        value: Any,
        *,
        partition: bool = False,
        hash_value: bool = False,
        sort_lists: bool = False,
        **unknown: Any,
    ) -> None:
        super().__init__(partition, hash_value, sort_lists=sort_lists, **unknown)
        self.key = key
        self.value = value
        self._payload = {key: str(value)}

    def get_key_payload(
        self, func: _Func, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        return dict(self._payload)


class ArgsKeyField(CacheKeyField):
    """Arguments of the call, bound to the function's signature with defaults applied."""

    SKIP: frozenset[str] = frozenset()

    def __init__(
        self,
        arguments: str | Iterable[str] = "*",
        path: str | None = None,
        normalizer: Callable[[Any], Any] | None = None,
        *,
        partition: bool = False,
        hash_value: bool = False,
        sort_lists: bool = False,
        **unknown: Any,
    ) -> None:
        super().__init__(partition, hash_value, sort_lists=sort_lists, **unknown)
        self.arguments = selection(arguments)
        self.path = path
        self.normalizer = normalizer

    def get_key_payload(
        self, func: _Func, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        return self.select(bind_flat(func, args, kwargs))

    def select(self, bound: dict[str, Any]) -> dict[str, Any]:
        """Payload from already-bound arguments (shared by the fields of one call)."""
        wanted = self.arguments
        if wanted == "*":
            selected = {k: v for k, v in bound.items() if k not in self.SKIP}
        elif isinstance(wanted, str):
            selected = {wanted: bound[wanted]} if wanted in bound else {}
        else:
            selected = {k: bound[k] for k in wanted if k in bound and k not in self.SKIP}
        if self.path is None and self.normalizer is None:
            return selected
        return {name: self._transform(value) for name, value in selected.items()}

    def mapped_payload(self, value: Any) -> dict[str, Any] | None:
        """For a field of one argument: ``value`` is what it keys (after ``path`` and
        ``normalizer``)."""
        name = single_name(self.arguments)
        return None if name is None else {name: value}

    def _transform(self, value: Any) -> Any:
        value = self._resolve_attr_path(value, self.path)
        if self.normalizer is not None:
            try:
                value = self.normalizer(value)
            except Exception:
                return value
        return value


class ViewKwargsKeyField(ArgsKeyField):
    """Like :class:`ArgsKeyField` but never captures ``self``, ``cls`` or the request
    (a parameter named ``request``, or any argument that is a request, also inside
    ``*args``)."""

    SKIP = frozenset({"self", "cls", "request"})

    def select(self, bound: dict[str, Any]) -> dict[str, Any]:
        types = request_types()
        for value in bound.values():
            if isinstance(value, types) or (
                type(value) is tuple and any(isinstance(item, types) for item in value)
            ):
                return super().select(_without_requests(bound, types))
        return super().select(bound)


def _without_requests(bound: dict[str, Any], types: tuple[type, ...]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for name, value in bound.items():
        if isinstance(value, types):
            continue
        if type(value) is tuple:
            value = tuple(item for item in value if not isinstance(item, types))
            if not value:
                continue  # ``*args`` that held only the request, as if it were empty
        kept[name] = value
    return kept
