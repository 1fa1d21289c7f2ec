"""A cached function invalidated by saves of a model, as drf-restflow declared them."""

from __future__ import annotations

from typing import Any

from invalidation_testapp.models import Book

from restflow.caching import ArgsKeyField, InvalidationRule, cache_result

CALLS: list[int] = []


@cache_result(
    key_constructor={"fields": {"author": ArgsKeyField("author_id", partition=True)}},
    invalidates_on=[InvalidationRule(model=Book, field_mapping={"author_id": "author_id"})],
)
def titles_by_author(author_id: int) -> list[str]:
    CALLS.append(author_id)
    return sorted(Book.objects.filter(author_id=author_id).values_list("title", flat=True))


def rename(book: Any, title: str) -> None:
    book.title = title
    book.save()
