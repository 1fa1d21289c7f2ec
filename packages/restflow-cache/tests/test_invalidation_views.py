"""Cached DRF responses follow the rows they show: a save, a delete or a tag change
makes the next request see the new data. Real commits, real views, two cache backends."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from invalidation_helpers import ON_TWO_BACKENDS
from invalidation_testapp.models import Author, Book, Tag
from invalidation_testapp.views import BookDetail

from restflow.caching.registry import CacheRegister
from restflow.caching.tasks import run_cache_rules

pytestmark = ON_TWO_BACKENDS

RULE_ID = "invalidation_testapp.views.BookDetail.get#invalidation_testapp.Book#0"


def get(client: Client, book: Book) -> tuple[Any, str]:
    response = client.get(f"/invalidation_testapp/books/{book.pk}/")
    assert response.status_code == 200
    return json.loads(response.content), response["X-Cache-status"]


@pytest.fixture
def books() -> tuple[Book, Book]:
    author = Author.objects.create(name="Ann")
    return (Book.objects.create(author=author, title="one"),
            Book.objects.create(author=author, title="two"))


def test_a_save_refreshes_the_response_of_that_book_only(client, books):
    first, second = books
    assert get(client, first) == ({"title": "one", "tags": []}, "MISS")
    assert get(client, second)[1] == "MISS"
    assert get(client, first)[1] == "HIT"
    first.title = "uno"
    first.save()
    assert get(client, first) == ({"title": "uno", "tags": []}, "MISS")
    assert get(client, second) == ({"title": "two", "tags": []}, "HIT")


def test_a_tag_change_refreshes_the_response(client, books):
    first, _ = books
    get(client, first)
    first.tags.add(Tag.objects.create(name="red"))
    assert get(client, first) == ({"title": "one", "tags": ["red"]}, "MISS")


def test_the_view_rule_has_a_stable_id_a_worker_can_resolve(client, books):
    first, _ = books
    assert CacheRegister.get_rule(RULE_ID).func is BookDetail.__dict__["get"]
    get(client, first)
    run_cache_rules([RULE_ID], {RULE_ID: {"pk": first.pk}}, dispatcher_name="celery")
    assert get(client, first)[1] == "MISS"
