"""System checks of the invalidation rules (registered by CachingConfig.ready())."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core import checks
from invalidation_helpers import settings_with
from invalidation_testapp.models import Author, Book

from restflow.caching import ArgsKeyField, InvalidationRule, cache_result
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


def test_mapping_an_unknown_parameter_is_a_warning(attach):
    rule_id = attach(InvalidationRule(model=Book, field_mapping={"author": "author_id",
                                                                 "size": "pages"}))
    ids = {m.id for m in messages_for(rule_id)}
    assert "restflow_caching.W003" in ids
