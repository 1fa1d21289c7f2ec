"""A rule's dispatcher follows DEFAULT_DISPATCHER, its settings block and the registry;
a dispatcher written the drf-restflow way (overriding dispatch()) is used for saves."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from django.core import checks
from invalidation_helpers import reset_state, settings_with
from invalidation_testapp.models import Author, Book

from restflow.caching import CACHE_MISSING, ArgsKeyField, InvalidationRule, cache_result
from restflow.caching.registry import CacheRegister
from restflow.dispatch.base import Dispatcher
from restflow.dispatch.registry import register_dispatcher, unregister_dispatcher

BY_AUTHOR = {"fields": {"author": ArgsKeyField("author_id", partition=True)}}


class Tagged(Dispatcher):
    """Runs the job inline after recording which name and tag (read from its block at
    construction) handled it."""

    name: ClassVar[str] = "live-a"
    seen: ClassVar[list[tuple[str, Any]]] = []

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.tag = self.settings().get("TAG")

    def dispatch(self, *, rule_ids: list[str], rule_kwargs: dict[str, Any], **context: Any) -> None:
        from restflow.caching.tasks import run_cache_rules

        if any("live_titles" in rule_id for rule_id in rule_ids):  # not the test app's rules
            Tagged.seen.append((self.name, self.tag))
        run_cache_rules(rule_ids, rule_kwargs, dispatcher_name=self.name)


class TaggedB(Tagged):
    name: ClassVar[str] = "live-b"


class Neither(Dispatcher):
    name: ClassVar[str] = "live-neither"


@pytest.fixture
def titles() -> Iterator[Any]:
    register_dispatcher(Tagged)
    register_dispatcher(TaggedB)
    Tagged.seen = []
    reset_state()

    @cache_result(
        key_constructor=BY_AUTHOR,
        invalidates_on=[InvalidationRule(model=Book, field_mapping={"author_id": "author_id"})],
    )
    def live_titles(author_id: int) -> list[str]:
        return sorted(Book.objects.filter(author_id=author_id).values_list("title", flat=True))

    yield live_titles
    CacheRegister.unregister(live_titles)
    unregister_dispatcher(Tagged.name)
    unregister_dispatcher(TaggedB.name)


def rename(book: Book, title: str) -> None:
    book.title = title
    book.save()


@pytest.mark.django_db(transaction=True)
def test_default_dispatcher_and_its_block_are_read_live(titles):
    book = Book.objects.create(author=Author.objects.create(name="Ann"), title="one")
    with settings_with(DEFAULT_DISPATCHER="live-a"):
        titles(book.author_id)
        rename(book, "two")
    with settings_with(DEFAULT_DISPATCHER="live-b"):
        titles(book.author_id)
        rename(book, "three")
    with settings_with(DEFAULT_DISPATCHER="live-b",
                       DISPATCHER_SETTINGS={"live-b": {"TAG": "blue"}}):
        titles(book.author_id)
        rename(book, "four")
        assert titles.get_cache_only(book.author_id) is CACHE_MISSING
    assert Tagged.seen == [("live-a", None), ("live-b", None), ("live-b", "blue")]


@pytest.mark.django_db(transaction=True)
def test_registering_a_class_again_reaches_rules_that_already_dispatched(titles):
    book = Book.objects.create(author=Author.objects.create(name="Ann"), title="one")

    class Replacement(Tagged):
        name: ClassVar[str] = "live-a"

        def __init__(self, **config: Any) -> None:
            super().__init__(**config)
            self.tag = "replacement"

    with settings_with(DEFAULT_DISPATCHER="live-a"):
        rename(book, "two")
        register_dispatcher(Replacement)
        rename(book, "three")
    assert Tagged.seen == [("live-a", None), ("live-a", "replacement")]


def test_the_instance_is_reused_while_nothing_changes():
    rule = InvalidationRule(model=Book, field_mapping={"author_id": "author_id"})
    with settings_with(DEFAULT_DISPATCHER="inline"):
        first = rule.get_dispatcher()
        assert rule.get_dispatcher() is first
    with settings_with(DEFAULT_DISPATCHER="inline"):
        assert rule.get_dispatcher() is not first  # re-resolved once after the change
        second = rule.get_dispatcher()
        assert rule.get_dispatcher() is second


@pytest.mark.django_db
def test_a_rule_with_a_class_implementing_neither_method_fails_the_checks():
    @cache_result(
        key_constructor=BY_AUTHOR,
        invalidates_on=[InvalidationRule(model=Book, field_mapping={"author_id": "author_id"},
                                         dispatcher=Neither)],
    )
    def neither_titles(author_id: int) -> list[str]:
        return []

    try:
        found = [m for m in checks.run_checks(tags=[checks.Tags.caches])
                 if "neither_titles" in m.msg]
    finally:
        CacheRegister.unregister(neither_titles)
    (message,) = found
    assert message.id == "restflow_caching.E004"
    assert "implements neither _dispatch() nor dispatch()" in message.msg
