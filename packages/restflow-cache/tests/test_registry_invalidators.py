"""Custom invalidators: arguments, async targets, errors, and the pk after a delete."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from invalidation_helpers import BrokenDispatcher
from invalidation_testapp.models import Author, Book

from restflow.caching import InvalidationRule, cache_result
from restflow.caching._invalidators import run_invalidator
from restflow.caching.registry import CacheRegister
from restflow.caching.rules import Rule

SAVE = CacheRegister.SignalTypes.POST_SAVE
SEEN: list[Any] = []


@cache_result()
def anything() -> int:
    return 1


def entry(invalidator: Any, **options: Any) -> Rule:
    rule = InvalidationRule(model=Book, invalidator=invalidator, **options)
    return Rule("x#y#0", Book, anything, rule)


def run(rule: Rule, **extra: Any) -> Any:
    return run_invalidator(
        rule, "the-instance", signal_type=SAVE, instance_created=False,
        update_fields=frozenset({"email"}), **extra,
    )


def test_var_keyword_target_receives_every_extra():
    got = {}

    def target(wrapper, instance, **kwargs):
        got.update(kwargs, wrapper=wrapper, instance=instance)

    run(entry(target), pk=7)
    assert got["wrapper"] is anything
    assert got["instance"] == "the-instance"
    assert got["signal_type"] is SAVE
    assert got["instance_created"] is False
    assert got["update_fields"] == frozenset({"email"})
    assert got["pk"] == 7


def test_target_receives_only_the_extras_it_names():
    got = {}

    def target(wrapper, instance, *, signal_type, update_fields):
        got.update(signal_type=signal_type, update_fields=update_fields)

    run(entry(target))
    assert got == {"signal_type": SAVE, "update_fields": frozenset({"email"})}


def test_two_parameter_target_receives_no_extras():
    got = []
    run(entry(lambda wrapper, instance: got.append((wrapper, instance))))
    assert got == [(anything, "the-instance")]


def test_dotted_path_target_is_imported(monkeypatch):
    import invalidation_helpers as module

    got = []
    monkeypatch.setattr(module, "probe", lambda wrapper, instance: got.append(instance), raising=False)
    run(entry("invalidation_helpers.probe"))
    assert got == ["the-instance"]


def test_async_target_returns_an_awaitable_that_runs_it():
    got = []

    async def target(wrapper, instance, **kwargs):
        got.append(kwargs["signal_type"])

    awaitable = run(entry(target))
    assert got == []
    asyncio.run(awaitable)
    assert got == [SAVE]


def failing(wrapper: Any, instance: Any) -> None:
    raise ValueError("invalidator broke")


async def afailing(wrapper: Any, instance: Any) -> None:
    raise ValueError("invalidator broke")


def test_errors_are_logged_by_default(caplog):
    with caplog.at_level(logging.WARNING, logger="restflow.caching.registry"):
        assert run(entry(failing)) is None
        asyncio.run(run(entry(afailing)))
    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if "Custom invalidator failed" in m and "anything" in m]) == 2


def test_errors_propagate_when_the_rule_asks():
    with pytest.raises(ValueError, match="invalidator broke"):
        run(entry(failing, raise_exception=True))
    with pytest.raises(ValueError, match="invalidator broke"):
        asyncio.run(run(entry(afailing, raise_exception=True)))


# ------------------------------------------------------------------ end to end


def record(wrapper: Any, instance: Any, *, pk: Any, signal_type: Any) -> None:
    SEEN.append((wrapper, pk, signal_type, instance.pk))


async def arecord(wrapper: Any, instance: Any, **extras: Any) -> None:
    SEEN.append(("async", extras["pk"]))


@pytest.fixture
def attached() -> Iterator[Any]:
    @cache_result()
    def watched() -> int:
        return 1

    CacheRegister.add(Book, watched, InvalidationRule(
        model=Book, invalidator=record, dispatcher=BrokenDispatcher, trigger_on_create=True))
    CacheRegister.add(Book, watched, InvalidationRule(model=Book, invalidator=arecord))
    SEEN.clear()
    BrokenDispatcher.handed.clear()
    try:
        yield watched
        assert BrokenDispatcher.handed == []  # a custom invalidator is never dispatched
    finally:
        CacheRegister.unregister(watched)


@pytest.mark.django_db(transaction=True)
def test_invalidators_run_at_commit_in_process_and_get_the_pk_after_a_delete(attached):
    book = Book.objects.create(author=Author.objects.create(name="Ann"), title="one")
    assert [(attached, book.pk, SAVE, book.pk)] == SEEN  # created: only the first rule
    SEEN.clear()
    pk = book.pk
    with transaction.atomic():
        book.delete()
        assert SEEN == []
    assert [
        (attached, pk, CacheRegister.SignalTypes.POST_DELETE, None),
        ("async", pk),
    ] == SEEN


@pytest.mark.django_db
def test_captured_commit_callbacks_run_the_rules_inside_a_test_transaction(
    django_capture_on_commit_callbacks, attached
):
    author = Author.objects.create(name="Ann")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first = Book.objects.create(author=author, title="one")
        second = Book.objects.create(author=author, title="two")
        assert SEEN == []
    assert len(callbacks) >= 2
    seen = list(SEEN)
    assert seen == [(attached, first.pk, SAVE, first.pk), (attached, second.pk, SAVE, second.pk)]
