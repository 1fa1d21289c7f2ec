"""The helpers for writes without signals: QuerySet.update() and bulk_update()."""

from __future__ import annotations

import pytest
from django.db import transaction
from invalidation_helpers import ON_TWO_BACKENDS
from invalidation_testapp.cached import CALLS, author_names, titles_of_author
from invalidation_testapp.models import Author, Book

from restflow.caching import CACHE_MISSING, ArgsKeyField, InvalidationRule, cache_result
from restflow.caching.bulk import (
    bulk_create_and_invalidate,
    bulk_update_and_invalidate,
    invalidate_instances,
    update_and_invalidate,
)

pytestmark = ON_TWO_BACKENDS


def cached(author: Author) -> bool:
    return titles_of_author.get_cache_only(author.pk) is not CACHE_MISSING


@pytest.fixture
def authors() -> list[Author]:
    found = [Author.objects.create(name=name) for name in ("Ann", "Bob", "Cy")]
    for index, author in enumerate(found):
        Book.objects.create(author=author, title=f"book-{index}")
        titles_of_author(author.pk)
    CALLS.clear()
    return found


def test_plain_queryset_update_is_not_seen(authors):
    Book.objects.filter(author=authors[0]).update(title="changed")
    assert cached(authors[0])  # Django sends no signal: the reason the helpers exist


def test_update_and_invalidate_drops_the_updated_rows_partitions(authors):
    count = update_and_invalidate(Book.objects.filter(author=authors[0]), title="changed")
    assert count == 1
    assert not cached(authors[0])
    assert cached(authors[1])
    assert titles_of_author(authors[0].pk) == ["changed"]


def test_update_and_invalidate_moves_drop_old_and_new_partitions(authors):
    update_and_invalidate(Book.objects.filter(author=authors[0]), author=authors[1])
    assert not cached(authors[0])
    assert not cached(authors[1])
    assert cached(authors[2])
    assert titles_of_author(authors[1].pk) == ["book-0", "book-1"]


def test_update_and_invalidate_waits_for_the_commit(authors):
    with transaction.atomic():
        update_and_invalidate(Book.objects.filter(author=authors[0]), title="changed")
        assert cached(authors[0])
    assert not cached(authors[0])


def test_update_and_invalidate_honours_watch_fields(authors):
    assert author_names() == ["Ann", "Bob", "Cy"]
    update_and_invalidate(Author.objects.filter(name="Ann"), country="de")
    assert author_names.get_cache_only() is not CACHE_MISSING
    update_and_invalidate(Author.objects.filter(name="Ann"), name="Anna")
    assert author_names() == ["Anna", "Bob", "Cy"]


def test_bulk_update_and_invalidate(authors):
    books = list(Book.objects.filter(author__in=authors[:2]).order_by("pk"))
    books[0].title = "first"
    books[1].author = authors[2]
    count = bulk_update_and_invalidate(books, ["title", "author"])
    assert count == 2
    assert not cached(authors[0])
    assert not cached(authors[1])  # book-1 left author 1 ...
    assert not cached(authors[2])  # ... for author 2
    assert titles_of_author(authors[2].pk) == ["book-1", "book-2"]


def test_invalidate_instances_for_raw_writes(authors):
    book = Book.objects.get(author=authors[0])
    Book.objects.filter(pk=book.pk).update(title="raw")
    invalidate_instances([book], update_fields=["title"])
    assert not cached(authors[0])
    assert cached(authors[1])


def test_one_job_for_all_rows(authors, monkeypatch):
    from restflow.dispatch.inline import InlineDispatcher

    calls = []
    original = InlineDispatcher.dispatch

    def spy(self, *, rule_ids, rule_kwargs, **context):
        calls.append((list(rule_ids), rule_kwargs))
        return original(self, rule_ids=rule_ids, rule_kwargs=rule_kwargs, **context)

    monkeypatch.setattr(InlineDispatcher, "dispatch", spy)
    update_and_invalidate(Book.objects.all(), pages=7)
    assert len(calls) == 1
    rule_ids, rule_kwargs = calls[0]
    titles_rule = "invalidation_testapp.cached.titles_of_author#invalidation_testapp.Book#0"
    assert titles_rule in rule_ids
    assert sorted(k["author_id"] for k in rule_kwargs[titles_rule]) == sorted(
        a.pk for a in authors
    )
    assert not any(cached(author) for author in authors)


def test_bulk_create_and_invalidate_runs_the_creation_rules(authors):
    from restflow.caching.registry import CacheRegister

    @cache_result(
        key_constructor={"fields": {"a": ArgsKeyField("author_id", partition=True)}},
        invalidates_on=[InvalidationRule(
            model=Book, field_mapping={"author_id": "author_id"}, trigger_on_create=True)],
    )
    def book_count(author_id):
        return Book.objects.filter(author_id=author_id).count()

    try:
        assert book_count(authors[0].pk) == 1
        Book.objects.bulk_create([Book(author=authors[0], title="x")])
        assert book_count(authors[0].pk) == 1  # no signal: stale
        created = bulk_create_and_invalidate([Book(author=authors[0], title="y")])
        assert created[0].pk is not None
        assert book_count(authors[0].pk) == 3
        assert cached(authors[0])  # titles_of_author does not run on creation
    finally:
        CacheRegister.unregister(book_count)
