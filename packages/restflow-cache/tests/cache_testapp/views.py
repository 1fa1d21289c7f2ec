"""DRF views for restflow-cache's response-caching tests (append new views at the end)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils.decorators import method_decorator
from django.views import View
from rest_framework import viewsets
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.decorators import action, api_view, authentication_classes, renderer_classes
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cache_testapp.models import Book
from restflow.caching import RequestValueKeyField, ResponseCacheKeyConstructor, cache_response
from restflow.caching.rules import InvalidationRule

CALLS: Counter[str] = Counter()


def _call(name: str) -> int:
    """Count one run of the view ``name``: its number (``n`` in the answers)."""
    CALLS[name] += 1
    return CALLS[name]


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
        return Response({"book": pk, "n": _call("book"), "q": request.query_params.get("q")})


class ProfileKey(ResponseCacheKeyConstructor):
    user = RequestValueKeyField("user.id", partition=True)


class ProfileView(Base):
    """Per-user content; cached per user thanks to the user partition."""

    @cache_response(ProfileKey)
    def get(self, request: Request) -> Response:
        return Response({"user": str(request.user), "n": _call("profile")})


class LeakyProfileView(Base):
    """Per-user content behind the default (shared) key: restflow refuses to cache it."""

    @cache_response()
    def get(self, request: Request) -> Response:
        return Response({"user": str(request.user), "n": _call("leaky")})


class PublicView(Base):
    @cache_response(public=True)
    def get(self, request: Request) -> Response:
        return Response({"n": _call("public")})


class StatusView(Base):
    @cache_response()
    def get(self, request: Request, code: int) -> Response:
        return Response({"code": code, "n": _call(f"status{code}")}, status=int(code))


class ConfiguredStatusView(Base):
    @cache_response(statuses=(200, 404))
    def get(self, request: Request, code: int) -> Response:
        return Response({"n": _call(f"configured{code}")}, status=int(code))


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
        response = Response({"n": _call(directive)})
        response["Cache-Control"] = directive
        return response


class StreamView(Base):
    @cache_response()
    def get(self, request: Request) -> StreamingHttpResponse:
        return StreamingHttpResponse(iter([b"a", b"b", str(_call("stream")).encode()]))


class PlainView(Base):
    @cache_response()
    def get(self, request: Request) -> HttpResponse:
        return HttpResponse(f"plain {_call('plain')}", content_type="text/plain")


class WriteView(Base):
    @cache_response()
    def post(self, request: Request) -> Response:
        return Response({"n": _call("post")})


@api_view(["GET"])
@authentication_classes([HeaderAuthentication])
@renderer_classes([JSONRenderer])
@cache_response()
def book_function(request: Request, pk: int) -> Response:
    return Response({"book": pk, "n": _call("function")})


class ErrorFilteredView(Base):
    @cache_response(statuses=(200, 500), cache_if=lambda r: r.status_code < 400)
    def get(self, request: Request) -> Response:
        return Response({"n": _call("filtered")}, status=500)


class VaryCookieView(Base):
    @cache_response()
    def get(self, request: Request) -> Response:
        response = Response({"n": _call("vary")})
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
    return HttpResponse(f"q={request.GET.get('q')} n={_call('django_search')}")


# -- issue 12: every view shape Django and DRF allow, each answering with who asked -------
# Each view's answer names the requesting user; the default key is shared, so caching an
# authenticated answer would serve Alice's page to Bob or to an anonymous client.


def _who(user: Any) -> str:
    return str(user.username) if user.is_authenticated else "anonymous"


def _answer(user: Any, name: str) -> dict[str, Any]:
    """Who asked, and the number of this run of the view ``name``."""
    return {"user": _who(user), "n": _call(name)}


class ShapeBase(APIView):
    authentication_classes = [HeaderAuthentication, SessionAuthentication]
    renderer_classes = [JSONRenderer]


class ShapeReqView(ShapeBase):
    @cache_response()
    def get(self, req: Request) -> Response:
        return Response(_answer(req.user, "shape_req"))


class ShapeArgsView(ShapeBase):
    @cache_response()
    def get(self, *args: Any, **kwargs: Any) -> Response:
        return Response(_answer(self.request.user, "shape_args"))


class ShapeRequestView(ShapeBase):
    @cache_response()
    def get(self, request: Request) -> Response:
        return Response(_answer(request.user, "shape_request"))


class ShapeViewSet(viewsets.ViewSet):
    authentication_classes = [HeaderAuthentication, SessionAuthentication]
    renderer_classes = [JSONRenderer]

    @cache_response()
    def list(self, req: Request) -> Response:
        return Response(_answer(req.user, "shape_list"))

    @cache_response()
    def retrieve(self, *args: Any, **kwargs: Any) -> Response:
        CALLS["shape_retrieve"] += 1
        user = _who(self.request.user)
        return Response({"user": user, "pk": kwargs["pk"], "n": CALLS["shape_retrieve"]})

    @action(detail=False, methods=["get"])
    @cache_response()
    def mine(self, req: Request) -> Response:
        return Response(_answer(req.user, "shape_action"))


@api_view(["GET"])
@authentication_classes([HeaderAuthentication, SessionAuthentication])
@renderer_classes([JSONRenderer])
@cache_response()
def shape_api_function(req: Request) -> Response:
    return Response(_answer(req.user, "shape_api_function"))


@cache_response()
def shape_django_function(req: HttpRequest) -> JsonResponse:
    return JsonResponse(_answer(req.user, "shape_django_function"))


class ShapeDjangoView(View):
    @method_decorator(cache_response())
    def get(self, req: HttpRequest) -> JsonResponse:
        return JsonResponse(_answer(req.user, "shape_django_view"))


class ShapeDjangoViewDirect(View):
    @cache_response()
    def get(self, req: HttpRequest) -> JsonResponse:
        return JsonResponse(_answer(req.user, "shape_django_view_direct"))


@cache_response()
async def shape_async_function(req: HttpRequest) -> JsonResponse:
    CALLS["shape_async_function"] += 1
    user = await req.auser()
    return JsonResponse({"user": _who(user), "n": CALLS["shape_async_function"]})


@cache_response()
def session_echo(request: HttpRequest) -> JsonResponse:
    """Answers with this visitor's session data (defect 10)."""
    CALLS["session_echo"] += 1
    if "note" in request.GET:
        request.session["note"] = request.GET["note"]
    return JsonResponse({"note": request.session.get("note"), "n": CALLS["session_echo"]})


