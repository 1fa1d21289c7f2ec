"""A view's response as ``cache_response`` stores it: the view is called, finalized
through DRF and rendered; the rendered response is stored as ``(content, status,
headers)`` and rebuilt as a plain ``HttpResponse`` on a hit; ``set_cache_headers`` adds
the call's metadata as ``X-Cache-*`` headers."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from django.http import HttpResponse

from restflow.caching._requests import extract_view_and_request
from restflow.caching.constants import (
    METADATA_CACHE_STATUS,
    METADATA_CACHED_AT_KEY,
    METADATA_RESET_AT_KEY,
)

__all__ = [
    "ResponseTriple",
    "rebuild_http_response",
    "render_view_response_async",
    "render_view_response_sync",
    "serialize_response",
    "set_response_cache_header",
]

ResponseTriple = tuple[bytes, int, dict[str, str]]


def _finalize(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], response: Any
) -> Any:
    view, request = extract_view_and_request(func, args, kwargs)
    if view is None or request is None or not hasattr(view, "finalize_response"):
        return response
    rest = [a for a in args if a is not view and a is not request]
    extra = {k: v for k, v in kwargs.items() if v is not request}
    return view.finalize_response(request, response, *rest, **extra)


def render_view_response_sync(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Call the view, finalize it through DRF and render it."""
    response = _finalize(func, args, kwargs, func(*args, **kwargs))
    if not getattr(response, "streaming", False) and callable(getattr(response, "render", None)):
        response.render()
    return response


async def render_view_response_async(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    response = _finalize(func, args, kwargs, await func(*args, **kwargs))
    if getattr(response, "streaming", False):
        return response
    arender = getattr(response, "arender", None)
    if callable(arender) and inspect.iscoroutinefunction(arender):
        await arender()
    elif callable(getattr(response, "render", None)):
        response.render()
    return response


def serialize_response(response: Any) -> ResponseTriple:
    content = getattr(response, "rendered_content", None)
    if not isinstance(content, bytes):
        content = response.content
    return (bytes(content), int(response.status_code), dict(response.items()))


def rebuild_http_response(triple: ResponseTriple) -> HttpResponse:
    # Assembling the response's attributes directly (skipping the constructor's header
    # checks) bought under 10% of a hit (docs/benchmarks.md, "What each fast path buys").
    content, status, headers = triple
    return HttpResponse(content=content, status=status, headers=headers)


def set_response_cache_header(response: Any, metadata: dict[str, Any] | None) -> Any:
    """Write ``X-Cache-status``, ``X-Cached-at`` and ``X-Cache-reset-at`` from metadata."""
    if not metadata:
        return response
    for header, key in (
        ("X-Cached-at", METADATA_CACHED_AT_KEY),
        ("X-Cache-reset-at", METADATA_RESET_AT_KEY),
        ("X-Cache-status", METADATA_CACHE_STATUS),
    ):
        value = metadata.get(key)
        if value:
            response[header] = getattr(value, "value", value)
    return response
