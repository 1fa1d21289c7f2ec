"""Every view shape Django and DRF allow, each cached with restflow, in two scopes.

``shared``: the default key (``ResponseCacheKeyConstructor``); authenticated requests
must not be cached. ``user``: a user-scoped key (``RequestValueKeyField("user.id")``), so
each user gets their own entry. Every view answers ``{"shape", "title", "user"}``:
the first article's title and who the view saw; ``RENDERS`` counts the real renders.

A shape whose declaration raises is kept as a view that raises the same error, so the
other shapes still run and each test of that shape fails with the reason
(``BUILD_ERRORS`` lists them; a test asserts it is empty).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from rest_framework import viewsets
from rest_framework.decorators import action, api_view
from rest_framework.response import Response
from rest_framework.views import APIView

from field_common.models import Article
from restflow.caching import (
    ArgsKeyField,
    InvalidationRule,
    RequestValueKeyField,
    ResponseCacheKeyConstructor,
    cache_response,
    cache_result,
)

SCOPES = ("shared", "user")
DRF_SHAPES = (
    "apiview-request",
    "apiview-req",
    "apiview-args",
    "viewset-list",
    "viewset-retrieve",
    "viewset-action",
    "api-view",
    "cache-result",
)
DJANGO_SHAPES = ("django-function", "django-function-req", "method-decorator")
SHAPES = DRF_SHAPES + DJANGO_SHAPES

RENDERS: Counter[str] = Counter()
BUILD_ERRORS: dict[str, str] = {}


class UserKey(ResponseCacheKeyConstructor):
    user = RequestValueKeyField("user.id", partition=True)


class UserKeyReq(ResponseCacheKeyConstructor):
    """The same for views whose request parameter is named ``req``."""

    user = RequestValueKeyField("user.id", request_arg="req", partition=True)


def payload(request: Any, shape: str, scope: str) -> dict[str, Any]:
    RENDERS[f"{shape}/{scope}"] += 1
    first = Article.objects.order_by("pk").first()
    user = request.user
    return {
        "shape": shape,
        "title": first.title if first else None,
        "user": user.get_username() if user.is_authenticated else None,
    }


def _article_rule(**mapping: str) -> list[InvalidationRule]:
    return [InvalidationRule(model=Article, field_mapping=mapping)] if mapping else [
        InvalidationRule(model=Article)
    ]


def _cached(scope: str, *, req: bool = False, **mapping: str) -> Callable[[Any], Any]:
    key = None if scope == "shared" else (UserKeyReq if req else UserKey)
    return cache_response(key, ttl=300, invalidates_on=_article_rule(**mapping), set_cache_headers=True)


# --------------------------------------------------------------------------- cache_result


@cache_result(ttl=300, invalidates_on=[InvalidationRule(model=Article)])
def first_title() -> str | None:
    RENDERS["cache-result/shared"] += 1
    first = Article.objects.order_by("pk").first()
    return first.title if first else None


@cache_result({"fields": {"user": ArgsKeyField("user_id", partition=True)}}, ttl=300)
def first_title_for(user_id: object, username: str | None) -> dict[str, Any]:
    RENDERS["cache-result/user"] += 1
    first = Article.objects.order_by("pk").first()
    return {"title": first.title if first else None, "user": username}


# --------------------------------------------------------------------------- builders


def _apiview_request(shape: str, scope: str) -> Any:
    class V(APIView):
        @_cached(scope)
        def get(self, request):  # type: ignore[no-untyped-def]
            return Response(payload(request, shape, scope))

    return V.as_view()


def _apiview_req(shape: str, scope: str) -> Any:
    class V(APIView):
        @_cached(scope, req=True)
        def get(self, req):  # type: ignore[no-untyped-def]
            return Response(payload(req, shape, scope))

    return V.as_view()


def _apiview_args(shape: str, scope: str) -> Any:
    class V(APIView):
        @_cached(scope)
        def get(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            return Response(payload(self.request, shape, scope))

    return V.as_view()


def _viewset(scope: str) -> type[viewsets.ViewSet]:
    class ArticleViewSet(viewsets.ViewSet):
        @_cached(scope)
        def list(self, request):  # type: ignore[no-untyped-def]
            return Response(payload(request, "viewset-list", scope))

        @_cached(scope, pk="pk")
        def retrieve(self, request, pk=None):  # type: ignore[no-untyped-def]
            data = payload(request, "viewset-retrieve", scope)
            data["title"] = Article.objects.get(pk=pk).title
            return Response(data)

        @action(detail=False)
        @_cached(scope)
        def recent(self, request):  # type: ignore[no-untyped-def]
            return Response(payload(request, "viewset-action", scope))

    return ArticleViewSet


def _api_view(shape: str, scope: str) -> Any:
    @api_view(["GET"])
    @_cached(scope)
    def view(request):  # type: ignore[no-untyped-def]
        return Response(payload(request, shape, scope))

    return view


def _cache_result_view(shape: str, scope: str) -> Any:
    class V(APIView):
        def get(self, request):  # type: ignore[no-untyped-def]
            user = request.user
            if scope == "shared":
                title, meta = first_title.get_with_metadata()
                username = user.get_username() if user.is_authenticated else None
                data = {"shape": shape, "title": title, "user": username}
            else:
                username = user.get_username() if user.is_authenticated else None
                data, meta = first_title_for.get_with_metadata(
                    str(user.pk) if user.is_authenticated else None, username
                )
                data = {"shape": shape, **data}
            response = Response(data)
            response["X-Cache-status"] = meta["cache_status"] if meta else "NONE"
            return response

    return V.as_view()


def _django_function(shape: str, scope: str) -> Any:
    @_cached(scope)
    def view(request):  # type: ignore[no-untyped-def]
        return JsonResponse(payload(request, shape, scope))

    return view


def _django_function_req(shape: str, scope: str) -> Any:
    @_cached(scope, req=True)
    def view(req):  # type: ignore[no-untyped-def]
        return JsonResponse(payload(req, shape, scope))

    return view


def _method_decorator(shape: str, scope: str) -> Any:
    @method_decorator(_cached(scope), name="get")
    class V(View):
        def get(self, request: HttpRequest) -> JsonResponse:
            return JsonResponse(payload(request, shape, scope))

    return V.as_view()


_BUILDERS: dict[str, Callable[[str, str], Any]] = {
    "apiview-request": _apiview_request,
    "apiview-req": _apiview_req,
    "apiview-args": _apiview_args,
    "api-view": _api_view,
    "cache-result": _cache_result_view,
    "django-function": _django_function,
    "django-function-req": _django_function_req,
    "method-decorator": _method_decorator,
}


def _broken(error: BaseException) -> Callable[..., Any]:
    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"this view shape could not be declared: {error!r}") from error

    return view


def build() -> tuple[dict[tuple[str, str], Any], dict[str, Any]]:
    """``(views, viewsets)``: a view per (function shape, scope), a ViewSet per scope."""
    views: dict[tuple[str, str], Any] = {}
    sets: dict[str, Any] = {}
    for scope in SCOPES:
        for shape, builder in _BUILDERS.items():
            try:
                views[(shape, scope)] = builder(shape, scope)
            except Exception as exc:
                BUILD_ERRORS[f"{shape}/{scope}"] = repr(exc)
                views[(shape, scope)] = _broken(exc)
        try:
            sets[scope] = _viewset(scope)
        except Exception as exc:
            for shape in ("viewset-list", "viewset-retrieve", "viewset-action"):
                BUILD_ERRORS[f"{shape}/{scope}"] = repr(exc)
            sets[scope] = _broken(exc)
    return views, sets


@api_view(["GET"])
def me(request):  # type: ignore[no-untyped-def]
    """Who DRF authenticated (JWT or session); not cached."""
    user = request.user
    return Response({"user": user.get_username() if user.is_authenticated else None})
