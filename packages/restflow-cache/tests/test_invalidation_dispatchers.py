"""End to end through each brokerless dispatcher, batching, and the dispatch fallback."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from invalidation_helpers import ON_TWO_BACKENDS, BrokenDispatcher
from invalidation_testapp.models import Author, Book

from restflow.caching import CACHE_MISSING, ArgsKeyField, InvalidationRule, cache_result
from restflow.caching.registry import CacheRegister
from restflow.dispatch.asyncio import AsyncIODispatcher
from restflow.dispatch.base import Dispatcher
from restflow.dispatch.threadpool import ThreadPoolDispatcher

pytestmark = ON_TWO_BACKENDS

BY_AUTHOR = {"fields": {"author": ArgsKeyField("author_id", partition=True)}}
CALLS: list[Any] = []


class RecordingDispatcher(Dispatcher):
    """Records hand-offs and runs them inline (so the cache effect is visible too)."""

    name = "test-recording"
    calls: list[dict[str, Any]] = []

    def _dispatch(self, *, rule_ids, rule_kwargs, **context):
        type(self).calls.append({"rule_ids": rule_ids, "rule_kwargs": rule_kwargs, **context})
        from restflow.caching.tasks import run_cache_rules

        run_cache_rules(rule_ids, rule_kwargs, dispatcher_name=self.name)


def record_scope_bumps(monkeypatch: pytest.MonkeyPatch) -> Any:
    """From now on, record the default cache's ``set_many`` writes; the returned function
    gives those that bump a partition scope."""
    from django.core.cache import caches

    cache = caches["default"]
    writes: list[Any] = []
    original = cache.set_many

    def recording_set_many(*args: Any, **kwargs: Any) -> Any:
        writes.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(cache, "set_many", recording_set_many)
    return lambda: [w for w in writes if any(key.startswith("restflow:gen:pt:") for key in w)]


@pytest.fixture
def make_cached() -> Iterator[Any]:
    made: list[Any] = []

    def make(*rules: InvalidationRule, is_async: bool = False, name: str = "") -> Any:
        """A cached function of ``author_id``; give a ``name`` to keep its keys apart
        from the other functions made here (same qualname, same keys otherwise)."""
        if is_async:

            async def titles(author_id):
                CALLS.append(author_id)
                return author_id

        else:

            def titles(author_id):
                CALLS.append(author_id)
                return sorted(Book.objects.filter(author_id=author_id).values_list("title", flat=True))

        if name:
            titles.__name__ = titles.__qualname__ = name
        wrapper = cache_result(key_constructor=BY_AUTHOR, invalidates_on=list(rules))(titles)
        made.append(wrapper)
        return wrapper

    CALLS.clear()
    RecordingDispatcher.calls = []
    yield make
    for wrapper in made:
        CacheRegister.unregister(wrapper)


def rule(**options: Any) -> InvalidationRule:
    return InvalidationRule(model=Book, field_mapping={"author_id": "author_id"}, **options)


@pytest.fixture
def book() -> Book:
    return Book.objects.create(author=Author.objects.create(name="Ann"), title="one")


def test_inline_save_invalidates(make_cached, book):
    titles = make_cached(rule(dispatcher="inline"))
    assert titles(book.author_id) == ["one"]
    book.title = "uno"
    book.save()
    assert titles.get_cache_only(book.author_id) is CACHE_MISSING
    assert titles(book.author_id) == ["uno"]


def test_threadpool_save_invalidates(make_cached, book):
    titles = make_cached(rule(dispatcher="threadpool"))
    assert titles(book.author_id) == ["one"]
    book.title = "uno"
    book.save()
    ThreadPoolDispatcher.shutdown(wait=True)  # the job has run once the pool drained
    assert titles.get_cache_only(book.author_id) is CACHE_MISSING


def test_threadpool_rewarm(make_cached, book):
    titles = make_cached(rule(dispatcher="threadpool", rewarm=True))
    assert titles(book.author_id) == ["one"]
    book.title = "uno"
    book.save()
    ThreadPoolDispatcher.shutdown(wait=True)
    assert titles.get_cache_only(book.author_id) == ["uno"]


def test_asyncio_without_a_running_loop_runs_synchronously(make_cached, book):
    titles = make_cached(rule(dispatcher="asyncio"))
    titles(book.author_id)
    book.title = "uno"
    book.save()
    assert titles.get_cache_only(book.author_id) is CACHE_MISSING


def test_asyncio_on_a_running_loop_rewarms_an_async_function(make_cached, book):
    titles = make_cached(rule(dispatcher="asyncio", rewarm=True), is_async=True)
    author_id = book.author_id

    async def scenario() -> Any:
        assert await titles(author_id) == author_id
        CALLS.clear()
        # Called on the loop's thread: the dispatcher schedules a task on this loop.
        CacheRegister.invalidate_for_instance(book)
        assert AsyncIODispatcher._pending_tasks
        await asyncio.gather(*list(AsyncIODispatcher._pending_tasks))
        return await titles.aget_cache_only(author_id)

    assert asyncio.run(scenario()) == author_id
    assert [author_id] == CALLS  # recomputed once, by the rewarm


def test_sync_entry_rewarms_an_async_function(make_cached, book):
    titles = make_cached(rule(rewarm=True), is_async=True)
    asyncio.run(titles(book.author_id))
    CALLS.clear()
    book.title = "uno"
    book.save()  # inline: run_cache_rules drives the coroutine with async_to_sync
    assert [book.author_id] == CALLS
    assert asyncio.run(titles.aget_cache_only(book.author_id)) == book.author_id


def test_batched_rules_share_one_dispatch_with_context(make_cached, book):
    first = make_cached(rule(dispatcher=RecordingDispatcher, batch=True))
    second = make_cached(rule(dispatcher=RecordingDispatcher, batch=True))
    first(book.author_id)
    second(book.author_id)
    book.title = "uno"
    book.save()
    assert len(RecordingDispatcher.calls) == 1
    call = RecordingDispatcher.calls[0]
    assert len(call["rule_ids"]) == 2
    assert set(call["rule_kwargs"]) == set(call["rule_ids"])
    assert call["pk"] == book.pk
    assert call["model_label"] == "invalidation_testapp.Book"
    assert call["signal_type"] == CacheRegister.SignalTypes.POST_SAVE
    assert first.get_cache_only(book.author_id) is CACHE_MISSING
    assert second.get_cache_only(book.author_id) is CACHE_MISSING


def test_unbatched_rules_are_dispatched_one_by_one(make_cached, book):
    make_cached(rule(dispatcher=RecordingDispatcher), rule(dispatcher=RecordingDispatcher))
    book.title = "uno"
    book.save()
    assert [len(call["rule_ids"]) for call in RecordingDispatcher.calls] == [1, 1]


def test_a_move_travels_as_two_kwargs_sets_of_one_rule(make_cached, book):
    make_cached(rule(dispatcher=RecordingDispatcher))
    other = Author.objects.create(name="Bob")
    old_author = book.author_id
    book.author = other
    book.save()
    (call,) = RecordingDispatcher.calls
    (payload,) = call["rule_kwargs"].values()
    assert payload == [{"author_id": other.pk}, {"author_id": old_author}]


def test_unknown_dispatcher_runs_inline_with_an_error_log(make_cached, book, caplog):
    titles = make_cached(rule(dispatcher="no-such-dispatcher"))
    titles(book.author_id)
    book.title = "uno"
    with caplog.at_level(logging.ERROR, logger="restflow.dispatch"):
        book.save()
    assert titles.get_cache_only(book.author_id) is CACHE_MISSING
    errors = [r for r in caplog.records if r.name == "restflow.dispatch"]  # the one fallback
    assert errors
    assert errors[0].levelno == logging.ERROR
    assert "no-such-dispatcher" in errors[0].getMessage()


def test_failing_dispatch_runs_inline_with_an_error_log(make_cached, book, caplog):
    titles = make_cached(rule(dispatcher=BrokenDispatcher))
    titles(book.author_id)
    book.title = "uno"
    with caplog.at_level(logging.ERROR, logger="restflow.caching.registry"):
        book.save()
    assert titles.get_cache_only(book.author_id) is CACHE_MISSING
    assert any("broker unreachable" in r.getMessage() for r in caplog.records)


def test_all_inline_rules_of_a_save_cost_one_cache_write(make_cached, book, monkeypatch):
    titles = [make_cached(rule()) for _ in range(3)]
    for wrapper in titles:
        wrapper(book.author_id)
    scope_bumps = record_scope_bumps(monkeypatch)
    other = Author.objects.create(name="Bob")
    book.author = other  # a move: two partitions for each of the three functions
    book.save()
    # Other writes are the rewarms of cached.page_count_of_author (also a Book rule).
    assert len(scope_bumps()) == 1
    assert len(scope_bumps()[0]) >= 6
    for wrapper in titles:
        assert wrapper.get_cache_only(book.author_id) is CACHE_MISSING


def test_a_failing_invalidation_is_logged_and_the_save_succeeds(make_cached, book, caplog):
    make_cached(InvalidationRule(model=Book, field_mapping={"not_a_parameter": "author_id"}))
    book.title = "uno"
    with caplog.at_level(logging.WARNING, logger="restflow.caching.registry"):
        book.save()
    assert Book.objects.get().title == "uno"
    assert any("Cache delete failed" in r.getMessage() for r in caplog.records)


def test_a_rule_that_asks_to_raise_fails_the_autocommit_save(make_cached, book):
    make_cached(InvalidationRule(
        model=Book, field_mapping={"not_a_parameter": "author_id"}, raise_exception=True))
    book.title = "uno"
    with pytest.raises(TypeError):
        book.save()
    assert Book.objects.get().title == "uno"  # the row was committed before the callback


def test_errors_inside_a_transaction_do_not_stop_other_commit_callbacks(make_cached, book):
    from django.db import transaction

    make_cached(InvalidationRule(
        model=Book, field_mapping={"not_a_parameter": "author_id"}))
    ran = []
    with transaction.atomic():
        book.title = "uno"
        book.save()
        transaction.on_commit(lambda: ran.append(True))
    assert ran == [True]


def save_title_and_roll_back(book: Book, title: str) -> None:
    from django.db import transaction

    with transaction.atomic():
        book.title = title
        book.save()
        raise RuntimeError("roll back the savepoint")


def test_one_job_per_dispatcher_per_commit(make_cached, book):
    from django.db import transaction

    make_cached(rule(dispatcher=RecordingDispatcher))
    authors = [Author.objects.create(name=name) for name in ("Bob", "Cy", "Di")]
    books = [Book.objects.create(author=a, title=a.name) for a in authors]
    with transaction.atomic():
        book.title = "uno"
        book.save()
        books[0].title = "dos"
        books[0].save()
        with pytest.raises(RuntimeError, match="roll back"):
            save_title_and_roll_back(books[1], "tres")
        books[2].title = "cuatro"
        books[2].save()
        assert RecordingDispatcher.calls == []
    (call,) = RecordingDispatcher.calls
    (payload,) = call["rule_kwargs"].values()
    assert sorted(kw["author_id"] for kw in payload) == sorted(
        [book.author_id, authors[0].pk, authors[2].pk]
    )  # the rolled-back savepoint's save is not part of it
    assert call["pk"] == [book.pk, books[0].pk, books[2].pk]
    assert call["model_label"] == "invalidation_testapp.Book"


def test_a_transaction_of_many_saves_costs_one_cache_write(make_cached, book, monkeypatch):
    from django.db import transaction

    titles = make_cached(rule())
    authors = [Author.objects.create(name=str(n)) for n in range(5)]
    books = [Book.objects.create(author=a, title="t") for a in authors]
    for author in authors:
        titles(author.pk)
    scope_bumps = record_scope_bumps(monkeypatch)
    with transaction.atomic():
        for each in books:
            each.title = "changed"
            each.save()
    assert len(scope_bumps()) == 1
    for author in authors:
        assert titles.get_cache_only(author.pk) is CACHE_MISSING


def test_async_functions_of_a_commit_share_one_cache_write(make_cached, book, monkeypatch):
    from restflow.caching import scopes as storage

    first = make_cached(rule(), is_async=True)
    second = make_cached(rule(), is_async=True)
    other = Author.objects.create(name="Bob")
    old_author = book.author_id
    for wrapper in (first, second):
        for author_id in (old_author, other.pk):
            asyncio.run(wrapper(author_id))
    bumps: list[list[Any]] = []
    original = storage.abump_targets

    async def counting_abump(targets: Any) -> None:
        bumps.append(list(targets))
        await original(targets)

    monkeypatch.setattr(storage, "abump_targets", counting_abump)
    book.author = other
    book.save()
    assert len(bumps) == 1
    assert len(bumps[0]) == 4  # two functions, old and new partition
    for wrapper in (first, second):
        for author_id in (old_author, other.pk):
            assert asyncio.run(wrapper.aget_cache_only(author_id)) is CACHE_MISSING


# ------------------------------------------------------------------ rules planned per model


def test_a_rule_added_after_a_save_runs_on_the_next_save(make_cached, book):
    first = make_cached(rule(), name="first")
    first(book.author_id)
    book.title = "uno"
    book.save()  # the rules of Book are planned here
    second = make_cached(rule(), name="second")
    first(book.author_id)
    second(book.author_id)
    book.title = "dos"
    book.save()
    assert first.get_cache_only(book.author_id) is CACHE_MISSING
    assert second.get_cache_only(book.author_id) is CACHE_MISSING


def test_an_unregistered_rule_no_longer_runs(make_cached, book):
    kept = make_cached(rule(), name="kept")
    dropped = make_cached(rule(), name="dropped")
    book.title = "uno"
    book.save()
    CacheRegister.unregister(dropped)
    kept(book.author_id)
    dropped(book.author_id)
    book.title = "dos"
    book.save()
    assert kept.get_cache_only(book.author_id) is CACHE_MISSING
    assert dropped.get_cache_only(book.author_id) == ["uno"], "a removed rule still ran"


def test_rules_reading_the_same_fields_keep_their_own_gates(make_cached, book):
    plain = make_cached(rule(), name="plain")
    watching = make_cached(rule(watch_fields=["status"]), name="watching")
    conditional = make_cached(rule(invalidate_when={"status": "published"}), name="conditional")
    book = Book.objects.get(pk=book.pk)  # loaded: watch_fields compare with these values
    for wrapper in (plain, watching, conditional):
        wrapper(book.author_id)
    book.title = "uno"
    book.save()
    assert plain.get_cache_only(book.author_id) is CACHE_MISSING
    assert watching.get_cache_only(book.author_id) == ["one"]
    assert conditional.get_cache_only(book.author_id) == ["one"]


def test_rules_reading_the_same_fields_keep_their_own_require_args(make_cached, book):
    # "author.nickname" does not exist: the argument reads as None.
    mapping = {"author_id": "author.nickname"}
    strict = make_cached(InvalidationRule(model=Book, field_mapping=mapping), name="strict")
    lenient = make_cached(
        InvalidationRule(model=Book, field_mapping=mapping, require_args=False), name="lenient"
    )
    strict(None)
    lenient(None)
    book.title = "uno"
    book.save()
    assert strict.get_cache_only(None) == [], "require_args=True ran with a None argument"
    assert lenient.get_cache_only(None) is CACHE_MISSING
