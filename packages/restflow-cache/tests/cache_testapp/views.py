"""DRF views for restflow-cache's response-caching tests (append new views at the end)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpResponse, StreamingHttpResponse
from rest_framework.authentication import BaseAuthentication
from rest_framework.decorators import api_view, authentication_classes, renderer_classes
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cache_testapp.models import Book
from restflow.caching import RequestValueKeyField, ResponseCacheKeyConstructor, cache_response
from restflow.caching.rules import InvalidationRule

CALLS: Counter[str] = Counter()


class HeaderAuthentication(BaseAuthentication):
    """Authenticates ``X-User: <username>`` (tests only)."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        username = request.META.get("HTTP_X_USER")
        if not username:
            return None
        return get_user_model().objects.get(username=username), None


class PlainHTMLRenderer(BaseRenderer):
    media_type = "text/html"
    format = "html"

    def render(self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None) -> bytes:
        return f"<p>{data}</p>".encode()


class Base(APIView):
    authentication_classes = [HeaderAuthentication]
    renderer_classes = [JSONRenderer, PlainHTMLRenderer]


class BookView(Base):
    @cache_response(set_cache_headers=True)
    def get(self, request: Request, pk: int) -> Response:
        CALLS["book"] += 1
        return Response({"book": pk, "n": CALLS["book"], "q": request.query_params.get("q")})


class ProfileKey(ResponseCacheKeyConstructor):
    user = RequestValueKeyField("user.id", partition=True)


class ProfileView(Base):
    """Per-user content; cached per user thanks to the user partition."""

    @cache_response(ProfileKey)
    def get(self, request: Request) -> Response:
        CALLS["profile"] += 1
        return Response({"user": str(request.user), "n": CALLS["profile"]})


class LeakyProfileView(Base):
    """Per-user content behind the default (shared) key: restflow refuses to cache it."""

    @cache_response()
    def get(self, request: Request) -> Response:
        CALLS["leaky"] += 1
        return Response({"user": str(request.user), "n": CALLS["leaky"]})


class PublicView(Base):
    @cache_response(public=True)
    def get(self, request: Request) -> Response:
        CALLS["public"] += 1
        return Response({"n": CALLS["public"]})


class StatusView(Base):
    @cache_response()
    def get(self, request: Request, code: int) -> Response:
        CALLS[f"status{code}"] += 1
        return Response({"code": code, "n": CALLS[f"status{code}"]}, status=int(code))


class ConfiguredStatusView(Base):
    @cache_response(statuses=(200, 404))
    def get(self, request: Request, code: int) -> Response:
        CALLS[f"configured{code}"] += 1
        return Response({"n": CALLS[f"configured{code}"]}, status=int(code))


class CookieView(Base):
    @cache_response()
    def get(self, request: Request) -> Response:
        CALLS["cookie"] += 1
        response = Response({"n": CALLS["cookie"]})
        response.set_cookie("session_hint", f"secret-{CALLS['cookie']}")
        return response


class PrivateView(Base):
    @cache_response()
    def get(self, request: Request, directive: str) -> Response:
        CALLS[directive] += 1
        response = Response({"n": CALLS[directive]})
        response["Cache-Control"] = directive
        return response


class StreamView(Base):
    @cache_response()
    def get(self, request: Request) -> StreamingHttpResponse:
        CALLS["stream"] += 1
        return StreamingHttpResponse(iter([b"a", b"b", str(CALLS["stream"]).encode()]))


class PlainView(Base):
    @cache_response()
    def get(self, request: Request) -> HttpResponse:
        CALLS["plain"] += 1
        return HttpResponse(f"plain {CALLS['plain']}", content_type="text/plain")


class WriteView(Base):
    @cache_response()
    def post(self, request: Request) -> Response:
        CALLS["post"] += 1
        return Response({"n": CALLS["post"]})


@api_view(["GET"])
@authentication_classes([HeaderAuthentication])
@renderer_classes([JSONRenderer])
@cache_response()
def book_function(request: Request, pk: int) -> Response:
    CALLS["function"] += 1
    return Response({"book": pk, "n": CALLS["function"]})


class ErrorFilteredView(Base):
    @cache_response(statuses=(200, 500), cache_if=lambda r: r.status_code < 400)
    def get(self, request: Request) -> Response:
        CALLS["filtered"] += 1
        return Response({"n": CALLS["filtered"]}, status=500)


class VaryCookieView(Base):
    @cache_response()
    def get(self, request: Request) -> Response:
        CALLS["vary"] += 1
        response = Response({"n": CALLS["vary"]})
        response["Vary"] = "Accept, Cookie"
        return response


class CsrfView(Base):
    """A page embedding a CSRF token (as a form would): never shared."""

    @cache_response()
    def get(self, request: Request) -> HttpResponse:
        from django.middleware.csrf import get_token

        CALLS["csrf"] += 1
        return HttpResponse(f"<form>{get_token(request)}</form>", content_type="text/html")


class BookTitleView(Base):
    """Invalidated by saves of ``Book`` through the ``pk`` partition."""

    @cache_response(invalidates_on=[InvalidationRule(model=Book, field_mapping={"pk": "pk"})])
    def get(self, request: Request, pk: int) -> Response:
        CALLS["title"] += 1
        return Response({"title": Book.objects.get(pk=pk).title, "n": CALLS["title"]})


@api_view(["GET"])
@authentication_classes([])
@renderer_classes([JSONRenderer])
@cache_response(invalidates_on=[InvalidationRule(model=Book, field_mapping={"pk": "pk"})])
def book_title_function(request: Request, pk: int) -> Response:
    CALLS["title_function"] += 1
    return Response({"title": Book.objects.get(pk=pk).title, "n": CALLS["title_function"]})


class BookListView(Base):
    """A list: a rule without field_mapping drops every cached variant of the view."""

    @cache_response(invalidates_on=[InvalidationRule(model=Book)])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        CALLS["list"] += 1
        titles = sorted(Book.objects.values_list("title", flat=True))
        return Response({"titles": titles, "n": CALLS["list"]})


@cache_response()
def django_search(request: Any) -> HttpResponse:
    """A plain Django view (no DRF): keyed by its query string all the same."""
    CALLS["django_search"] += 1
    return HttpResponse(f"q={request.GET.get('q')} n={CALLS['django_search']}")
