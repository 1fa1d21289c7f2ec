"""The default key of ``cache_response`` and the memo of its plans.

:class:`ResponseCacheKeyConstructor` keys a response by the URL kwargs (partition), the
whole query string (hashed), the negotiated renderer and the request's scheme and host. A
constructor that leaves out the renderer gets it added (:func:`with_format`): a browsable
API page is never served to a JSON client. When a view uses exactly the default fields,
its plans are memoized on the request values those fields read
(:func:`response_memo_key`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from restflow.caching._binding import parameter_names
from restflow.caching._requests import proxied
from restflow.caching.key_constructor import KeyConstructor, KeyConstructorMetaClass
from restflow.caching.key_fields import (
    AcceptedRendererKeyField,
    HostKeyField,
    QueryParamsKeyField,
    ViewKwargsKeyField,
)
from restflow.caching.plan_memo import PLAIN_TYPES

__all__ = [
    "ResponseCacheKeyConstructor",
    "has_default_shape",
    "request_index",
    "response_memo_key",
    "with_format",
]

_MEMO_QUERY_LIMIT = 512


class ResponseCacheKeyConstructor(KeyConstructor):
    """URL kwargs as the partition; the hashed query string, the negotiated format, and
    the scheme and host. A subclass that sets ``host = None`` drops scheme and host."""

    query_params = QueryParamsKeyField("*", hash_value=True)
    path_params = ViewKwargsKeyField("*", partition=True)
    renderer = AcceptedRendererKeyField()
    host = HostKeyField()

    class Meta:
        version = 1
        namespace = "ResponseCache"


def request_index(func: Callable[..., Any]) -> int | None:
    """Position of ``request`` among the view function's parameters (0 or 1)."""
    names = parameter_names(func)
    if names[:2] == ("self", "request"):
        return 1
    if names[:1] == ("request",):
        return 0
    return None


def has_default_shape(constructor: KeyConstructor) -> bool:
    """True when the key is made of exactly the default response fields."""
    kinds: dict[type, Any] = {type(f): f for f in constructor.fields.values()}
    host = kinds.get(HostKeyField)
    count = 3 if host is None else 4
    if len(kinds) != count or len(constructor.fields) != count:
        return False
    query = kinds.get(QueryParamsKeyField)
    path = kinds.get(ViewKwargsKeyField)
    return (
        (host is None or host.request_arg == "request")
        and AcceptedRendererKeyField in kinds
        and query is not None
        and query.params == "*"
        and query.request_arg == "request"
        and path is not None
        and path.arguments == "*"
        and path.path is None
        and path.normalizer is None
    )


def with_format(constructor: KeyConstructor) -> KeyConstructor:
    """``constructor``, extended with the negotiated format when it does not key on it.

    The wrapper stays registered with the original class (``wipe`` reaches it); the
    namespace, identifier and version are inherited, so the key prefix is unchanged.
    """
    if any(isinstance(f, AcceptedRendererKeyField) for f in constructor.fields.values()):
        return constructor
    extended: Any = KeyConstructorMetaClass(
        f"{type(constructor).__name__}WithFormat",
        (type(constructor),),
        {"restflow_format": AcceptedRendererKeyField(), "__module__": __name__},
    )
    return extended()


def response_memo_key(
    request: Any, index: int, skip_self: bool, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Hashable identity of what the default response key reads, or ``None`` (no memo).

    The default key is a function of the query string, the URL args/kwargs, the
    negotiated renderer, the scheme and the headers ``get_host()`` reads: plans are
    memoized on exactly those (plain values only). ``index`` is the request's position in
    ``args`` (``-1`` when it is not there).
    """
    if request is None:
        return None
    start = 1 if skip_self else 0
    rest = args[start:index] + args[index + 1 :] if index >= start else args[start:]
    http = proxied(request)
    meta = getattr(http, "META", None)
    renderer = getattr(request, "accepted_renderer", None)
    if meta is None or renderer is None:
        return None
    query = meta.get("QUERY_STRING", "")
    if len(query) > _MEMO_QUERY_LIMIT:
        return None
    for value in rest:
        if type(value) not in PLAIN_TYPES:
            return None
    extra: tuple[tuple[str, Any], ...] = ()
    if kwargs:
        extra = tuple(item for item in kwargs.items() if item[1] is not request)
        for _name, value in extra:
            if type(value) not in PLAIN_TYPES:
                return None
    # What ``get_host()`` reads: the forwarded host (when trusted), the Host header,
    # else the server name and port (forwarded port when trusted).
    host: Any = meta.get("HTTP_HOST")
    if host is None:
        host = (meta.get("SERVER_NAME"), meta.get("SERVER_PORT"), meta.get("HTTP_X_FORWARDED_PORT"))
    return (
        query,
        rest,
        extra,
        renderer.format,
        getattr(request, "accepted_media_type", None),
        http.scheme,
        host,
        meta.get("HTTP_X_FORWARDED_HOST"),
    )
