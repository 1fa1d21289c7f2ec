"""Worker entries: unknown ids, missing kwargs, rewarm, and the RAISE_EXCEPTION policy."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from invalidation_helpers import reset_state, settings_with
from invalidation_testapp.cached import CALLS, page_count_of_author, titles_of_author
from invalidation_testapp.models import Author, Book

from restflow.caching import CACHE_MISSING, ArgsKeyField, InvalidationRule, cache_result, tasks
from restflow.caching.registry import CacheRegister
from restflow.caching.tasks import _resolve_raise_errors, arun_cache_rules, run_cache_rules

BOOK = "invalidation_testapp.Book"
TITLES = f"invalidation_testapp.cached.titles_of_author#{BOOK}#0"
PAGES = f"invalidation_testapp.cached.page_count_of_author#{BOOK}#0"


@pytest.fixture(autouse=True)
def _clean() -> None:
    reset_state()


@pytest.fixture
def library() -> tuple[Author, Author]:
    first, second = Author.objects.create(name="Ann"), Author.objects.create(name="Bob")
    Book.objects.create(author=first, title="one", pages=10)
    Book.objects.create(author=second, title="two", pages=20)
    for author in (first, second):
        titles_of_author(author.pk)
        page_count_of_author(author.pk)
    CALLS.clear()
    return first, second


@pytest.mark.django_db
def test_run_invalidates_the_mapped_partition(library):
    first, second = library
    run_cache_rules([TITLES], {TITLES: {"author_id": first.pk}}, dispatcher_name="inline")
    assert titles_of_author.get_cache_only(first.pk) is CACHE_MISSING
    assert titles_of_author.get_cache_only(second.pk) == ["two"]


@pytest.mark.django_db
def test_kwargs_may_list_several_scopes(library):
    first, second = library
    run_cache_rules([TITLES], {TITLES: [{"author_id": first.pk}, {"author_id": second.pk}]})
    assert titles_of_author.get_cache_only(first.pk) is CACHE_MISSING
    assert titles_of_author.get_cache_only(second.pk) is CACHE_MISSING


@pytest.mark.django_db
def test_missing_kwargs_leave_the_cache_alone(library):
    first, _ = library
    run_cache_rules([TITLES], {})
    assert titles_of_author.get_cache_only(first.pk) == ["one"]


@pytest.mark.django_db
def test_rewarm_recomputes_and_the_next_read_hits(library):
    first, _ = library
    Book.objects.filter(author=first).update(pages=99)
    run_cache_rules([PAGES], {PAGES: {"author_id": first.pk}})
    assert CALLS["page_count_of_author"] == 1
    assert page_count_of_author(first.pk) == 99
    assert CALLS["page_count_of_author"] == 1


@pytest.mark.django_db
def test_unknown_position_of_a_known_function_drops_the_whole_function(library, caplog):
    first, second = library
    unknown = f"invalidation_testapp.cached.titles_of_author#{BOOK}#7"
    with caplog.at_level(logging.WARNING, logger="restflow.caching.registry"):
        run_cache_rules([unknown], {unknown: {"author_id": first.pk}})
    assert titles_of_author.get_cache_only(first.pk) is CACHE_MISSING
    assert titles_of_author.get_cache_only(second.pk) is CACHE_MISSING
    assert page_count_of_author.get_cache_only(first.pk) == 10  # other functions untouched
    (record,) = [r for r in caplog.records if unknown in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert "same code" in record.getMessage()


def test_unknown_module_is_skipped_with_a_warning(caplog):
    unknown = "no_such_package.module.func#app.Model#0"
    with caplog.at_level(logging.WARNING, logger="restflow.caching.registry"):
        run_cache_rules([unknown], {unknown: {"x": 1}})
    assert any(unknown in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_a_worker_imports_the_module_named_in_an_unknown_id(caplog):
    sys.modules.pop("invalidation_late_rules", None)
    late_id = f"invalidation_late_rules.late_titles#{BOOK}#0"
    stale = CacheRegister.get_rule(late_id)
    if stale is not None:  # a previous run in this process
        CacheRegister.unregister(stale.func)
    with caplog.at_level(logging.WARNING, logger="restflow.caching.registry"):
        run_cache_rules([late_id], {late_id: {"author_id": 1}})
    assert "invalidation_late_rules" in sys.modules
    rule = CacheRegister.get_rule(late_id)
    assert rule is not None
    assert not [r for r in caplog.records if late_id in r.getMessage()]
    late = rule.func
    assert late(1) == []
    run_cache_rules([late_id], {late_id: {"author_id": 1}})
    assert late.get_cache_only(1) is CACHE_MISSING


# ------------------------------------------------------------------ error policy


@pytest.fixture
def broken_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Running the rules raises a framework error (unit test of the worker entry's policy)."""

    def boom(*args: Any) -> None:
        raise RuntimeError("registry exploded")

    monkeypatch.setattr("restflow.caching._worker.run_rules", boom)


def run_async(**kwargs: Any) -> None:
    asyncio.run(arun_cache_rules(["some#id#0"], {}, **kwargs))


