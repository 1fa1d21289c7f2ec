"""The catalogue API: every view needs a JWT; reads are cached, writes invalidate.

Caching choices, view by view:

* The catalogue (authors, books, their reviews) is the same for every signed-in user, so
  those responses are cached with ``public=True``; the default key covers the URL kwargs
  (the partition: ``book_id=3``), the whole query string and the negotiated format.
* ``/api/me/reviews/`` depends on who asks, so its key has a user-scoped field
  (``RequestValueKeyField("user.id", partition=True)``); without one ``cache_response``
  refuses to cache an authenticated request. As a partition named ``user``, it is what the
  view's review rule maps: a review drops its author's entry only.
* Invalidation rules say which model changes make which entries stale. Rules with a
  ``field_mapping`` drop one partition (the book that changed); the rules registered at
  the bottom of this module drop every entry of a list view.
* Every rule has ``batch=True``: the rules one save sets off travel to the broker as one
  job. A price change touches five cached views; without batching that is five jobs, and
  a one-process worker that runs near its capacity takes long to catch up after an
  outage (docs/benchmarks.md, the django-q worker-kill run).
* ``/api/books/<id>/summary/`` is the async path: a plain Django ``async def`` view (DRF
  has no async views) behind ``jwt_required`` (``catalogue/async_auth.py``: restflow's
  ``aauthenticate``), cached by the same ``cache_response`` with the same rules, its data
  read with Django's async ORM. Under an ASGI server it runs on the event loop.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalogue.async_auth import jwt_required
from catalogue.models import Author, Book, Review
from catalogue.queries import arating_totals
from catalogue.queries import filtered_books as _books
from catalogue.serializers import AuthorSerializer, BookSerializer, BookSummarySerializer, ReviewSerializer
from catalogue.services import rating_summary
from restflow.authentication import JWTAuthentication
from restflow.caching import (
    CacheRegister,
    InvalidationRule,
    RequestValueKeyField,
    ResponseCacheKeyConstructor,
    cache_response,
    set_response_cache_header,
)

CACHE_TTL = 600  # seconds; invalidation, not expiry, keeps the answers fresh


class CatalogueView(APIView):
    """Every endpoint of the catalogue requires a valid access token."""

    authentication_classes = [JWTAuthentication]
    permission_classes = [IsAuthenticated]


class PerUserKey(ResponseCacheKeyConstructor):
    """The default response key (URL kwargs, query string, format) + the user's id, as
    the partition named ``user`` (what an invalidation rule can map)."""

    user = RequestValueKeyField("user.id", partition=True)


# --------------------------------------------------------------------------- authors


class AuthorList(CatalogueView):
    @cache_response(ttl=CACHE_TTL, public=True, set_cache_headers=True)
    def get(self, request: Request) -> Response:
        authors = Author.objects.all()
        return Response(AuthorSerializer(authors, many=True).data)

    def post(self, request: Request) -> Response:
        serializer = AuthorSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data, status=status.HTTP_201_CREATED)


class AuthorDetail(CatalogueView):
    @cache_response(
        ttl=CACHE_TTL,
        public=True,
        set_cache_headers=True,
        invalidates_on=[
            InvalidationRule(model=Author, field_mapping={"author_id": "pk"}, batch=True),
            # The book count shown with the author.
            InvalidationRule(
                model=Book, field_mapping={"author_id": "author_id"}, trigger_on_create=True, batch=True
            ),
        ],
    )
    def get(self, request: Request, author_id: int) -> Response:
        author = get_object_or_404(Author, pk=author_id)
        return Response(AuthorSerializer(author).data)

    def patch(self, request: Request, author_id: int) -> Response:
        serializer = AuthorSerializer(
            get_object_or_404(Author, pk=author_id), data=request.data, partial=True
        )
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data)


# --------------------------------------------------------------------------- books


class BookList(CatalogueView):
    @cache_response(ttl=CACHE_TTL, public=True, set_cache_headers=True)
    def get(self, request: Request) -> Response:
        return Response(BookSerializer(_books(request), many=True).data)

    def post(self, request: Request) -> Response:
        serializer = BookSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data, status=status.HTTP_201_CREATED)


class BookDetail(CatalogueView):
    @cache_response(
        ttl=CACHE_TTL,
        public=True,
        set_cache_headers=True,
        invalidates_on=[
            InvalidationRule(model=Book, field_mapping={"book_id": "pk"}, batch=True),
            # The rating summary embedded in the answer.
            InvalidationRule(
                model=Review,
                field_mapping={"book_id": "book_id"},
                trigger_on_create=True,
                batch=True,
            ),
        ],
    )
    def get(self, request: Request, book_id: int) -> Response:
        book = get_object_or_404(Book.objects.select_related("author"), pk=book_id)
        return Response({**BookSerializer(book).data, "rating": rating_summary(book.pk)})

    def patch(self, request: Request, book_id: int) -> Response:
        serializer = BookSerializer(get_object_or_404(Book, pk=book_id), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data)

    def delete(self, request: Request, book_id: int) -> Response:
        get_object_or_404(Book, pk=book_id).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


@csrf_exempt  # the Bearer token is the credential, not a cookie (as DRF's views)
@require_safe  # GET and HEAD; 405 for the rest
@jwt_required  # above the cache: every request, a hit included, needs a valid token
@cache_response(
    ttl=CACHE_TTL,
    public=True,
    set_cache_headers=True,
    invalidates_on=[
        InvalidationRule(model=Book, field_mapping={"book_id": "pk"}, batch=True),
        InvalidationRule(
            model=Review, field_mapping={"book_id": "book_id"}, trigger_on_create=True, batch=True
        ),
    ],
)
async def book_summary(request: HttpRequest, book_id: int) -> HttpResponse:
    """A book's id, title and price with its review totals: the async endpoint."""
    try:
        book = await Book.objects.aget(pk=book_id)
    except Book.DoesNotExist:
        return JsonResponse({"detail": "No Book matches the given query.", "code": "not_found"}, status=404)
    summary = {**BookSummarySerializer(book).data, "rating": await arating_totals(book.pk)}
    return JsonResponse(summary, json_dumps_params={"separators": (",", ":")})  # as DRF writes JSON


