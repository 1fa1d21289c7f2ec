"""A model with many rules: what a save compiles once (per rules, signal, created and
update_fields; and, for the worker, per job) is dropped when the rules or the settings
change. Real commits (transaction=True), inline dispatcher."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings
from invalidation_helpers import ON_TWO_BACKENDS
from invalidation_testapp.models import Author, Book

from restflow.caching import CACHE_MISSING, ArgsKeyField, InvalidationRule, cache_result
from restflow.caching.registry import CacheRegister
from restflow.dispatch.base import Dispatcher
from restflow.dispatch.registry import register_dispatcher, unregister_dispatcher

pytestmark = ON_TWO_BACKENDS

BY_AUTHOR = {"fields": {"author": ArgsKeyField("author_id", partition=True)}}


class CountingDispatcher(Dispatcher):
    """Runs jobs inline and records the rule ids of each."""

    name = "test-counting"
    supports_batching = True
    jobs: list[list[str]] = []

    def _dispatch(self, *, rule_ids, rule_kwargs, **context):
        type(self).jobs.append(list(rule_ids))
        from restflow.caching.tasks import run_cache_rules

        run_cache_rules(rule_ids, rule_kwargs, dispatcher_name=self.name)


@pytest.fixture
def make_cached() -> Iterator[Any]:
    made: list[Any] = []

    def make(name: str, **options: Any) -> Any:
        def titles(author_id: int) -> str:
            return f"{name}:{author_id}"

        titles.__name__ = titles.__qualname__ = name
        rule = InvalidationRule(model=Book, field_mapping={"author_id": "author_id"}, **options)
        wrapper = cache_result(key_constructor=BY_AUTHOR, invalidates_on=[rule])(titles)
        made.append(wrapper)
        return wrapper

    CountingDispatcher.jobs = []
    yield make
    for wrapper in made:
        CacheRegister.unregister(wrapper)


@pytest.fixture
def book() -> Book:
    """A book as loaded from the database."""
    created = Book.objects.create(author=Author.objects.create(name="Ann"), title="one")
    return Book.objects.get(pk=created.pk)


def cached(*functions: Any, author_id: int) -> list[bool]:
    return [fn.get_cache_only(author_id) is not CACHE_MISSING for fn in functions]


def warm(*functions: Any, author_id: int) -> None:
    for fn in functions:
        fn(author_id)


def test_a_save_invalidates_every_rule_of_the_model(make_cached, book):
    functions = [make_cached(f"many_{i}") for i in range(12)]
    warm(*functions, author_id=book.author_id)
    book.title = "two"
    book.save()
    assert cached(*functions, author_id=book.author_id) == [False] * 12


def test_a_rule_registered_after_the_first_save_is_invalidated_by_the_next(make_cached, book):
    first = [make_cached(f"early_{i}") for i in range(3)]
    book.title = "two"
    book.save()  # compiles the plan of the three rules (and the worker's job)
    late = make_cached("late")
    warm(*first, late, author_id=book.author_id)
    book.title = "three"
    book.save()
    assert cached(*first, late, author_id=book.author_id) == [False] * 4


def test_an_unregistered_rule_no_longer_runs(make_cached, book):
    kept, dropped = make_cached("kept_a"), make_cached("dropped_b")
    book.title = "two"
    book.save()
    CacheRegister.unregister(dropped)
    warm(kept, dropped, author_id=book.author_id)
    book.title = "three"
    book.save()
    assert cached(kept, dropped, author_id=book.author_id) == [False, True]


def test_a_changed_default_dispatcher_reaches_rules_planned_before(make_cached, book):
    functions = [make_cached(f"by_default_{i}") for i in range(3)]
    book.title = "two"
    book.save()  # planned and dispatched inline (DEFAULT_DISPATCHER)
    assert CountingDispatcher.jobs == []
    register_dispatcher(CountingDispatcher)
    try:
        settings = {"CACHE_SETTINGS": {"DEFAULT_DISPATCHER": "test-counting"}}
        with override_settings(RESTFLOW_SETTINGS=settings):
            warm(*functions, author_id=book.author_id)
            book.title = "three"
            book.save()
            assert cached(*functions, author_id=book.author_id) == [False] * 3
    finally:
        unregister_dispatcher("test-counting")
    mine = [job for job in CountingDispatcher.jobs if ".by_default_" in job[0]]
    assert sorted(len(job) for job in mine) == [1, 1, 1]  # no batch: a job per rule
    assert len({job[0] for job in mine}) == 3


def test_rules_with_different_gates_each_keep_their_own(make_cached, book):
    plain = make_cached("gates_plain")
    on_title = make_cached("gates_title", watch_fields=["title"])
    on_pages = make_cached("gates_pages", watch_fields=["pages"])
    published = make_cached("gates_published", invalidate_when={"status": "published"})
    after = make_cached("gates_after")
    book = Book.objects.get(pk=book.pk)  # loaded after the rules: their columns tracked
    everything = (plain, on_title, on_pages, published, after)
    warm(*everything, author_id=book.author_id)
    book.title = "two"
    book.save()
    assert cached(*everything, author_id=book.author_id) == [False, False, True, True, False]
    warm(*everything, author_id=book.author_id)
    book.status = "published"
    book.pages = 7
    book.save(update_fields=["status", "pages"])
    assert cached(*everything, author_id=book.author_id) == [False, True, False, False, False]


def test_several_saves_in_one_transaction_make_one_job(make_cached, book):
    from django.db import transaction

    functions = [make_cached(f"in_tx_{i}", dispatcher="test-counting", batch=True) for i in range(4)]
    other = Book.objects.create(author=Author.objects.create(name="Bob"), title="x")
    register_dispatcher(CountingDispatcher)
    try:
        warm(*functions, author_id=book.author_id)
        warm(*functions, author_id=other.author_id)
        with transaction.atomic():
            book.title = "two"
            book.save()
            other.title = "y"
            other.save()
            book.save(update_fields=["title"])
    finally:
        unregister_dispatcher("test-counting")
    assert cached(*functions, author_id=book.author_id) == [False] * 4
    assert cached(*functions, author_id=other.author_id) == [False] * 4
    assert len(CountingDispatcher.jobs) == 1
    assert sorted(CountingDispatcher.jobs[0]) == sorted(set(CountingDispatcher.jobs[0]))


def test_a_save_after_caches_change_bumps_the_new_cache(make_cached, book):
    functions = [make_cached(f"caches_{i}") for i in range(3)]
    book.title = "two"
    book.save()  # scopes kept for the first configuration
    fresh = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                         "LOCATION": "many-rules-fresh"}}
    with override_settings(CACHES=fresh):
        warm(*functions, author_id=book.author_id)
        book.title = "three"
        book.save()
        assert cached(*functions, author_id=book.author_id) == [False] * 3


def _prefixed(prefix: str, key_function: str | None = None) -> dict[str, Any]:
    options: dict[str, Any] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                               "LOCATION": "many-rules-prefixed", "KEY_PREFIX": prefix}
    if key_function:
        options["KEY_FUNCTION"] = key_function
    return {"default": options}


def reversed_key(key: str, key_prefix: str, version: int) -> str:
    return f"{version}|{key_prefix}|{key}"


@pytest.mark.parametrize("second", [
    _prefixed("second"),
    _prefixed("first", key_function="test_invalidation_many_rules.reversed_key"),
])
def test_a_save_after_the_key_prefix_or_function_changes_bumps_the_new_keys(
    make_cached, book, second
):
    """The keys a save writes (made once per scope names on local memory) follow
    KEY_PREFIX and KEY_FUNCTION: same store, other keys."""
    functions = [make_cached(f"prefixed_{i}") for i in range(4)]
    with override_settings(CACHES=_prefixed("first")):
        warm(*functions, author_id=book.author_id)
        book.title = "two"
        book.save()
        assert cached(*functions, author_id=book.author_id) == [False] * 4
    with override_settings(CACHES=second):
        warm(*functions, author_id=book.author_id)
        assert cached(*functions, author_id=book.author_id) == [True] * 4
        book.title = "three"
        book.save()
        assert cached(*functions, author_id=book.author_id) == [False] * 4
        warm(*functions, author_id=book.author_id)
    with override_settings(CACHES=_prefixed("first")):
        warm(*functions, author_id=book.author_id)
        book.title = "four"
        book.save()
        assert cached(*functions, author_id=book.author_id) == [False] * 4
    with override_settings(CACHES=second):  # its entries were not dropped by "first"
        assert cached(*functions, author_id=book.author_id) == [True] * 4


def test_a_job_whose_kwargs_are_equal_but_not_alike_bumps_each_rule_its_own(make_cached):
    from restflow.caching.tasks import run_cache_rules

    by_int, by_bool = make_cached("alike_int"), make_cached("alike_bool")
    ids = [rule.id for fn in (by_int, by_bool) for rule in CacheRegister.rules() if rule.func is fn]
    by_int(1)
    by_bool(True)
    run_cache_rules(ids, {ids[0]: {"author_id": 1}, ids[1]: {"author_id": True}})  # 1 == True
    assert by_int.get_cache_only(1) is CACHE_MISSING
    assert by_bool.get_cache_only(True) is CACHE_MISSING
