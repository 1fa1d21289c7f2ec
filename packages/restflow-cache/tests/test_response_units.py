"""``cache_response`` helpers, headers and the async path (docs/caching.md, Caching DRF responses)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from django.http import HttpResponse
from django.http.response import BadHeaderError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request, clone_request
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
from restflow.caching.wipe import wrappers_of

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
    assert detail in wrappers_of(Bare)
    Bare.wipe(pk=1)  # reaches the wrapper through the original class


# -- rebuilding a stored response ------------------------------------------------------
def observable(response: HttpResponse) -> tuple[Any, ...]:
    """Everything a caller (middleware, handler, test client) can see of a response."""
    return (
        type(response),
        response.status_code,
        response.reason_phrase,
        response.charset,
        response.content,
        list(response.items()),
        response.serialize(),
        dict(response.cookies),
        response.closed,
        response.streaming,
    )


def public_build(triple: Any) -> HttpResponse:
    content, status, headers = triple
    return HttpResponse(content=content, status=status, headers=headers)


REBUILT_TRIPLES = [
    (b'{"a":1}', 200, {"Content-Type": "application/json", "Vary": "Accept", "Allow": "GET"}),
    (b"x", 203, {"Content-Type": "text/plain; charset=latin-1", "X-A": "1", "x-b": "2"}),
    (b"", 599, {"Content-Type": "text/plain", "Vary": "Accept", "vary": "Cookie"}),
    (b"caf\xe9", 200, {"Content-Type": "text/html", "X-Name": "caf\xe9"}),  # latin-1 value
    (b"e", 200, {"Content-Type": "text/html", "X-Name": "\u20ac"}),  # MIME-encoded by Django
    (b"body", 200, {"X-Only": "1"}),  # Django adds the default Content-Type
    (b"body", 200, {"content-type": "text/csv"}),
    ("text \xe9", 200, {"Content-Type": "text/plain; charset=utf-8"}),  # str content
    (memoryview(b"view"), 200, {"Content-Type": "text/plain"}),
    (b"t", 200, {"Content-Type": "text/plain", "X-Number": 5}),  # non-str value
]


class TestRebuild:
    @pytest.mark.parametrize("triple", REBUILT_TRIPLES)
    def test_same_response_as_django_builds(self, triple: Any) -> None:
        rebuilt = rebuild_http_response(triple)
        built = public_build(triple)
        assert observable(rebuilt) == observable(built)
        assert set(vars(rebuilt)) == set(vars(built))
        assert vars(rebuilt.headers) == vars(built.headers)

    def test_roundtrip_of_a_rendered_drf_response(self) -> None:
        response = Response({"a": [1, 2]}, headers={"X-Extra": "1"})
        response.accepted_renderer = JSONRenderer()
        response.accepted_media_type = "application/json"
        response.renderer_context = {}
        response.render()
        rebuilt = rebuild_http_response(serialize_response(response))
        assert rebuilt.content == response.content
        assert list(rebuilt.items()) == list(response.items())
        assert rebuilt.status_code == 200

    def test_rebuilt_responses_are_independent(self) -> None:
        triple = REBUILT_TRIPLES[0]
        stored = (triple[0], triple[1], dict(triple[2]))
        first, second = rebuild_http_response(stored), rebuild_http_response(stored)
        first["X-Added"] = "1"
        first["Vary"] = "Accept, Origin"
        first.set_cookie("c", "v")
        first.write(b"more")
        first._resource_closers.append(lambda: None)
        assert "X-Added" not in second
        assert second["Vary"] == "Accept"
        assert not second.cookies
        assert second.content == triple[0]
        assert not second._resource_closers
        assert stored == (triple[0], triple[1], triple[2])

    @pytest.mark.parametrize(
        ("triple", "error"),
        [
            ((b"x", 42, {"Content-Type": "text/plain"}), ValueError),
            ((b"x", "200", {"Content-Type": "text/plain"}), None),  # Django accepts "200"
            ((b"x", 200, {"Content-Type": "text/plain", "X-Bad": "a\nb"}), BadHeaderError),
            ((b"x", 200, {"Content-Type": "text/plain", "X-B\rad": "1"}), BadHeaderError),
        ],
    )
    def test_invalid_triples_fail_as_in_django(self, triple: Any, error: Any) -> None:
        if error is None:
            assert observable(rebuild_http_response(triple)) == observable(public_build(triple))
            return
        with pytest.raises(error):
            public_build(triple)
        with pytest.raises(error):
            rebuild_http_response(triple)


# -- request reads -----------------------------------------------------------------------
def test_drf_request_is_read_like_its_http_request() -> None:
    calls: Counter[str] = Counter()

    @cache_response()
    def report(request: Any) -> HttpResponse:
        calls["report"] += 1
        return HttpResponse(f"#{calls['report']} {request.GET.get('a')}")

    def drf(path: str) -> Request:
        return Request(factory.get(path))

    assert report(drf("/r/?a=1")).content == b"#1 1"
    assert report(drf("/r/?a=1")).content == b"#1 1"
    assert report(drf("/r/?a=2")).content == b"#2 2"  # the query string keys the entry
    as_post = clone_request(drf("/r/?a=1"), "POST")  # ``method`` set on the Request itself
    assert report(as_post).content == b"#3 1"
    # a plain HttpRequest is keyed the same way: same query string, same entry
    assert report(factory.get("/r/?a=1")).content == b"#1 1"
    assert report(factory.get("/r/?a=3")).content == b"#4 3"
    assert report(factory.get("/r/?a=3")).content == b"#4 3"
    assert report(factory.post("/r/?a=1")).content == b"#5 1"
