"""Rules that map a view's *key fields* (named partitions) to model fields: a save drops
the entries of the partitions it touches and keeps every other one. Real commits, real
views through Django's test client, on local memory and on the test bed's Redis."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from invalidation_helpers import ON_TWO_BACKENDS
from invalidation_testapp.models import Author, Book, Member, MemberNote, Note
from invalidation_testapp.views import MyNotes

from restflow.caching import ArgsKeyField, RequestValueKeyField, cache_result

pytestmark = ON_TWO_BACKENDS


def get(client: Client, url: str, **headers: str) -> tuple[Any, str]:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.content
    return json.loads(response.content), response["X-Cache-status"]


@pytest.fixture
def book() -> Book:
    return Book.objects.create(author=Author.objects.create(name="Ann"), title="one")


@pytest.fixture
def clients() -> dict[str, Client]:
    users = {name: get_user_model().objects.create_user(username=name) for name in ("ada", "grace")}
    signed_in = {}
    for name, user in users.items():
        signed_in[name] = Client()
        signed_in[name].force_login(user)
    return signed_in


@pytest.mark.parametrize("url", ["/invalidation_testapp/my-notes/",
                                 "/invalidation_testapp/my-notes-async/"])
def test_a_save_drops_its_owners_entry_and_keeps_the_others(clients, book, url):
    ada, grace = clients["ada"], clients["grace"]
    assert get(ada, url) == ([], "MISS")
    assert get(grace, url) == ([], "MISS")
    assert get(ada, url) == ([], "HIT")
    Note.objects.create(owner=get_user_model().objects.get(username="ada"), book=book, text="hi")
    assert get(ada, url) == (["hi"], "MISS")
    assert get(grace, url) == ([], "HIT")


def test_moving_a_row_drops_the_old_and_the_new_owner(clients, book):
    url = "/invalidation_testapp/my-notes/"
    users = get_user_model().objects.in_bulk(field_name="username")
    note = Note.objects.create(owner=users["ada"], book=book, text="hi")
    assert get(clients["ada"], url) == (["hi"], "MISS")
    assert get(clients["grace"], url) == ([], "MISS")
    note.owner = users["grace"]
    note.save()
    assert get(clients["ada"], url) == ([], "MISS")
    assert get(clients["grace"], url) == (["hi"], "MISS")


def test_a_delete_drops_its_owners_entry_only(clients, book):
    url = "/invalidation_testapp/my-notes/"
    users = get_user_model().objects.in_bulk(field_name="username")
    note = Note.objects.create(owner=users["ada"], book=book, text="hi")
    get(clients["ada"], url), get(clients["grace"], url)
    note.delete()
    assert get(clients["ada"], url) == ([], "MISS")
    assert get(clients["grace"], url) == ([], "HIT")


def test_a_custom_user_with_a_uuid_primary_key(client):
    url = "/invalidation_testapp/member-notes/"
    ann, bob = Member.objects.create(name="ann"), Member.objects.create(name="bob")
    assert get(client, url, X_MEMBER="ann") == ([], "MISS")
    assert get(client, url, X_MEMBER="bob") == ([], "MISS")
    MemberNote.objects.create(member=ann, text="from ann")  # the job carries str(ann.pk)
    assert get(client, url, X_MEMBER="ann") == (["from ann"], "MISS")
    assert get(client, url, X_MEMBER="bob") == ([], "HIT")
    MemberNote.objects.create(member=bob, text="from bob")
    assert get(client, url, X_MEMBER="ann") == (["from ann"], "HIT")


def test_a_query_parameter_partition(client):
    url = "/invalidation_testapp/book-titles/?author={}"
    ann, bob = Author.objects.create(name="Ann"), Author.objects.create(name="Bob")
    Book.objects.create(author=ann, title="one")
    assert get(client, url.format(ann.pk)) == (["one"], "MISS")
    assert get(client, url.format(bob.pk)) == ([], "MISS")
    assert get(client, url.format(ann.pk) + "&page=2") == (["one"], "MISS")
    Book.objects.create(author=ann, title="two")
    assert get(client, url.format(ann.pk)) == (["one", "two"], "MISS")
    assert get(client, url.format(ann.pk) + "&page=2")[1] == "MISS"  # same partition
    assert get(client, url.format(bob.pk)) == ([], "HIT")


def test_delete_by_prefix_takes_a_key_field_value(clients):
    url = "/invalidation_testapp/my-notes/"
    get(clients["ada"], url), get(clients["grace"], url)
    ada = get_user_model().objects.get(username="ada")
    MyNotes.get.delete_by_prefix(user=ada.pk)
    assert get(clients["ada"], url)[1] == "MISS"
    assert get(clients["grace"], url)[1] == "HIT"


def test_a_key_field_that_cannot_address_a_partition_drops_every_entry(caplog):
    calls: list[str] = []

    @cache_result(key_constructor={"fields": {"who": RequestValueKeyField("user.id"),
                                              "tenant": ArgsKeyField("tenant", partition=True)}})
    def report(tenant: str, request: Any = None) -> str:
        calls.append(tenant)
        return tenant

    report("a"), report("b")
    with caplog.at_level(logging.WARNING, logger="restflow.caching.registry"):
        report.delete_by_prefix(who=1)  # not a partition field: never stale, all dropped
    assert "'who' is not a partition field" in caplog.text
    report("a"), report("b")
    assert calls == ["a", "b", "a", "b"]
    report.delete_by_prefix(tenant="a")
    report("a"), report("b")
    assert calls == ["a", "b", "a", "b", "a"]