class BookRating(CatalogueView):
    """Not a cached view: it shows the cached *service function* and its status."""

    def get(self, request: Request, book_id: int) -> Response:
        get_object_or_404(Book, pk=book_id)
        summary, metadata = rating_summary.get_with_metadata(book_id)
        return set_response_cache_header(Response(summary), metadata)


# --------------------------------------------------------------------------- reviews


class BookReviews(CatalogueView):
    @cache_response(
        ttl=CACHE_TTL,
        public=True,
        set_cache_headers=True,
        invalidates_on=[
            InvalidationRule(
                model=Review, field_mapping={"book_id": "book_id"}, trigger_on_create=True, batch=True
            ),
            InvalidationRule(
                model=Book, field_mapping={"book_id": "pk"}, watch_fields=["title"], batch=True
            ),
        ],
    )
    def get(self, request: Request, book_id: int) -> Response:
        get_object_or_404(Book, pk=book_id)
        reviews = Review.objects.filter(book_id=book_id).select_related("user", "book")
        return Response(ReviewSerializer(reviews, many=True).data)

    def post(self, request: Request, book_id: int) -> Response:
        book = get_object_or_404(Book, pk=book_id)
        serializer = ReviewSerializer(data=request.data, context={"request": request, "book": book})
        serializer.is_valid(raise_exception=True)
        serializer.save(book=book, user=request.user)
        return Response(serializer.data, status=status.HTTP_201_CREATED)


class MyReviews(CatalogueView):
    """The signed-in user's own reviews: a per-user payload, so a per-user key."""

    @cache_response(
        key_constructor=PerUserKey,
        ttl=CACHE_TTL,
        set_cache_headers=True,
        invalidates_on=[
            # The key field ``user`` <- the review's author: grace's entry survives ada's review.
            InvalidationRule(
                model=Review, field_mapping={"user": "user_id"}, trigger_on_create=True, batch=True
            ),
        ],
    )
    def get(self, request: Request) -> Response:
        reviews = Review.objects.filter(user=request.user).select_related("user", "book")
        return Response(ReviewSerializer(reviews, many=True).data)


# --------------------------------------------------------------------------- list rules


def _drop_every_entry(view: Any, model: type, **gates: Any) -> None:
    """Saves and deletes of ``model`` invalidate every entry of ``view``.

    A rule without ``field_mapping`` bumps the whole function's scope: one cache write,
    however many query strings and formats were cached. ``CacheRegister.add`` is used
    because these views take ``self`` and ``request`` only, so there is no argument to map.
    """
    rule = InvalidationRule(model=model, batch=True, **gates)
    CacheRegister.add(model=model, func=view, invalidation_rule=rule)


_drop_every_entry(AuthorList.get, Author, trigger_on_create=True)
_drop_every_entry(AuthorList.get, Book, trigger_on_create=True)  # the book counts
_drop_every_entry(BookList.get, Book, trigger_on_create=True)
# Only a new name shows in the book list; an edit of ``born`` leaves it alone.
_drop_every_entry(BookList.get, Author, watch_fields=["name"])
_drop_every_entry(BookDetail.get, Author, watch_fields=["name"])
# A renamed book shows in the reviews of every user who reviewed it.
_drop_every_entry(MyReviews.get, Book, watch_fields=["title"])
