"""The base class of key fields: a field turns one aspect of a call into a key part
(docs/caching.md, Key fields). Concrete fields are in :mod:`~restflow.caching.key_fields`."""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable
from typing import Any

from restflow.caching._encoding import render_payload
from restflow.caching.constants import MISSING_VALUE
from restflow.caching.hashing import hash_string

__all__ = ["CacheKeyField", "reject_unknown", "selection", "single_name"]

_Func = Callable[..., Any]


def reject_unknown(field: Any, unknown: dict[str, Any]) -> None:
    if unknown:
        names = ", ".join(repr(name) for name in sorted(unknown))
        raise TypeError(f"{type(field).__name__}() got unexpected keyword arguments: {names}")


class CacheKeyField(abc.ABC):
    """Base class of key fields.

    ``partition=True`` moves the part into the key prefix (what ``delete_by_prefix``
    targets); ``hash_value=True`` replaces the part by ``hash_string`` of its canonical
    text; ``sort_lists`` makes list order irrelevant.
    """

    @property
    def user_scoped(self) -> bool:
        """True when the part identifies the requesting user (``cache_response`` needs
        one to cache responses of authenticated requests)."""
        return False

    def __init__(
        self,
        partition: bool = False,
        hash_value: bool = False,
        *,
        sort_lists: bool = True,
        **unknown: Any,
    ) -> None:
        reject_unknown(self, unknown)
        self.partition = bool(partition)
        self.hash_value = bool(hash_value)
        self.sort_lists = bool(sort_lists)

    @abc.abstractmethod
    def get_key_payload(
        self, func: _Func, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        """Return the mapping this field contributes for one call."""

    def stringify(self, value: Any) -> str:
        """Canonical, injective text of ``value`` (hashed when ``hash_value``)."""
        text = render_payload(value, self.sort_lists)
        if self.hash_value and text:
            return hash_string(text)
        return text

    def get_cache_key_part(self, func: _Func, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        return self.stringify(self.get_key_payload(func, args, kwargs))

    def mapped_payload(self, value: Any) -> dict[str, Any] | None:
        """The payload of the calls for which this field reads ``value``, or ``None`` when
        one value cannot say (the field reads several values, or none of the call's).

        This is how an invalidation rule that maps the field by its name (``{"user":
        "author_id"}``) addresses the partition of those calls.
        """
        return None

    @staticmethod
    def _resolve_attr_path(obj: Any, path: str | None) -> Any:
        if not path:
            return obj
        for segment in path.split("."):
            if hasattr(obj, segment):
                obj = getattr(obj, segment)
            elif isinstance(obj, dict) and segment in obj:
                obj = obj[segment]
            else:
                return MISSING_VALUE
        return obj

    @staticmethod
    def _normalize_request(obj: Any) -> Any:
        if obj is None or hasattr(obj, "query_params"):
            return obj
        inner = getattr(obj, "request", None)
        if inner is not None and hasattr(inner, "query_params"):
            return inner
        return obj

    def __repr__(self) -> str:
        return f"<{type(self).__name__} partition={self.partition} hash_value={self.hash_value}>"


def selection(spec: str | Iterable[str]) -> str | tuple[str, ...]:
    """A field's ``"*"``, one name, or a tuple of names (from any iterable of names)."""
    if spec == "*" or isinstance(spec, str):
        return spec
    return tuple(spec)


def single_name(spec: str | tuple[str, ...]) -> str | None:
    """The one name a field's selection holds, or ``None`` (``"*"`` or several names)."""
    if isinstance(spec, str):
        return None if spec == "*" else spec
    return spec[0] if len(spec) == 1 else None
