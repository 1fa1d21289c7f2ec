"""The catalogue API as a team builds it today: simplejwt + drf-extensions' cache_response.

drf-extensions has no invalidation of its own; its documented answer is a key bit that
reads a per-model "last changed" stamp, bumped by a ``post_save`` / ``post_delete``
signal handler (synchronous, in the request that writes). That is what this build does,
with one stamp per model, so each view depends on the models it shows.

It serves every read of the demo and the write the workload sends (PATCH of a book). The
demo's async summary (a Django ``async def`` view behind restflow's ``aauthenticate``) is
a sync APIView here: neither simplejwt nor drf-extensions' ``cache_response`` has an async
path.
"""

from __future__ import annotations

import uuid
from typing import Any

from catalogue.models import Author, Book, Review
from catalogue.queries import filtered_books, rating_totals
from catalogue.serializers import AuthorSerializer, BookSerializer, BookSummarySerializer, ReviewSerializer
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.shortcuts import get_object_or_404
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_extensions.cache.decorators import cache_response
from rest_framework_extensions.key_constructor import bits
from rest_framework_extensions.key_constructor.constructors import DefaultKeyConstructor
from rest_framework_simplejwt.authentication import JWTAuthentication

TTL = 600
MODELS = {"author": Author, "book": Book, "review": Review}


def _stamp_key(name: str) -> str:
    return f"peer-changed:{name}"


def _bump(sender: type, **kwargs: Any) -> None:
    name = sender._meta.model_name
    # After the commit, as the restflow build invalidates: a read between the bump and
    # the commit would otherwise cache the old row under the new stamp.
    transaction.on_commit(lambda: cache.set(_stamp_key(name), uuid.uuid4().hex, None))


for _model in MODELS.values():
    post_save.connect(_bump, sender=_model, dispatch_uid=f"peer-bump-{_model.__name__}")
    post_delete.connect(_bump, sender=_model, dispatch_uid=f"peer-bump-del-{_model.__name__}")


class ChangedKeyBit(bits.KeyBitBase):
    """The "last changed" stamps of the models a view shows (one GET_MANY)."""

    def __init__(self, *models: str) -> None:
        super().__init__()
        self.models = models

    def get_data(self, params: Any, view_instance: Any, view_method: Any, request: Any,
                 args: Any, kwargs: Any) -> Any:
        stamps = cache.get_many([_stamp_key(m) for m in self.models])
        return [stamps.get(_stamp_key(m), "0") for m in self.models]


def keys(*models: str, per_user: bool = False) -> DefaultKeyConstructor:
    attrs: dict[str, Any] = {
        "kwargs": bits.KwargsKeyBit(),
        "query_params": bits.QueryParamsKeyBit(),
        "changed": ChangedKeyBit(*models),
    }
    if per_user:
        attrs["user"] = bits.UserKeyBit()
    return type("CatalogueKey", (DefaultKeyConstructor,), attrs)()


class CatalogueView(APIView):
    authentication_classes = [JWTAuthentication]
    permission_classes = [IsAuthenticated]


class AuthorList(CatalogueView):
    @cache_response(TTL, key_func=keys("author", "book"))
    def get(self, request: Request) -> Response:
        return Response(AuthorSerializer(Author.objects.all(), many=True).data)


class AuthorDetail(CatalogueView):
    @cache_response(TTL, key_func=keys("author", "book"))
    def get(self, request: Request, author_id: int) -> Response:
        return Response(AuthorSerializer(get_object_or_404(Author, pk=author_id)).data)


def _rating(book_id: int) -> dict[str, Any]:
    stamp = cache.get(_stamp_key("review"), "0")
    key = f"peer-rating:{book_id}:{stamp}"
    found = cache.get(key)
    if found is None:
        found = rating_totals(book_id)
        cache.set(key, found, TTL)
    return found


class BookList(CatalogueView):
    @cache_response(TTL, key_func=keys("book", "author"))
    def get(self, request: Request) -> Response:
        return Response(BookSerializer(filtered_books(request), many=True).data)


class BookDetail(CatalogueView):
    @cache_response(TTL, key_func=keys("book", "author", "review"))
    def get(self, request: Request, book_id: int) -> Response:
        book = get_object_or_404(Book.objects.select_related("author"), pk=book_id)
        return Response({**BookSerializer(book).data, "rating": _rating(book.pk)})

    def patch(self, request: Request, book_id: int) -> Response:
        serializer = BookSerializer(get_object_or_404(Book, pk=book_id), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data)


class BookSummary(CatalogueView):
    @cache_response(TTL, key_func=keys("book", "review"))
    def get(self, request: Request, book_id: int) -> Response:
        book = get_object_or_404(Book, pk=book_id)
        return Response({**BookSummarySerializer(book).data, "rating": rating_totals(book.pk)})


class BookRating(CatalogueView):
    def get(self, request: Request, book_id: int) -> Response:
        get_object_or_404(Book, pk=book_id)
        return Response(_rating(book_id))


class BookReviews(CatalogueView):
    @cache_response(TTL, key_func=keys("review", "book"))
    def get(self, request: Request, book_id: int) -> Response:
        get_object_or_404(Book, pk=book_id)
        reviews = Review.objects.filter(book_id=book_id).select_related("user", "book")
        return Response(ReviewSerializer(reviews, many=True).data)


class MyReviews(CatalogueView):
    @cache_response(TTL, key_func=keys("review", "book", per_user=True))
    def get(self, request: Request) -> Response:
        reviews = Review.objects.filter(user=request.user).select_related("user", "book")
        return Response(ReviewSerializer(reviews, many=True).data)