class AbsoluteUriView(Base):
    """Answers with absolute URLs (defect 11): one host's answer is wrong for another."""

    @cache_response()
    def get(self, request: Request) -> Response:
        return Response({"self": request.build_absolute_uri(), "n": _call("absolute")})


class EchoQueryView(Base):
    """Answers with ``request.GET.get("a")``: the last of repeated values (defect 15)."""

    @cache_response()
    def get(self, request: Request) -> Response:
        return Response({"a": request.query_params.get("a"), "n": _call("echo_query")})


def _keyed_by(path: str, counter: str) -> type[APIView]:
    """An APIView answering with the user's name, keyed by ``RequestValueKeyField(path)``
    on top of the default key (defect 12)."""

    class Key(ResponseCacheKeyConstructor):
        user_value = RequestValueKeyField(path)

        class Meta:
            key_identifier = counter

    class KeyedView(Base):
        @cache_response(Key)
        def get(self, request: Request) -> Response:
            return Response(_answer(request.user, counter))

    return KeyedView


StaffFlagView = _keyed_by("user.is_staff", "staff_flag")  # not an identity
WholeUserView = _keyed_by("user", "whole_user")  # the identity, by pk


# -- issue 12: a rule without field_mapping on a view whose request is not named `request`


class BookListReqView(Base):
    """``get(self, req)``: ``req`` is the request, not a key a rule must map."""

    @cache_response(invalidates_on=[InvalidationRule(model=Book)])
    def get(self, req: Request) -> Response:
        CALLS["list_req"] += 1
        titles = sorted(Book.objects.values_list("title", flat=True))
        return Response({"titles": titles, "n": CALLS["list_req"]})


@cache_response(invalidates_on=[InvalidationRule(model=Book)])
def book_list_function(req: Any) -> JsonResponse:
    """A plain Django function view taking ``req``."""
    CALLS["list_function"] += 1
    titles = sorted(Book.objects.values_list("title", flat=True))
    return JsonResponse({"titles": titles, "n": CALLS["list_function"]})


# -- issue 20: a hit is the miss that stored it, byte for byte, in every negotiated format


class BrowsableBookView(APIView):
    """JSON, HTML or DRF's browsable API page (``?format=api``), by content negotiation."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    renderer_classes = [JSONRenderer, PlainHTMLRenderer, BrowsableAPIRenderer]

    @cache_response(set_cache_headers=True)
    def get(self, request: Request, pk: int) -> Response:
        return Response({"book": pk, "n": _call("browsable")}, headers={"X-Extra": "kept"})
