"""A module no app imports at start-up: a worker imports it when it meets its rule id."""

from __future__ import annotations

from typing import Any

from invalidation_testapp.models import Book

from restflow.caching import ArgsKeyField, InvalidationRule, cache_result


@cache_result(
    key_constructor={"fields": {"author": ArgsKeyField("author_id", partition=True)}},
    invalidates_on=[InvalidationRule(model=Book, field_mapping={"author_id": "author_id"})],
)
def late_titles(author_id: Any) -> list[str]:
    return sorted(Book.objects.filter(author_id=author_id).values_list("title", flat=True))
