"""Domain functions whose results are cached with ``cache_result``."""

from __future__ import annotations

from typing import Any

from catalogue.models import Review
from catalogue.queries import rating_totals
from restflow.caching import ArgsKeyField, InvalidationRule, cache_result


@cache_result(
    # One partition per book: a review of book 3 drops book 3's entry and no other.
    key_constructor={"fields": {"book": ArgsKeyField("book_id", partition=True)}},
    ttl=600,
    invalidates_on=[
        # A new, edited or deleted review changes the summary of its book (and, when a
        # review moves to another book, of both books).
        InvalidationRule(
            model=Review, field_mapping={"book_id": "book_id"}, trigger_on_create=True, batch=True
        ),
    ],
)
def rating_summary(book_id: int) -> dict[str, Any]:
    """How many reviews a book has and their average rating (an aggregate query)."""
    return rating_totals(book_id)
