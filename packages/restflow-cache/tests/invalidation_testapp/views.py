"""DRF views whose cached responses follow the rows they show."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from restflow.caching import (
    InvalidationRule,
    QueryParamsKeyField,
    RequestValueKeyField,
    ResponseCacheKeyConstructor,
    cache_response,
)

from .models import Book, Member, MemberNote, Note


class BookDetail(APIView):
    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    @cache_response(
        set_cache_headers=True,
        invalidates_on=[InvalidationRule(model=Book, field_mapping={"pk": "pk"})],
    )
    def get(self, request: Request, pk: int) -> Response:
        book = Book.objects.get(pk=pk)
        return Response({"title": book.title, "tags": sorted(t.name for t in book.tags.all())})


# --------------------------------------------------------------------------- per-user answers
# Keyed by the requesting user as a *named partition*; the rules map that key field to the
# row's owner, so a save drops its owner's entries only.


class OwnerKey(ResponseCacheKeyConstructor):
    user = RequestValueKeyField("user.id", partition=True)


def cache_owner_notes() -> Any:
    """The cache of a user's notes (the view and the async function share it)."""
    return cache_response(
        key_constructor=OwnerKey,
        set_cache_headers=True,
        invalidates_on=[
            InvalidationRule(model=Note, field_mapping={"user": "owner_id"}, trigger_on_create=True)
        ],
    )


class MyNotes(APIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]

    @cache_owner_notes()
    def get(self, request: Request) -> Response:
        notes = Note.objects.filter(owner=request.user).order_by("id")
        return Response([note.text for note in notes])


@cache_owner_notes()
async def my_notes_async(request: HttpRequest) -> JsonResponse:
    user = await request.auser()
    if not user.is_authenticated:
        return JsonResponse({"detail": "sign in"}, status=403)
    texts = [note.text async for note in Note.objects.filter(owner=user).order_by("id")]
    return JsonResponse(texts, safe=False)


class MemberAuthentication(BaseAuthentication):
    """``X-Member: <name>`` signs in that :class:`Member` (tests only)."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        name = request.META.get("HTTP_X_MEMBER")
        return (Member.objects.get(name=name), None) if name else None


class MemberKey(ResponseCacheKeyConstructor):
    member = RequestValueKeyField("user.pk", partition=True)


class MemberNotes(APIView):
    authentication_classes = [MemberAuthentication]
    permission_classes = [IsAuthenticated]

    @cache_response(
        key_constructor=MemberKey,
        set_cache_headers=True,
        invalidates_on=[
            InvalidationRule(
                model=MemberNote, field_mapping={"member": "member_id"}, trigger_on_create=True
            )
        ],
    )
    def get(self, request: Request) -> Response:
        notes = MemberNote.objects.filter(member=request.user).order_by("id")
        return Response([note.text for note in notes])


class AuthorQueryKey(ResponseCacheKeyConstructor):
    author = QueryParamsKeyField("author", partition=True)


class BookTitles(APIView):
    """``?author=<id>``: the query parameter is the partition a book's save drops."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    @cache_response(
        key_constructor=AuthorQueryKey,
        public=True,
        set_cache_headers=True,
        invalidates_on=[
            InvalidationRule(model=Book, field_mapping={"author": "author_id"}, trigger_on_create=True)
        ],
    )
    def get(self, request: Request) -> Response:
        books = Book.objects.filter(author_id=request.query_params["author"]).order_by("id")
        return Response([book.title for book in books])
