"""Snapshot isolation (PostgreSQL REPEATABLE READ, MariaDB's REPEATABLE READ): a value
computed from a snapshot older than a committed invalidation is never served after it.

Not collected on SQLite: a reading transaction there blocks the writer instead of
keeping a snapshot (rollback journal), so the interleaving cannot happen. On the READ
COMMITTED cells the reader sees the commit and the test holds trivially; it is kept
there as the control.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from field_common.models import Article
from field_common.views import first_title
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db(transaction=True)


def _save_in_another_connection(pk: int, title: str) -> None:
    errors: list[BaseException] = []

    def write() -> None:
        try:
            article = Article.objects.get(pk=pk)
            article.title = title
            article.save()  # autocommit: committed, then invalidated (inline dispatcher)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=write)
    thread.start()
    thread.join()
    assert errors == []


def test_cache_result_computed_from_an_older_snapshot_is_not_served() -> None:
    article = Article.objects.create(title="First edition")
    with transaction.atomic():
        assert Article.objects.get(pk=article.pk).title == "First edition"  # snapshot taken
        _save_in_another_connection(article.pk, "Second edition")
        first_title()  # computed inside the old snapshot on REPEATABLE READ
    assert first_title() == "Second edition"


def test_cache_response_computed_from_an_older_snapshot_is_not_served() -> None:
    article = Article.objects.create(title="First edition")
    client = APIClient()
    path = "/shapes/apiview-request/shared/"
    with transaction.atomic():  # the request runs in the test's transaction, as under ATOMIC_REQUESTS
        assert Article.objects.get(pk=article.pk).title == "First edition"
        _save_in_another_connection(article.pk, "Second edition")
        client.get(path)
    assert client.get(path).json()["title"] == "Second edition"
