"""Key fields: each turns one aspect of a call into a deterministic key part (docs/caching.md,
Key fields)."""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable
from typing import Any

from django.http import HttpRequest

from restflow.caching._binding import bind_flat, parameter_names
from restflow.caching._encoding import render_payload
from restflow.caching._requests import http_request, locate_request, request_types
from restflow.caching.constants import MISSING_VALUE
from restflow.caching.hashing import hash_string

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
IDENTITY_PATHS = frozenset({"user", "user.pk", "user.id"})
"""``RequestValueKeyField`` paths that key by the requesting user's identity (its pk)."""


def _reject_unknown(field: Any, unknown: dict[str, Any]) -> None:
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
        _reject_unknown(self, unknown)
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


def _find_request(
    func: _Func,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    request_arg: str,
    view_self_request_fallback: bool,
) -> Any | None:
    if kwargs and request_arg in kwargs:
        return kwargs[request_arg]
    try:
        names = parameter_names(func) if args else ()
    except (TypeError, ValueError):
        names = ()
    return locate_request(names, args, kwargs, request_arg, view_self_request_fallback)[0]


def _names(spec: str | Iterable[str]) -> str | tuple[str, ...]:
    if spec == "*" or isinstance(spec, str):
        return spec
    return tuple(spec)


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
        self.arguments = _names(arguments)
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


