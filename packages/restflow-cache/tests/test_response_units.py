"""``cache_response`` helpers, headers and the async path (caching.md §8-§9)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from django.http import HttpResponse
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory

from restflow.caching import (
    CACHE_MISSING,
    CacheStatus,
    QueryParamsKeyField,
    ResponseCacheKeyConstructor,
    ViewKwargsKeyField,
    cache_response,
    set_response_cache_header,
)
from restflow.caching.cache_response import (
    extract_view_and_request,
    rebuild_http_response,
    serialize_response,
)

factory = APIRequestFactory()


def test_default_constructor_fields() -> None:
    fields = ResponseCacheKeyConstructor._declared_fields
    assert isinstance(fields["query_params"], QueryParamsKeyField)
    assert fields["query_params"].hash_value
    assert isinstance(fields["path_params"], ViewKwargsKeyField)
    assert fields["path_params"].partition
    assert ResponseCacheKeyConstructor._meta.namespace == "ResponseCache"


def test_extract_view_and_request() -> None:
    def get(self: Any, request: Any, pk: int) -> None: ...

    def function_view(request: Any) -> None: ...

    view, request = object(), object()
    assert extract_view_and_request(get, (view,), {"request": request, "pk": 1}) == (view, request)
    assert extract_view_and_request(get, (view, request), {}) == (view, request)
    assert extract_view_and_request(function_view, (request,), {}) == (None, request)


def test_serialize_and_rebuild_roundtrip() -> None:
    original = HttpResponse(b"body", status=200, content_type="text/csv")
    original["X-Extra"] = "1"
    triple = serialize_response(original)
    assert triple == (b"body", 200, {"Content-Type": "text/csv", "X-Extra": "1"})
    rebuilt = rebuild_http_response(triple)
    assert type(rebuilt) is HttpResponse
    assert rebuilt.content == b"body"
    assert rebuilt["X-Extra"] == "1"


def test_set_response_cache_header() -> None:
    response = Response({"a": 1})
    assert set_response_cache_header(response, None) is response
    assert set_response_cache_header(response, {}) is response
    assert "X-Cache-status" not in response
    meta = {
        "cached_at": "2024-01-01T00:00:00+00:00",
        "cache_reset_at": "2024-01-01T01:00:00+00:00",
        "cache_status": CacheStatus.HIT,
    }
    assert set_response_cache_header(response, meta) is response
    assert response["X-Cache-status"] == "HIT"
    assert response["X-Cached-at"] == meta["cached_at"]
    assert response["X-Cache-reset-at"] == meta["cache_reset_at"]
    bare = HttpResponse()
    set_response_cache_header(bare, {"cached_at": "t", "cache_reset_at": None})
    assert "X-Cache-reset-at" not in bare
    assert bare["X-Cached-at"] == "t"


def test_async_view_function_cached_with_headers() -> None:
    calls: Counter[str] = Counter()

    @cache_response(set_cache_headers=True)
    async def report(request: Any, pk: int) -> HttpResponse:
        calls["report"] += 1
        return HttpResponse(f"report {pk} #{calls['report']}", content_type="text/plain")

    async def scenario() -> None:
        first = await report(factory.get("/r/1/"), pk=1)
        second = await report(factory.get("/r/1/"), pk=1)
        other = await report(factory.get("/r/2/"), pk=2)
        assert first.content == second.content == b"report 1 #1"
        assert (first["X-Cache-status"], second["X-Cache-status"]) == ("MISS", "HIT")
        assert other.content == b"report 2 #2"
        stored = await report.aget_cache_only(factory.get("/r/1/"), pk=1)
        assert stored is not CACHE_MISSING
        assert stored[0] == b"report 1 #1"
        await report.adelete_by_prefix(pk=1)
        assert (await report(factory.get("/r/1/"), pk=1)).content == b"report 1 #3"

    asyncio.run(scenario())
    assert calls["report"] == 3


def test_async_cache_if_rejection_keeps_recomputing() -> None:
    calls: Counter[str] = Counter()

    async def not_errors(response: Any) -> bool:
        return bool(response.status_code < 400)

    @cache_response(statuses=(200, 500), cache_if=not_errors)
    async def broken(request: Any) -> HttpResponse:
        calls["broken"] += 1
        return HttpResponse(b"boom", status=500)

    async def scenario() -> None:
        await broken(factory.get("/b/"))
        await broken(factory.get("/b/"))

    asyncio.run(scenario())
    assert calls["broken"] == 2


def test_custom_constructor_still_keys_on_format() -> None:
    from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer

    from restflow.caching import ArgsKeyField, KeyConstructor

    class Bare(KeyConstructor):
        pk = ArgsKeyField("pk", partition=True)

    @cache_response(Bare)
    def detail(request: Any, pk: int) -> HttpResponse:
        return HttpResponse(b"x")

    def request_for(renderer: Any) -> Any:
        request = factory.get("/d/1/")
        request.accepted_renderer = renderer
        request.accepted_media_type = renderer.media_type
        return request

    as_json = detail.get_cache_key(request_for(JSONRenderer()), pk=1)
    as_html = detail.get_cache_key(request_for(BrowsableAPIRenderer()), pk=1)
    assert as_json != as_html
    assert detail in Bare._wrappers
    Bare.wipe(pk=1)  # reaches the wrapper through the original class