@pytest.mark.usefixtures("broken_registry")
@pytest.mark.parametrize("entry", [run_cache_rules, "async"])
def test_defaults_log_and_swallow(entry, caplog):
    with caplog.at_level(logging.ERROR, logger="restflow.caching.tasks"):
        if entry == "async":
            run_async(dispatcher_name="threadpool", context={"pk": 3})
        else:
            entry(["some#id#0"], {}, dispatcher_name="threadpool", context={"pk": 3})
    (record,) = caplog.records
    assert record.levelno == logging.ERROR
    assert "some#id#0" in record.getMessage()
    assert "threadpool" in record.getMessage()
    assert record.exc_info is not None


@pytest.mark.usefixtures("broken_registry")
@pytest.mark.parametrize("is_async", [False, True])
def test_global_flag_raises(is_async):
    def run() -> None:
        if is_async:
            run_async(dispatcher_name="inline")
        else:
            run_cache_rules(["some#id#0"], {}, dispatcher_name="inline")

    with settings_with(DISPATCHER_RAISE_EXCEPTION=True), pytest.raises(RuntimeError):
        run()


@pytest.mark.usefixtures("broken_registry")
def test_block_flag_raises_for_its_dispatcher_only():
    blocks = {"celery": {"RAISE_EXCEPTION": True}}
    with settings_with(DISPATCHER_SETTINGS=blocks):
        with pytest.raises(RuntimeError):
            run_cache_rules(["x#y#0"], {}, dispatcher_name="celery")
        run_cache_rules(["x#y#0"], {}, dispatcher_name="inline")  # swallowed


@pytest.mark.usefixtures("broken_registry")
def test_block_false_beats_global_true(caplog):
    blocks = {"threadpool": {"RAISE_EXCEPTION": False}}
    with settings_with(DISPATCHER_RAISE_EXCEPTION=True, DISPATCHER_SETTINGS=blocks), \
            caplog.at_level(logging.ERROR, logger="restflow.caching.tasks"):
        run_cache_rules(["x#y#0"], {}, dispatcher_name="threadpool")  # does not raise
        run_async(dispatcher_name="threadpool")  # does not raise
        with pytest.raises(RuntimeError, match="registry exploded"):
            run_cache_rules(["x#y#0"], {}, dispatcher_name="inline")  # global True applies
    assert [r.levelno for r in caplog.records] == [logging.ERROR, logging.ERROR]  # logged


def test_resolution_without_a_dispatcher_name():
    assert _resolve_raise_errors(None) is False
    with settings_with(DISPATCHER_RAISE_EXCEPTION=True):
        assert _resolve_raise_errors(None) is True


@pytest.fixture
def strict_wrapper() -> Iterator[tuple[Any, str, str]]:
    """A wrapper with one raising and one quiet rule whose deletes always fail."""

    @cache_result(key_constructor={"fields": {"a": ArgsKeyField("author_id", partition=True)}})
    def strict(author_id: Any) -> Any:
        return author_id

    loud = CacheRegister.add(Book, strict, InvalidationRule(
        model=Book, field_mapping={"author_id": "author_id"}, raise_exception=True))
    quiet = CacheRegister.add(Book, strict, InvalidationRule(
        model=Book, field_mapping={"author_id": "author_id"}, raise_exception=False))
    yield strict, loud, quiet
    CacheRegister.unregister(strict)


BAD_KWARGS = {"not_a_parameter": 1}  # binding fails: delete_by_prefix raises TypeError


def test_rule_true_raises_whatever_the_settings(strict_wrapper):
    _, loud, _ = strict_wrapper
    blocks = {"inline": {"RAISE_EXCEPTION": False}}
    with settings_with(DISPATCHER_SETTINGS=blocks), pytest.raises(TypeError):
        run_cache_rules([loud], {loud: BAD_KWARGS}, dispatcher_name="inline")
    with pytest.raises(TypeError):
        asyncio.run(arun_cache_rules([loud], {loud: BAD_KWARGS}, dispatcher_name="inline"))


def test_rule_false_logs_cache_delete_failed_even_under_global_true(strict_wrapper, caplog):
    _, _, quiet = strict_wrapper
    with settings_with(DISPATCHER_RAISE_EXCEPTION=True), caplog.at_level(logging.WARNING):
        run_cache_rules([quiet], {quiet: BAD_KWARGS}, dispatcher_name="inline")
    assert any("Cache delete failed" in r.getMessage() for r in caplog.records)


def test_true_wins_in_a_mixed_batch(strict_wrapper):
    _, loud, quiet = strict_wrapper
    assert _resolve_raise_errors("inline", [quiet, loud]) is True
    assert _resolve_raise_errors("inline", [quiet]) is False


@pytest.mark.usefixtures("broken_registry")
@pytest.mark.parametrize("entry", ["module attribute", "plain function"])
def test_task_entry_resolves_the_celery_block(entry):
    task = tasks.task_run_cache_rules if entry == "module attribute" else (
        tasks._plain_task_run_cache_rules
    )
    body = getattr(task, "run", task)  # a Celery task object when the plugin is installed
    with settings_with(DISPATCHER_SETTINGS={"celery": {"RAISE_EXCEPTION": True}}):
        with pytest.raises(RuntimeError, match="registry exploded"):
            body(rule_ids=["x#y#0"], rule_kwargs={}, pk=1)
    body(rule_ids=["x#y#0"], rule_kwargs={}, pk=1)  # default: logged, not raised
