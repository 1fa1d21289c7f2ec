"""The plain queries behind the views, with no caching (the soak rig's peers' build,
tests/soak, serves the same API from them)."""

from __future__ import annotations

from typing import Any

from django.db.models import Avg, Count, QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from catalogue.models import Book, Review

BOOK_ORDERINGS = {"title", "-title", "published", "-published", "price", "-price"}
_RATING = {"count": Count("id"), "average": Avg("rating")}  # a book's review totals


def filtered_books(request: Request) -> QuerySet[Book]:
    """``?author=<id>``, ``?search=<words in the title>``, ``?ordering=<field>``."""
    query_params = request.query_params
    books = Book.objects.select_related("author")
    author = query_params.get("author")
    if author is not None:
        if not author.isdigit():
            raise ValidationError({"author": "Expected an author id."})
        books = books.filter(author_id=int(author))
    search = query_params.get("search")
    if search:
        books = books.filter(title__icontains=search)
    ordering = query_params.get("ordering", "title")
    if ordering not in BOOK_ORDERINGS:
        raise ValidationError({"ordering": f"One of {', '.join(sorted(BOOK_ORDERINGS))}."})
    return books.order_by(ordering, "id")


def rating_totals(book_id: int) -> dict[str, Any]:
    """How many reviews a book has and their average rating (an aggregate query)."""
    return _totals(Review.objects.filter(book_id=book_id).aggregate(**_RATING))


async def arating_totals(book_id: int) -> dict[str, Any]:
    """:func:`rating_totals` through Django's async ORM (the async summary view)."""
    return _totals(await Review.objects.filter(book_id=book_id).aaggregate(**_RATING))


def _totals(aggregate: dict[str, Any]) -> dict[str, Any]:
    average = aggregate["average"]
    return {"reviews": aggregate["count"], "average": None if average is None else round(average, 2)}
