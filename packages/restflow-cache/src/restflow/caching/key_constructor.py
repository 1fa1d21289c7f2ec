"""Key constructors: declarative classes that build cache keys (docs/caching.md, Keys).

A constructor turns one call into ``<namespace>::<identifier>::<partition>::<suffix>``
from its key fields; invalidation by constructor class (``wipe``, old versions) is in
:mod:`~restflow.caching.wipe`, ``Meta`` in :mod:`~restflow.caching.key_options`."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import Any, ClassVar

from restflow.caching import _hash_tags
from restflow.caching._binding import bind_flat
from restflow.caching._encoding import safe_key
from restflow.caching.hashing import hash_string
from restflow.caching.key_fields import (
    ArgsKeyField,
    CacheKeyField,
    ConstantKeyField,
    DjangoModelKeyField,
    DrfSerializerKeyField,
    ViewKwargsKeyField,
)
from restflow.caching.key_options import KeyOptions
from restflow.caching.partition_mapping import key_field_values, mapped_partition_parts
from restflow.caching.wipe import ConstructorInvalidation

__all__ = [
    "DefaultKeyConstructor",
    "InlineKeyConstructor",
    "KeyConstructor",
    "KeyConstructorMetaClass",
    "KeyOptions",
]

logger = logging.getLogger("restflow.caching.keys")

_Func = Callable[..., Any]


class KeyConstructorMetaClass(type):
    """Collects declared key fields and resolves ``Meta`` into ``_meta``.

    An attribute set to ``None`` removes the field a base class declared by that name
    (``host = None`` drops the default response key's host and scheme).
    """

    def __new__(mcs, name: str, bases: tuple[type, ...], attrs: dict[str, Any]) -> Any:
        declared: dict[str, CacheKeyField] = {}
        for base in reversed(bases):
            declared.update(getattr(base, "_declared_fields", {}))
        for key in [k for k, v in attrs.items() if v is None and k in declared]:
            del declared[key], attrs[key]
        own = {key: value for key, value in attrs.items() if isinstance(value, CacheKeyField)}
        for key in own:
            attrs.pop(key)
        declared.update(own)
        meta = attrs.pop("Meta", None)
        cls: Any = super().__new__(mcs, name, bases, attrs)
        base_options: list[KeyOptions] = [
            options
            for options in (getattr(b, "_meta", None) for b in bases)
            if isinstance(options, KeyOptions)
        ]
        cls._declared_fields = declared
        cls._meta = KeyOptions(meta, base_options)
        cls._truncation_warned = False
        return cls


class KeyConstructor(ConstructorInvalidation, metaclass=KeyConstructorMetaClass):
    """Declare :class:`CacheKeyField` attributes and an optional ``Meta``::

        class OrderListKey(KeyConstructor):
            tenant = ArgsKeyField("tenant_id", partition=True)
            page = ArgsKeyField(["page", "size"])

            class Meta:
                namespace = "orders"
                version = 2

    Keys read ``<namespace>::<identifier>::<partition>::<suffix>``.
    """

    _declared_fields: ClassVar[dict[str, CacheKeyField]]
    _meta: ClassVar[KeyOptions]
    _truncation_warned: ClassVar[bool]

    def __init__(self) -> None:
        self.fields = self.get_fields()
        ordered = sorted(self.fields.items())
        self._partition_fields = [f for _, f in ordered if f.partition]
        self._partition_items = [(name, f) for name, f in ordered if f.partition]
        self._suffix_fields = [f for _, f in ordered if not f.partition]
        self._partition_plan = [(f, _uses_bound(f)) for f in self._partition_fields]
        self._suffix_plan = [(f, _uses_bound(f)) for f in self._suffix_fields]
        self.is_pure = all(type(f) in _PURE_FIELDS and _no_callbacks(f) for _, f in ordered)
        """True when keys depend only on argument values (wrappers may memoize plans)."""
        self.namespace = f"{self._meta.namespace}::" if self._meta.namespace else ""
        self.key_identifier = self._meta.key_identifier

    # -- declaration -----------------------------------------------------------------
    def get_version(self) -> int:
        return int(self._meta.version)

    def get_fields(self) -> dict[str, CacheKeyField]:
        return copy.deepcopy(self._declared_fields)

    @property
    def has_user_scoped_field(self) -> bool:
        return any(field.user_scoped for field in self.fields.values())

    # -- key building ------------------------------------------------------------------
    def partition_parts(
        self, func: _Func, args: tuple[Any, ...] | None, kwargs: dict[str, Any] | None
    ) -> list[str]:
        """Parts of the partition fields in attribute-name order (may contain ``""``).

        A keyword that names a key field and no named parameter of ``func`` gives that
        field's value (``user=5`` for ``user = RequestValueKeyField("user.id",
        partition=True)``): how an invalidation rule maps the key's named partitions.
        :class:`UnaddressableKeyField` is raised when the field cannot address one.
        """
        if args is None and kwargs is None:
            return []
        args = args or ()
        kwargs = kwargs or {}
        named = key_field_values(self.fields, func, kwargs)
        if not named:
            return [f.get_cache_key_part(func, args, kwargs) for f in self._partition_fields]
        return mapped_partition_parts(self._partition_items, named, func, args, kwargs)

    def build_partition(
        self, func: _Func, args: tuple[Any, ...] | None, kwargs: dict[str, Any] | None
    ) -> str:
        return _join(self.partition_parts(func, args, kwargs))

    def function_prefix(self, func: _Func) -> str:
        """``[<namespace>::]<identifier>::`` (the prefix of every key of ``func``)."""
        identifier = self.key_identifier or self.get_function_identifier(func)
        return f"{self.namespace}{identifier}::"

    def build_key_prefix(
        self, func: _Func, args: tuple[Any, ...] | None, kwargs: dict[str, Any] | None
    ) -> str:
        partition = self.build_partition(func, args, kwargs)
        prefix = self.function_prefix(func)
        return f"{prefix}{partition}::" if partition else prefix

    def build_key_suffix(self, func: _Func, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        parts = [f.get_cache_key_part(func, args, kwargs) for f in self._suffix_fields]
        return self._limit_suffix(_join(parts))

    def generate_key(self, func: _Func, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        return self.compose(self.function_prefix(func), func, args, kwargs)[0]

    def compose(
        self, function_prefix: str, func: _Func, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[str, list[str]]:
        """Return ``(key, partition parts)`` for one call; the key is memcached-safe."""
        bound: list[dict[str, Any]] = []
        parts = [_part(f, fast, func, args, kwargs, bound) for f, fast in self._partition_plan]
        partition = _join(parts) if parts else ""
        prefix = f"{function_prefix}{partition}::" if partition else function_prefix
        if self._suffix_plan:
            suffix = _join([_part(f, fast, func, args, kwargs, bound) for f, fast in self._suffix_plan])
            key = safe_key(prefix + self._limit_suffix(suffix))
        else:
            key = safe_key(prefix)
        tags = _hash_tags.count()
        if tags:  # CLUSTER_HASH_TAGS: the entry's slot (docs/caching.md, Key layout)
            family = _hash_tags.family(self._meta.namespace, function_prefix)
            key = _hash_tags.entry_tag(family, parts, key, tags) + key
        return key, parts

    def _limit_suffix(self, suffix: str) -> str:
        limit = self._meta.max_key_suffix_length
        if len(suffix) <= limit:
            return suffix
        if self._meta.hash_suffix_on_overflow:
            return hash_string(suffix)
        cls = type(self)
        if not cls._truncation_warned:
            cls._truncation_warned = True
            logger.warning(
                "Key constructor %s.%s truncates key suffixes longer than %d characters; "
                "calls that differ only after that point share one cache entry. "
                "Set HASH_SUFFIX_ON_OVERFLOW (or Meta.hash_suffix_on_overflow) to True.",
                cls.__module__,
                cls.__qualname__,
                limit,
            )
        return suffix[:limit]

    @staticmethod
    def get_function_identifier(func: _Func) -> str:
        owner = getattr(func, "__self__", None)
        if owner is not None:
            cls = owner if isinstance(owner, type) else type(owner)
            return f"{cls.__module__}.{cls.__name__}.{func.__name__}"
        qualname = getattr(func, "__qualname__", "")
        if "." in qualname:
            return f"{func.__module__}.{qualname}"
        return f"{func.__module__}.{func.__name__}"


_PURE_FIELDS = frozenset(
    {ArgsKeyField, ViewKwargsKeyField, ConstantKeyField, DjangoModelKeyField, DrfSerializerKeyField}
)


def _no_callbacks(field: CacheKeyField) -> bool:
    return getattr(field, "normalizer", None) is None


def _uses_bound(field: CacheKeyField) -> bool:
    kind = type(field)
    return (
        isinstance(field, ArgsKeyField)
        and kind.get_key_payload is ArgsKeyField.get_key_payload
        and kind.get_cache_key_part is CacheKeyField.get_cache_key_part
    )


def _part(
    field: Any,
    fast: bool,
    func: _Func,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    bound: list[dict[str, Any]],
) -> str:
    if not fast:
        return str(field.get_cache_key_part(func, args, kwargs))
    if not bound:
        bound.append(bind_flat(func, args, kwargs))
    return str(field.stringify(field.select(bound[0])))


def _join(parts: list[str]) -> str:
    joined = "::".join(parts)
    while joined.endswith("::"):
        joined = joined[:-2]
    return joined


class DefaultKeyConstructor(KeyConstructor):
    """Keys by every argument of the call (including ``self`` on methods)."""

    arguments = ArgsKeyField("*")


class InlineKeyConstructor:
    """Build (and memoize) a :class:`KeyConstructor` subclass from a dict of fields."""

    _cache: ClassVar[dict[tuple[Any, ...], type[KeyConstructor]]] = {}

    def __new__(  # type: ignore[misc]
        cls,
        fields: dict[str, CacheKeyField],
        version: int | str = "1",
        max_key_suffix_length: int | None = None,
        hash_suffix_on_overflow: bool | None = None,
        namespace: str = "",
        key_identifier: str = "",
    ) -> type[KeyConstructor]:
        memo = (
            tuple(sorted((name, id(field)) for name, field in fields.items())),
            version,
            max_key_suffix_length,
            hash_suffix_on_overflow,
            namespace,
            key_identifier,
        )
        found = cls._cache.get(memo)
        if found is not None:
            return found
        meta = type(
            "Meta",
            (),
            {
                "version": version,
                "max_key_suffix_length": max_key_suffix_length,
                "hash_suffix_on_overflow": hash_suffix_on_overflow,
                "namespace": namespace,
                "key_identifier": key_identifier,
            },
        )
        attrs: dict[str, Any] = dict(fields)
        attrs["Meta"] = meta
        attrs["__module__"] = __name__
        attrs["_inline_fields"] = dict(fields)  # keeps the field objects (and their ids) alive
        built = KeyConstructorMetaClass("InlineKeyConstructor", (KeyConstructor,), attrs)
        cls._cache[memo] = built
        return built
