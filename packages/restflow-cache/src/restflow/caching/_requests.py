"""Where a view call's request is, for ``cache_response`` and the request key fields.

Django and DRF pass the request positionally under whatever name the view chose
(``request``, ``req``, inside ``*args``); a view method can also reach it as
``self.request``. A parameter of the expected name wins, then the first argument that is
a Django ``HttpRequest`` or a DRF ``Request``, then ``args[0].request`` (the view).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest

from restflow.caching._binding import parameter_names

__all__ = [
    "extract_view_and_request",
    "http_request",
    "is_request",
    "locate_request",
    "proxied",
    "request_types",
]

_types: list[tuple[type, ...]] = [(HttpRequest,)]


def request_types() -> tuple[type, ...]:
    """``(HttpRequest,)``, plus DRF's ``Request`` once DRF's request module is imported
    (no DRF request can exist before that, and importing it here would cost start-up)."""
    found = _types[0]
    if len(found) == 1:
        module = sys.modules.get("rest_framework.request")
        drf = getattr(module, "Request", None) if module is not None else None
        if drf is not None:
            found = _types[0] = (HttpRequest, drf)
    return found


def is_request(value: Any) -> bool:
    return isinstance(value, request_types())


def locate_request(
    names: tuple[str, ...],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    name: str = "request",
    view_fallback: bool = True,
) -> tuple[Any | None, int]:
    """``(request, its index in args)``; the index is ``-1`` when the request came from
    ``kwargs`` or from the view (or was not found: ``(None, -1)``)."""
    if kwargs and name in kwargs:
        return kwargs[name], -1
    if name in names:
        index = names.index(name)
        if index < len(args):
            return args[index], index
    types = request_types()
    for index, value in enumerate(args):
        if isinstance(value, types):
            return value, index
    if kwargs:
        for value in kwargs.values():
            if isinstance(value, types):
                return value, -1
    if view_fallback and args:
        return getattr(args[0], "request", None), -1
    return None, -1


def http_request(request: Any) -> HttpRequest | None:
    """The Django ``HttpRequest`` behind ``request`` (itself, or the one a DRF ``Request``
    wraps), or ``None``."""
    if isinstance(request, HttpRequest):
        return request
    wrapped = getattr(request, "_request", None) if is_request(request) else None
    return wrapped if isinstance(wrapped, HttpRequest) else None


def extract_view_and_request(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any | None, Any | None]:
    """Locate the view instance and the request among a view function's arguments.

    The request is the ``request`` parameter, else the first argument that is a request
    (whatever its parameter's name), else ``self.request``.
    """
    names = parameter_names(func)
    view = args[0] if names[:1] == ("self",) and args else None
    request = locate_request(names, args, kwargs)[0]
    if view is None and request is not None:
        context = getattr(request, "parser_context", None) or {}
        view = context.get("view")
    return view, request


def proxied(request: Any) -> Any:
    """Where ``request`` reads ``method`` and ``META`` from.

    A DRF ``Request`` (exact class) forwards those reads to the ``HttpRequest`` it wraps
    through ``__getattr__``, which runs only after a failed lookup (an internal
    ``AttributeError`` per read). The wrapped request is returned when the ``Request``
    has no attribute of its own by those names (``clone_request`` sets ``method`` on the
    instance); anything else is returned unchanged.
    """
    module = sys.modules.get("rest_framework.request")
    if module is None or type(request) is not getattr(module, "Request", None):
        return request
    own = request.__dict__
    wrapped = own.get("_request")
    if wrapped is None or "method" in own or "META" in own:
        return request
    return wrapped
