"""InvalidationRule: construction checks, invalidator and dispatcher resolution."""

from __future__ import annotations

import pytest
from django.test import override_settings

from restflow.caching.rules import InvalidationRule
from restflow.dispatch.asyncio import AsyncIODispatcher
from restflow.dispatch.base import Dispatcher
from restflow.dispatch.inline import InlineDispatcher
from restflow.dispatch.registry import DispatcherNotFoundError
from restflow.dispatch.threadpool import ThreadPoolDispatcher


class Plain:
    """Rules accept any class as model; only registration needs a Django model."""


def my_invalidator(wrapper, instance):
    return None


class RecordingDispatcher(Dispatcher):
    name = "rules-test-recording"

    def _dispatch(self, *, rule_ids, rule_kwargs, **context):
        return None


def test_defaults():
    rule = InvalidationRule(model=Plain)
    assert rule.rewarm is False
    assert rule.field_mapping == {}
    assert rule.require_args is True
    assert rule.trigger_on_create is False
    assert rule.watch_fields is None
    assert rule.invalidate_when == {}
    assert rule.invalidator is None
    assert rule.dispatcher is None
    assert rule.batch is False
    assert rule.raise_exception is None


def test_default_dicts_are_not_shared():
    first, second = InvalidationRule(model=Plain), InvalidationRule(model=Plain)
    first.field_mapping["x"] = "y"
    assert second.field_mapping == {}


def test_invalidator_and_field_mapping_are_mutually_exclusive():
    with pytest.raises(ValueError, match="mutually exclusive"):
        InvalidationRule(model=Plain, invalidator=my_invalidator, field_mapping={"a": "b"})


def test_invalidator_must_be_callable_or_string():
    with pytest.raises(TypeError, match="callable or a dotted-path string"):
        InvalidationRule(model=Plain, invalidator=42)  # type: ignore[arg-type]


def test_callable_invalidator_resolves_to_itself():
    rule = InvalidationRule(model=Plain, invalidator=my_invalidator)
    assert rule.resolve_invalidator() is my_invalidator


def test_dotted_invalidator_is_imported_once_and_cached():
    rule = InvalidationRule(model=Plain, invalidator="os.path.join")
    import os.path

    first = rule.resolve_invalidator()
    assert first is os.path.join
    assert rule.resolve_invalidator() is first


def test_invalidator_without_dot_is_rejected():
    rule = InvalidationRule(model=Plain, invalidator="nodots")
    with pytest.raises(ValueError, match="dotted import path"):
        rule.resolve_invalidator()


def test_invalidator_import_error_propagates():
    rule = InvalidationRule(model=Plain, invalidator="restflow_no_such_module.func")
    with pytest.raises(ImportError):
        rule.resolve_invalidator()


def test_private_fields_do_not_take_part_in_equality():
    first = InvalidationRule(model=Plain, invalidator=my_invalidator)
    second = InvalidationRule(model=Plain, invalidator=my_invalidator)
    first.resolve_invalidator()
    assert first == second


def test_default_dispatcher_is_inline_and_cached():
    rule = InvalidationRule(model=Plain)
    dispatcher = rule.get_dispatcher()
    assert isinstance(dispatcher, InlineDispatcher)
    assert rule.get_dispatcher() is dispatcher


def test_default_dispatcher_read_from_settings_for_a_fresh_rule():
    with override_settings(
        RESTFLOW_SETTINGS={"CACHE_SETTINGS": {"DEFAULT_DISPATCHER": "threadpool"}}
    ):
        rule = InvalidationRule(model=Plain)
        assert isinstance(rule.get_dispatcher(), ThreadPoolDispatcher)
        assert rule.dispatcher_name() == "threadpool"
    # the setting is read live: leaving the override goes back to the default
    assert isinstance(rule.get_dispatcher(), InlineDispatcher)


def test_named_dispatcher_gets_the_config():
    rule = InvalidationRule(model=Plain, dispatcher="threadpool", dispatcher_config={"max_workers": 2})
    dispatcher = rule.get_dispatcher()
    assert isinstance(dispatcher, ThreadPoolDispatcher)
    assert dispatcher.config == {"max_workers": 2}


def test_dispatcher_class_is_instantiated_with_config():
    rule = InvalidationRule(
        model=Plain, dispatcher=RecordingDispatcher, dispatcher_config={"foo": 1}
    )
    dispatcher = rule.get_dispatcher()
    assert type(dispatcher) is RecordingDispatcher
    assert dispatcher.config == {"foo": 1}
    assert rule.dispatcher_name() == "rules-test-recording"


def test_asyncio_dispatcher_by_name():
    assert isinstance(InvalidationRule(model=Plain, dispatcher="asyncio").get_dispatcher(), AsyncIODispatcher)


def test_unknown_dispatcher_name_raises_with_the_name():
    rule = InvalidationRule(model=Plain, dispatcher="no-such-dispatcher")
    with pytest.raises(DispatcherNotFoundError, match="no-such-dispatcher"):
        rule.get_dispatcher()
