"""Key fields read from the request of a view call: a value by dotted path (the user's
identity), the query string, the scheme and host, the negotiated renderer."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.http import HttpRequest

from restflow.caching._binding import parameter_names
from restflow.caching._requests import http_request, locate_request
from restflow.caching.key_field_base import CacheKeyField, reject_unknown, selection, single_name

__all__ = [
    "AcceptedRendererKeyField",
    "HostKeyField",
    "QueryParamsKeyField",
    "RequestValueKeyField",
    "user_identity",
]

_Func = Callable[..., Any]
IDENTITY_PATHS = frozenset({"user", "user.pk", "user.id"})
"""``RequestValueKeyField`` paths that key by the requesting user's identity (its pk)."""


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


class _RequestField(CacheKeyField):
    """A field read from the call's request: the argument named ``request_arg``, else the
    first argument that is a request, else ``self.request`` (``view_self_request_fallback``)."""

    def __init__(
        self,
        request_arg: str = "request",
        *,
        partition: bool = False,
        hash_value: bool = False,
        sort_lists: bool = False,
        view_self_request_fallback: bool = True,
        **unknown: Any,
    ) -> None:
        super().__init__(partition, hash_value, sort_lists=sort_lists, **unknown)
        self.request_arg = request_arg
        self.view_self_request_fallback = view_self_request_fallback

    def _request(self, func: _Func, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return _find_request(func, args, kwargs, self.request_arg, self.view_self_request_fallback)


class RequestValueKeyField(_RequestField):
    """A value read from the request by dotted path, e.g. ``"user.id"``.

    The identity paths ``"user"``, ``"user.pk"`` and ``"user.id"`` key by the user's
    primary key when the user is authenticated and by a marker no primary key can
    produce otherwise; only they make the field user-scoped. Any other path (say
    ``"user.is_staff"`` or ``"user.username"``) is keyed by the text of its value.
    """

    def __init__(self, path: str, request_arg: str = "request", **options: Any) -> None:
        """``options``: ``partition``, ``hash_value``, ``sort_lists`` (default ``False``),
        ``view_self_request_fallback`` (default ``True``)."""
        super().__init__(request_arg, **options)
        self.path = path
        self.name = path.replace(".", "_")

    @property
    def user_scoped(self) -> bool:
        return self.path in IDENTITY_PATHS

    def get_key_payload(
        self, func: _Func, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        request = self._request(func, args, kwargs)
        if not request:
            return {}
        if self.path in IDENTITY_PATHS:
            return {self.name: user_identity(request)}
        return {self.name: str(self._resolve_attr_path(request, self.path))}

    def mapped_payload(self, value: Any) -> dict[str, Any]:
        """``value`` is the user's primary key for the identity paths (``None``: an
        anonymous request), else the value at ``path``."""
        if self.path in IDENTITY_PATHS:
            return {self.name: value}
        return {self.name: str(value)}


def user_identity(request: Any) -> Any:
    """The requesting user's primary key, or ``None`` (rendered as a marker that no
    primary key renders as) when the request has no authenticated user."""
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.pk


class QueryParamsKeyField(_RequestField):
    """Query-string parameters of the request (``"*"`` = all of them)."""

    def __init__(
        self, params: str | Iterable[str] = "*", request_arg: str = "request", **options: Any
    ) -> None:
        """``options`` as :class:`RequestValueKeyField`'s."""
        super().__init__(request_arg, **options)
        self.params = selection(params)

    def get_key_payload(
        self, func: _Func, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        request = self._normalize_request(self._request(func, args, kwargs))
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

    def mapped_payload(self, value: Any) -> dict[str, Any] | None:
        """For a field of one parameter: ``value`` is its value (``None``: absent; a list:
        the repeated values in order)."""
        name = single_name(self.params)
        if name is None:
            return None
        if value is None:
            return {}
        return {name: list(value) if isinstance(value, list | tuple) else value}


class HostKeyField(_RequestField):
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
        reject_unknown(self, unknown)
        super().__init__(request_arg, partition=partition, hash_value=hash_value)

    def get_key_payload(
        self, func: _Func, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        request = http_request(self._request(func, args, kwargs))
        if request is None:
            return {}
        return {"scheme": request.scheme, "host": request.get_host()}


class AcceptedRendererKeyField(_RequestField):
    """The format DRF negotiated for the request (renderer format and media type).

    Part of :class:`~restflow.caching.ResponseCacheKeyConstructor`, so a browsable-API
    HTML page is never served to a JSON client and vice versa.
    """

    def __init__(self, request_arg: str = "request", **unknown: Any) -> None:
        reject_unknown(self, unknown)
        super().__init__(request_arg)

    def get_key_payload(
        self, func: _Func, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        request = self._normalize_request(self._request(func, args, kwargs))
        renderer = getattr(request, "accepted_renderer", None)
        if renderer is None:
            return {}
        media_type = getattr(request, "accepted_media_type", None) or renderer.media_type
        return {"format": renderer.format, "media_type": media_type}
