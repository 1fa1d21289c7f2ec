"""What triggers a rule: watch_fields on every kind of save, many-to-many changes,
primary keys of every type, rewarm. Real commits (transaction=True)."""

from __future__ import annotations

import uuid

import pytest
from django.db import transaction
from invalidation_helpers import ON_TWO_BACKENDS
from invalidation_testapp.cached import (
    CALLS,
    author_names,
    books_with_tag,
    gadget_label,
    page_count_of_author,
    tag_count_of_book,
    tags_of_book,
)
from invalidation_testapp.models import Author, Book, Gadget, Tag

from restflow.caching import CACHE_MISSING

pytestmark = ON_TWO_BACKENDS


# ------------------------------------------------------------------ watch_fields


@pytest.fixture
def ann() -> Author:
    author = Author.objects.create(name="Ann", country="fr")
    assert author_names() == ["Ann"]
    return Author.objects.get(pk=author.pk)  # loaded from the database


def names_cached() -> bool:
    return author_names.get_cache_only() is not CACHE_MISSING


def test_plain_save_changing_a_watched_field_invalidates(ann):
    ann.name = "Anna"
    ann.save()
    assert not names_cached()
    assert author_names() == ["Anna"]


def test_plain_save_changing_only_unwatched_fields_does_not(ann):
    ann.country = "de"
    ann.save()
    assert names_cached()


def test_plain_save_of_an_instance_built_without_loaded_values_invalidates(ann):
    Author(pk=ann.pk, name="Ann", country="de").save()  # values unknown: play safe
    assert not names_cached()


def test_update_fields_naming_a_watched_field_invalidates(ann):
    ann.name = "Anna"
    ann.save(update_fields=["name"])
    assert not names_cached()


def test_update_fields_not_naming_a_watched_field_does_not(ann):
    ann.name = "Anna"
    ann.country = "de"
    ann.save(update_fields=["country"])
    assert names_cached()


def test_the_loaded_values_follow_each_save(ann):
    ann.name = "Anna"
    ann.save()
    assert author_names() == ["Anna"]
    ann.country = "de"
    ann.save()  # name unchanged since the previous save
    assert names_cached()


def test_a_partial_save_does_not_hide_later_changes_of_other_fields(ann):
    ann.name = "Anna"
    ann.country = "de"
    ann.save(update_fields=["country"])  # the name is not written
    assert names_cached()
    ann.save()  # now it is
    assert not names_cached()
    assert author_names() == ["Anna"]


def test_a_rolled_back_save_does_not_hide_the_change_from_the_next_save(ann):
    with pytest.raises(RuntimeError, match="roll back"):
        rename_and_roll_back(ann)
    assert author_names() == ["Ann"]
    ann.save()  # the instance still says "Anna"; the database says "Ann"
    assert author_names() == ["Anna"]


def rename_and_roll_back(author: Author) -> None:
    with transaction.atomic():
        author.name = "Anna"
        author.save()
        raise RuntimeError("roll back")


def test_deleting_ignores_watch_fields(ann):
    ann.delete()
    assert not names_cached()


def test_deferred_watched_field_left_alone_is_not_written():
    Author.objects.create(name="Ann")
    assert author_names() == ["Ann"]
    author = Author.objects.defer("name").get()
    author.country = "de"
    author.save()  # Django saves the loaded fields only
    assert names_cached()


def test_deferred_watched_field_assigned_counts_as_changed():
    Author.objects.create(name="Ann")
    assert author_names() == ["Ann"]
    author = Author.objects.defer("name").get()
    author.name = "Anna"
    author.save()
    assert not names_cached()
    assert author_names() == ["Anna"]


# ------------------------------------------------------------------ many-to-many


@pytest.fixture
def shelf() -> tuple[Book, Tag, Tag]:
    author = Author.objects.create(name="Ann")
    book = Book.objects.create(author=author, title="one")
    red, blue = Tag.objects.create(name="red"), Tag.objects.create(name="blue")
    assert tags_of_book(book.pk) == []
    assert books_with_tag(red.pk) == []
    assert books_with_tag(blue.pk) == []
    CALLS.clear()
    return book, red, blue


def test_m2m_add_invalidates_both_sides(shelf):
    book, red, blue = shelf
    book.tags.add(red)
    assert tags_of_book(book.pk) == ["red"]
    assert books_with_tag(red.pk) == ["one"]
    assert books_with_tag.get_cache_only(blue.pk) == []  # untouched tag stays cached


def test_m2m_add_from_the_reverse_side(shelf):
    book, red, _ = shelf
    red.books.add(book)
    assert tags_of_book(book.pk) == ["red"]
    assert books_with_tag(red.pk) == ["one"]


def test_m2m_remove_and_clear(shelf):
    book, red, blue = shelf
    book.tags.add(red, blue)
    assert tags_of_book(book.pk) == ["blue", "red"]
    assert books_with_tag(blue.pk) == ["one"]
    book.tags.remove(red)
    assert tags_of_book(book.pk) == ["blue"]
    assert books_with_tag(blue.pk) == ["one"]
    book.tags.clear()
    assert tags_of_book(book.pk) == []
    assert books_with_tag(blue.pk) == []


def test_m2m_set(shelf):
    book, red, blue = shelf
    book.tags.set([red])
    assert books_with_tag(red.pk) == ["one"]
    book.tags.set([blue])
    assert books_with_tag(red.pk) == []
    assert books_with_tag(blue.pk) == ["one"]
    assert tags_of_book(book.pk) == ["blue"]


def test_watching_a_relation_ignores_saves_and_sees_changes_from_both_sides(shelf):
    book, red, blue = shelf
    assert tag_count_of_book(book.pk) == 0
    book.title = "renamed"
    book.save()
    assert tag_count_of_book.get_cache_only(book.pk) == 0
    book.tags.add(red)
    assert tag_count_of_book(book.pk) == 1
    blue.books.add(book)
    assert tag_count_of_book(book.pk) == 2


# ------------------------------------------------------------------ primary key types


def test_uuid_primary_key_travels_as_text():
    gadget = Gadget.objects.create(label="old")
    assert isinstance(gadget.pk, uuid.UUID)
    assert gadget_label(gadget.pk) == "old"
    gadget.label = "new"
    gadget.save()
    assert gadget_label.get_cache_only(gadget.pk) is CACHE_MISSING
    assert gadget_label.get_cache_only(str(gadget.pk)) is CACHE_MISSING
    assert gadget_label(gadget.pk) == "new"


# ------------------------------------------------------------------ rewarm


def test_rewarm_recomputes_once_and_the_next_read_is_a_hit():
    author = Author.objects.create(name="Ann")
    book = Book.objects.create(author=author, title="one", pages=100)
    assert page_count_of_author(author.pk) == 100
    CALLS.clear()
    book.pages = 250
    book.save()
    assert CALLS["page_count_of_author"] == 1  # the rewarm itself
    assert page_count_of_author(author.pk) == 250
    assert CALLS["page_count_of_author"] == 1


def test_rewarm_is_not_triggered_by_a_creation():
    author = Author.objects.create(name="Ann")
    assert page_count_of_author(author.pk) == 0
    CALLS.clear()
    Book.objects.create(author=author, title="one", pages=100)
    assert CALLS["page_count_of_author"] == 0