class RequestValueKeyField(CacheKeyField):
    """A value read from the request by dotted path, e.g. ``"user.id"``.

    The identity paths ``"user"``, ``"user.pk"`` and ``"user.id"`` key by the user's
    primary key when the user is authenticated and by a marker no primary key can
    produce otherwise; only they make the field user-scoped. Any other path (say
    ``"user.is_staff"`` or ``"user.username"``) is keyed by the text of its value.
    """

    def __init__(
        self,
        path: str,
        request_arg: str = "request",
        *,
        partition: bool = False,
        hash_value: bool = False,
        sort_lists: bool = False,
        view_self_request_fallback: bool = True,
        **unknown: Any,
    ) -> None:
        super().__init__(partition, hash_value, sort_lists=sort_lists, **unknown)
        self.path = path
        self.request_arg = request_arg
        self.view_self_request_fallback = view_self_request_fallback
        self.name = path.replace(".", "_")

    @property
    def user_scoped(self) -> bool:
        return self.path in IDENTITY_PATHS

    def get_key_payload(
        self, func: _Func, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        request = _find_request(
            func, args, kwargs, self.request_arg, self.view_self_request_fallback
        )
        if not request:
            return {}
        if self.path in IDENTITY_PATHS:
            return {self.name: user_identity(request)}
        return {self.name: str(self._resolve_attr_path(request, self.path))}


def user_identity(request: Any) -> Any:
    """The requesting user's primary key, or ``None`` (rendered as a marker that no
    primary key renders as) when the request has no authenticated user."""
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.pk


class QueryParamsKeyField(CacheKeyField):
    """Query-string parameters of the request (``"*"`` = all of them)."""

    def __init__(
        self,
        params: str | Iterable[str] = "*",
        request_arg: str = "request",
        *,
        partition: bool = False,
        hash_value: bool = False,
        sort_lists: bool = False,
        view_self_request_fallback: bool = True,
        **unknown: Any,
    ) -> None:
        super().__init__(partition, hash_value, sort_lists=sort_lists, **unknown)
        self.params = _names(params)
        self.request_arg = request_arg
        self.view_self_request_fallback = view_self_request_fallback

    def get_key_payload(
        self, func: _Func, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        request = self._normalize_request(
            _find_request(func, args, kwargs, self.request_arg, self.view_self_request_fallback)
        )
        query = getattr(request, "query_params", None) if request is not None else None
        if query is None and isinstance(request, HttpRequest):
            query = request.GET  # a plain Django view: its query string keys the entry too
        if not query:
            return {}
        names: Iterable[str]
        if self.params == "*":
            names = list(query.keys())
        elif isinstance(self.params, str):
            names = [self.params]
        else:
            names = self.params
        getlist = getattr(query, "getlist", None)
        payload: dict[str, Any] = {}
        for name in names:
            if name not in query:
                continue
            if getlist is None:
                payload[name] = query[name]
                continue
            values = getlist(name)
            # Repeated values keep their order: ``request.GET.get`` answers the last one.
            payload[name] = values[0] if len(values) == 1 else list(values)
        return payload


class HostKeyField(CacheKeyField):
    """The scheme and host the request was made to (``request.scheme`` and
    ``request.get_host()``, what ``request.build_absolute_uri()`` uses).

    Part of :class:`~restflow.caching.ResponseCacheKeyConstructor`, so an answer holding
    absolute URLs of one host (or of ``http``) is never served under another (or
    ``https``), as Django's ``cache_page`` keys by the absolute URL.
    """

    def __init__(
        self,
        request_arg: str = "request",
        *,
        partition: bool = False,
        hash_value: bool = False,
        **unknown: Any,
    ) -> None:
        super().__init__(partition, hash_value, sort_lists=False, **unknown)
        self.request_arg = request_arg

    def get_key_payload(
        self, func: _Func, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        request = http_request(_find_request(func, args, kwargs, self.request_arg, True))
        if request is None:
            return {}
        return {"scheme": request.scheme, "host": request.get_host()}


class AcceptedRendererKeyField(CacheKeyField):
    """The format DRF negotiated for the request (renderer format and media type).

    Part of :class:`~restflow.caching.ResponseCacheKeyConstructor`, so a browsable-API
    HTML page is never served to a JSON client and vice versa.
    """

    def __init__(self, request_arg: str = "request", **unknown: Any) -> None:
        super().__init__(False, False, sort_lists=False, **unknown)
        self.request_arg = request_arg

    def get_key_payload(
        self, func: _Func, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        request = self._normalize_request(_find_request(func, args, kwargs, self.request_arg, True))
        renderer = getattr(request, "accepted_renderer", None)
        if renderer is None:
            return {}
        media_type = getattr(request, "accepted_media_type", None) or renderer.media_type
        return {"format": renderer.format, "media_type": media_type}


class DjangoModelKeyField(CacheKeyField):
    """Fingerprint of a model's field names and field classes (hashed)."""

    def __init__(self, model_class: Any) -> None:
        super().__init__(False, True, sort_lists=True)
        self.model_class = model_class
        self._payload: dict[str, Any] | None = None

    def get_key_payload(
        self, func: _Func, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        if self._payload is None:
            self._payload = self._build()
        return self._payload

    def _build(self) -> dict[str, Any]:
        from django.db import models

        model = self.model_class
        if model is None:
            return {}
        if not isinstance(model, type) or not hasattr(model, "_meta"):
            raise ValueError(f"Invalid model class: {model!r}")
        fields = {
            field.name: {"type": type(field).__name__}
            for field in model._meta.get_fields()
            if isinstance(field, models.Field)
        }
        return {
            "model_structure": {
                "name": model.__name__,
                "module": model.__module__,
                "fields": dict(sorted(fields.items())),
            }
        }


def _serializer_structure(serializer_class: Any) -> dict[str, Any]:
    from rest_framework import serializers

    try:
        instance = serializer_class()
    except Exception as exc:
        raise ValueError(
            f"Failed to initialize serializer class {serializer_class!r}: {exc}"
        ) from exc
    fields: dict[str, Any] = {}
    for name, field in sorted(instance.get_fields().items()):
        info: dict[str, Any] = {
            "type": type(field).__name__,
            "module": type(field).__module__,
            "properties": {},
        }
        if isinstance(field, serializers.ListSerializer):
            if isinstance(field.child, serializers.Serializer):
                info["list_child_serializer"] = _serializer_structure(type(field.child))
        elif isinstance(field, serializers.Serializer):
            info["nested_serializer"] = _serializer_structure(type(field))
        fields[name] = info
    return {"name": serializer_class.__name__, "module": serializer_class.__module__, "fields": fields}


class DrfSerializerKeyField(CacheKeyField):
    """Fingerprint of a DRF serializer's fields, recursing into nested serializers (hashed)."""

    def __init__(self, serializer_class: Any) -> None:
        super().__init__(False, True, sort_lists=True)
        self.serializer_class = serializer_class
        self._payload: dict[str, Any] | None = None

    def get_key_payload(
        self, func: _Func, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        if self.serializer_class is None:
            return {}
        if self._payload is None:
            self._payload = {"serializer_structure": _serializer_structure(self.serializer_class)}
        return self._payload
