"""Cached functions with rules, found by auto-discovery (this module is imported at
start-up because ``invalidation_testapp`` is a local app)."""

from __future__ import annotations

import collections
import threading
from typing import Any

from restflow.caching import ArgsKeyField, InvalidationRule, cache_result

from .models import Author, Book, Gadget, Tag

CALLS: collections.Counter[str] = collections.Counter()
_lock = threading.Lock()


def _count(name: str) -> None:
    with _lock:
        CALLS[name] += 1


def _partitioned(arg: str, model: Any, target: str = "pk", **rule_options: Any) -> Any:
    """Cache for 300 s, one partition per value of ``arg`` (key field ``arg`` less its
    ``_id``), dropped when a ``model`` row whose ``target`` equals that value changes."""
    return cache_result(
        key_constructor={
            "fields": {arg.removesuffix("_id"): ArgsKeyField(arg, partition=True)}
        },
        ttl=300,
        invalidates_on=[
            InvalidationRule(model=model, field_mapping={arg: target}, **rule_options)
        ],
    )


@_partitioned("author_id", Book, "author_id")
def titles_of_author(author_id: Any) -> list[str]:
    """Partitioned by author: a book save drops its author's partition only."""
    _count("titles_of_author")
    return sorted(Book.objects.filter(author_id=author_id).values_list("title", flat=True))


@_partitioned("author_id", Book, "author_id", rewarm=True)
def page_count_of_author(author_id: Any) -> int:
    """Rewarmed: after a book save the new total is computed right away."""
    _count("page_count_of_author")
    return sum(Book.objects.filter(author_id=author_id).values_list("pages", flat=True))


@_partitioned("gadget_id", Gadget)
def gadget_label(gadget_id: Any) -> str:
    """UUID primary keys travel as strings."""
    _count("gadget_label")
    return str(Gadget.objects.get(pk=gadget_id).label)


@_partitioned("tag_id", Tag)
def books_with_tag(tag_id: Any) -> list[str]:
    """A many-to-many change seen from the tag side."""
    _count("books_with_tag")
    return sorted(Book.objects.filter(tags__id=tag_id).values_list("title", flat=True))


@_partitioned("book_id", Book)
def tags_of_book(book_id: Any) -> list[str]:
    """A many-to-many change seen from the book side."""
    _count("tags_of_book")
    return sorted(Tag.objects.filter(books__id=book_id).values_list("name", flat=True))


@cache_result(
    ttl=300,
    invalidates_on=[InvalidationRule(model=Author, watch_fields=["name"])],
)
def author_names() -> list[str]:
    """Only a change of ``name`` matters (``watch_fields``), whatever save() is used."""
    _count("author_names")
    return sorted(Author.objects.values_list("name", flat=True))


@_partitioned("book_id", Book, watch_fields=["tags"])
def tag_count_of_book(book_id: Any) -> int:
    """Watches a many-to-many relation: saves of the book itself do not matter."""
    _count("tag_count_of_book")
    return Tag.objects.filter(books__id=book_id).count()
