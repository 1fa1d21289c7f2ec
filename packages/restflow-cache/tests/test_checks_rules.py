"""System checks of the invalidation rules (registered by CachingConfig.ready())."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core import checks
from invalidation_helpers import settings_with
from invalidation_testapp.models import Author, Book, Note
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from restflow.caching import (
    ArgsKeyField,
    HostKeyField,
    InvalidationRule,
    QueryParamsKeyField,
    RequestValueKeyField,
    ResponseCacheKeyConstructor,
    cache_response,
    cache_result,
)
from restflow.caching.registry import CacheRegister


@pytest.fixture
def attach() -> Iterator[Any]:
    wrappers: list[Any] = []

    def attach(rule: InvalidationRule) -> str:
        @cache_result(key_constructor={"fields": {"a": ArgsKeyField("author_id", partition=True)}})
        def titles(author_id: Any, page: int = 1, *, size: int) -> list[str]:
            return []

        wrappers.append(titles)
        return CacheRegister.add(rule.model, titles, rule)

    yield attach
    for wrapper in wrappers:
        CacheRegister.unregister(wrapper)


def messages_for(rule_id: str) -> list[checks.CheckMessage]:
    return [m for m in checks.run_checks(tags=[checks.Tags.caches]) if rule_id in m.msg]


def test_the_test_apps_rules_pass():
    found = [m for m in checks.run_checks(tags=[checks.Tags.caches])
             if "invalidation_testapp.cached" in m.msg]
    assert found == []


def test_unknown_dispatcher_name_is_an_error(attach):
    rule_id = attach(InvalidationRule(model=Book, field_mapping={"author_id": "author_id",
                                                                 "size": "pages"},
                                      dispatcher="celeryy"))
    (message,) = messages_for(rule_id)
    assert message.id == "restflow_caching.E001"
    assert isinstance(message, checks.Error)
    assert "celeryy" in message.msg
    assert "inline" in message.hint


def test_unknown_default_dispatcher_is_an_error(attach):
    rule_id = attach(InvalidationRule(model=Book, field_mapping={"author_id": "author_id",
                                                                 "size": "pages"}))
    with settings_with(DEFAULT_DISPATCHER="nope"):
        (message,) = messages_for(rule_id)
    assert message.id == "restflow_caching.E001"
    assert "DEFAULT_DISPATCHER" in message.msg


def test_rewarm_that_can_never_succeed_is_a_warning(attach):
    rule_id = attach(InvalidationRule(model=Book, field_mapping={"author_id": "author_id"},
                                      rewarm=True))
    (message,) = messages_for(rule_id)
    assert message.id == "restflow_caching.W001"
    assert "size" in message.msg
    assert "page" not in message.msg.replace("size", "")  # has a default


def test_unknown_watch_field_is_a_warning(attach):
    rule_id = attach(InvalidationRule(model=Author, field_mapping={"author_id": "pk",
                                                                   "size": "pk"},
                                      watch_fields=["name", "nmae"]))
    (message,) = messages_for(rule_id)
    assert message.id == "restflow_caching.W002"
    assert "nmae" in message.msg


def test_mapping_neither_a_parameter_nor_a_key_field_is_an_error(attach):
    rule_id = attach(InvalidationRule(model=Book, field_mapping={"author": "author_id",
                                                                 "size": "pages"}))
    (message,) = messages_for(rule_id)
    assert message.id == "restflow_caching.E002"
    assert isinstance(message, checks.Error)
    assert "maps author," in message.msg
    assert message.hint == ("Names that would work: author_id (parameter), page (parameter), "
                            "size (parameter), a (key field).")


def test_the_view_rules_that_map_key_fields_pass():
    found = [m for m in checks.run_checks(tags=[checks.Tags.caches])
             if "invalidation_testapp.views" in m.msg]
    assert found == []


@pytest.fixture
def attach_view() -> Iterator[Any]:
    wrappers: list[Any] = []

    def attach(rule: InvalidationRule, **fields: Any) -> str:
        base = ResponseCacheKeyConstructor
        key = type(base)("Key", (base,), {**fields, "__module__": __name__})

        class Notes(APIView):
            @cache_response(key_constructor=key)
            def get(self, request: Request) -> Response:
                return Response([])

        wrappers.append(Notes.get)
        return CacheRegister.add(rule.model, Notes.get, rule)

    yield attach
    for wrapper in wrappers:
        CacheRegister.unregister(wrapper)


def test_a_view_mapping_an_unknown_name_lists_its_key_fields(attach_view):
    rule_id = attach_view(InvalidationRule(model=Note, field_mapping={"owner": "owner_id"}),
                          user=RequestValueKeyField("user.id", partition=True))
    (message,) = messages_for(rule_id)
    assert message.id == "restflow_caching.E002"
    assert message.hint == "Names that would work: user (key field)."


def test_a_view_without_partition_fields_has_nothing_to_map(attach_view):
    rule_id = attach_view(InvalidationRule(model=Note, field_mapping={"user": "owner_id"}))
    (message,) = messages_for(rule_id)
    assert message.id == "restflow_caching.E002"
    assert "drop field_mapping" in message.hint


@pytest.mark.parametrize(("field", "why"), [
    (RequestValueKeyField("user.id"), "is not a partition field"),
    (QueryParamsKeyField("*", partition=True), "reads several values"),
    (HostKeyField(partition=True), "reads several values"),
])
def test_mapping_a_key_field_that_cannot_address_a_partition_is_an_error(attach_view, field, why):
    rule_id = attach_view(InvalidationRule(model=Note, field_mapping={"user": "owner_id"}),
                          user=field)
    (message,) = messages_for(rule_id)
    assert message.id == "restflow_caching.E003"
    assert why in message.msg
    assert "partition=True" in message.hint


class BookNotesKey(ResponseCacheKeyConstructor):
    user = RequestValueKeyField("user.id", partition=True)


class BookNotes(APIView):
    """``/books/<book_id>/my-notes/``: the URL kwargs (``path_params``) come before ``user``."""

    @cache_response(key_constructor=BookNotesKey)
    def get(self, request: Request, book_id: int) -> Response:
        return Response([])


@pytest.fixture
def attach_book_notes() -> Iterator[Any]:
    yield lambda rule: CacheRegister.add(rule.model, BookNotes.get, rule)
    CacheRegister.unregister(BookNotes.get)


def test_mapping_a_key_field_but_not_an_earlier_level_is_a_warning(attach_book_notes):
    rule_id = attach_book_notes(InvalidationRule(model=Note, field_mapping={"user": "owner_id"}))
    (message,) = messages_for(rule_id)
    assert message.id == "restflow_caching.W004"
    assert "'path_params'" in message.msg
    assert message.hint.startswith("Map book_id too")


def test_mapping_every_level_passes(attach_book_notes):
    rule_id = attach_book_notes(InvalidationRule(
        model=Note, field_mapping={"book_id": "book_id", "user": "owner_id"}))
    assert messages_for(rule_id) == []
