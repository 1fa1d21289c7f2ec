"""Read-path comparisons: ``@cache_result`` and ``@cache_response`` hits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench_env import BACKENDS, caches_for
from bench_harness import Contender, compare, each, make_record
from django.core.cache import caches
from django.test import RequestFactory, override_settings

from restflow.caching import ArgsKeyField, cache_result

OPTIONS: dict[str, Any] = {"rounds": 15, "min_block": 0.04}
HIT_TARGET = {"locmem": 2.0, "redis": 1.1, "django_redis": 1.1}


@cache_result(key_constructor={"fields": {"item": ArgsKeyField("item_id")}}, ttl=3600)
def cached_item(item_id: int) -> dict[str, Any]:
    return {"id": item_id, "name": f"item {item_id}", "tags": ["a", "b"]}


def bench_cache_result(backend: str) -> dict[str, Any]:
    with override_settings(CACHES=caches_for(backend)):
        cache = caches["default"]
        cache.clear()
        cached_item(7)
        key = cached_item.get_cache_key(7)
        version = cached_item.get_key_version()
        keys = cached_item._plan((7,), {}).keys  # entry + scope keys, as the wrapper reads them
        assert cache.get(key, version=version) is not None

        result = compare(
            [
                Contender("restflow", each(lambda: cached_item(7))),
                Contender("raw_get", each(lambda: cache.get(key, version=version))),
                Contender("raw_get_many", each(lambda: cache.get_many(keys, version=version))),
            ],
            **OPTIONS,
        )
    return make_record(
        f"cache_result.hit.{backend}",
        f"@cache_result hit ({backend})",
        backend,
        result,
        ratios=[("restflow", "raw_get"), ("restflow", "raw_get_many")],
        targets=[("restflow", "raw_get", HIT_TARGET[backend])],
        notes=f"raw_get_many reads the same {len(keys)} keys as the wrapper (entry + scopes).",
    )


# --------------------------------------------------------------------------- responses

ROWS = [
    {"id": i, "name": f"row {i}", "email": f"row{i}@example.com", "score": i * 1.5, "active": i % 2 == 0}
    for i in range(100)
]


def _views(rows: int) -> dict[str, Callable[..., Any]]:
    """restflow, drf-extensions and uncached views (built under the current CACHES)."""
    from rest_framework import serializers
    from rest_framework.response import Response
    from rest_framework.views import APIView
    from rest_framework_extensions.cache.decorators import cache_response as ext_cache_response

    from restflow.caching import cache_response

    class RowSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField()
        email = serializers.EmailField()
        score = serializers.FloatField()
        active = serializers.BooleanField()

    def payload() -> Any:
        if rows == 1:
            return RowSerializer(ROWS[0]).data
        return RowSerializer(ROWS[:rows], many=True).data

    class Uncached(APIView):
        authentication_classes = ()
        permission_classes = ()

        def get(self, request: Any) -> Response:
            return Response(payload())

    class Restflow(Uncached):
        @cache_response(ttl=3600)
        def get(self, request: Any) -> Response:
            return Response(payload())

    class DrfExtensions(Uncached):
        @ext_cache_response(timeout=3600)
        def get(self, request: Any) -> Response:
            return Response(payload())

    return {
        "restflow": Restflow.as_view(),
        "drf_extensions": DrfExtensions.as_view(),
        "uncached": Uncached.as_view(),
    }


def _dispatch_block(view: Callable[..., Any]) -> Callable[[int], Callable[[], None]]:
    factory = RequestFactory()

    def make(n: int) -> Callable[[], None]:
        requests = [factory.get("/rows/", {"page": "1"}) for _ in range(n)]

        def block() -> None:
            for request in requests:
                response = view(request)
                if hasattr(response, "render") and not response.is_rendered:
                    response.render()
                if response.status_code != 200:
                    raise AssertionError(response.status_code)

        return block

    return make


def bench_cache_response(backend: str, rows: int) -> dict[str, Any]:
    with override_settings(CACHES=caches_for(backend)):
        caches["default"].clear()
        views = _views(rows)
        first = {name: _dispatch_block(view)(1) for name, view in views.items()}
        for block in first.values():
            block()  # miss: store
        result = compare([Contender(name, _dispatch_block(view)) for name, view in views.items()], **OPTIONS)
    size = "small" if rows == 1 else f"{rows}-row"
    return make_record(
        f"cache_response.hit.{backend}.{rows}",
        f"@cache_response hit, {size} payload ({backend})",
        backend,
        result,
        ratios=[("restflow", "drf_extensions"), ("restflow", "uncached")],
        targets=[("restflow", "drf_extensions", 0.9)],
        notes="Full DRF dispatch of an APIView via as_view(); the same GET with ?page=1.",
    )


def run() -> list[dict[str, Any]]:
    records = [bench_cache_result(b) for b in BACKENDS]
    for backend in BACKENDS:
        for rows in (1, 100):
            records.append(bench_cache_response(backend, rows))
    return records
