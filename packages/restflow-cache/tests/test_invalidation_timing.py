"""When invalidation runs: after the commit of the database that was written, never
after a rollback, never for a rolled-back savepoint. Real commits (transaction=True)."""

from __future__ import annotations

import pytest
from django.db import transaction
from invalidation_helpers import ON_TWO_BACKENDS
from invalidation_testapp.cached import CALLS, titles_of_author
from invalidation_testapp.models import Author, Book

from restflow.caching import CACHE_MISSING

pytestmark = ON_TWO_BACKENDS


def cached(author: Author) -> bool:
    return titles_of_author.get_cache_only(author.pk) is not CACHE_MISSING


def save_and_roll_back(book: Book) -> None:
    with transaction.atomic():
        book.title = "uno"
        book.save()
        raise RuntimeError("roll back")


@pytest.fixture
def library() -> tuple[Author, Author, Book]:
    first = Author.objects.create(name="Ann")
    second = Author.objects.create(name="Bob")
    book = Book.objects.create(author=first, title="one")
    Book.objects.create(author=second, title="two")
    assert titles_of_author(first.pk) == ["one"]
    assert titles_of_author(second.pk) == ["two"]
    CALLS.clear()
    return first, second, book


@pytest.fixture
def book_on_other(library: tuple[Author, Author, Book]) -> tuple[Author, Book]:
    """The first author (cached) and a book of its twin (same pk) on the 'other' database."""
    first = library[0]
    author = Author.objects.using("other").create(pk=first.pk, name="Ann")
    book = Book.objects.using("other").create(author=author, title="elsewhere")
    CALLS.clear()
    return first, book


def test_autocommit_save_invalidates_its_partition_only(library):
    first, second, book = library
    book.title = "uno"
    book.save()
    assert not cached(first)
    assert cached(second)
    assert titles_of_author(first.pk) == ["uno"]
    assert titles_of_author(second.pk) == ["two"]
    assert CALLS["titles_of_author"] == 1


def test_nothing_runs_before_the_commit(library):
    first, _, book = library
    with transaction.atomic():
        book.title = "uno"
        book.save()
        assert cached(first), "invalidated before the commit"
    assert not cached(first)
    assert titles_of_author(first.pk) == ["uno"]


def test_nothing_runs_after_a_rollback(library):
    first, _, book = library
    with pytest.raises(RuntimeError, match="roll back"):
        save_and_roll_back(book)
    assert cached(first)
    assert titles_of_author(first.pk) == ["one"]
    assert CALLS["titles_of_author"] == 0


def test_a_rolled_back_savepoint_discards_its_invalidations(library):
    first, second, book = library
    other_book = Book.objects.get(author=second)
    with transaction.atomic():
        other_book.title = "dos"
        other_book.save()
        with pytest.raises(RuntimeError, match="roll back"):
            save_and_roll_back(book)  # a savepoint inside the outer block
    assert cached(first), "the rolled-back savepoint's save invalidated"
    assert not cached(second)
    assert titles_of_author(second.pk) == ["dos"]


def test_delete_inside_an_outer_transaction(library):
    first, _, book = library
    with transaction.atomic():
        book.delete()
        assert book.pk is None  # Django resets it before the commit
        assert cached(first)
    assert not cached(first)
    assert titles_of_author(first.pk) == []


def test_creation_does_not_trigger_by_default(library):
    first, _, _ = library
    Book.objects.create(author=first, title="new")
    assert cached(first)
    assert titles_of_author(first.pk) == ["one"]  # stale by design: trigger_on_create=False


def test_a_book_moving_to_another_author_invalidates_both(library):
    first, second, book = library
    book.author = second
    book.save()
    assert not cached(first)
    assert not cached(second)
    assert titles_of_author(first.pk) == []
    assert titles_of_author(second.pk) == ["one", "two"]


def test_a_move_with_update_fields_invalidates_both(library):
    first, second, book = library
    book.author_id = second.pk
    book.save(update_fields=["author"])
    assert not cached(first)
    assert not cached(second)


def test_a_second_save_after_a_move_only_touches_the_new_partition(library):
    first, second, book = library
    book.author = second
    book.save()
    assert titles_of_author(first.pk) == []
    assert titles_of_author(second.pk) == ["one", "two"]
    book.title = "uno"
    book.save()
    assert cached(first), "the old partition was invalidated again"
    assert not cached(second)


@pytest.mark.django_db(transaction=True, databases={"default", "other"})
@pytest.mark.parametrize(
    ("block_on", "waits"),
    [("other", True), ("default", False)],
    ids=["a-block-on-other-holds-them", "a-block-on-default-does-not"],
)
def test_writes_on_the_other_alias_wait_for_that_alias_only(book_on_other, block_on, waits):
    first, book = book_on_other
    with transaction.atomic(using=block_on):
        book.title = "ailleurs"
        book.save(using="other")  # in autocommit on 'other' when the block is on 'default'
        assert cached(first) is waits, f"a save on 'other' inside a block on {block_on!r}"
    assert not cached(first)
