"""Rule ids are stable names, the same in every process; registration bookkeeping."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from invalidation_testapp import cached
from invalidation_testapp.models import Author, Book, ProxyAuthor

from restflow.caching import ArgsKeyField, InvalidationRule, cache_result
from restflow.caching.registry import CacheRegister, CacheRegistry

REPO = Path(__file__).resolve().parents[3]
BOOK = "invalidation_testapp.Book"


def test_registry_is_a_singleton():
    assert CacheRegistry() is CacheRegister
    assert CacheRegister.name == "default"


def test_ids_name_the_function_the_model_and_the_position():
    ids = {rule.id for rule in CacheRegister.rules()}
    assert f"invalidation_testapp.cached.titles_of_author#{BOOK}#0" in ids
    assert "invalidation_testapp.cached.gadget_label#invalidation_testapp.Gadget#0" in ids
    assert "invalidation_testapp.cached.author_names#invalidation_testapp.Author#0" in ids


def book_titles(author_id: Any) -> list[str]:
    return []


def wrap_book_titles() -> Any:
    """A wrapper of a module-level function with one rule (what a module import makes)."""
    return cache_result(
        key_constructor={"fields": {"a": ArgsKeyField("author_id", partition=True)}},
        invalidates_on=[InvalidationRule(model=Book, field_mapping={"author_id": "author_id"})],
    )(book_titles)


def test_add_returns_the_next_position_of_that_wrapper():
    wrapper = wrap_book_titles()
    rule = InvalidationRule(model=Author, field_mapping={"author_id": "pk"})
    try:
        rule_id = CacheRegister.add(Author, wrapper, rule)
        assert rule_id == f"{__name__}.book_titles#invalidation_testapp.Author#1"
        assert CacheRegister.get_rule(rule_id).spec is rule
        assert CacheRegister.get_rule(rule_id).func is wrapper
        assert CacheRegister.rules_for(Author)[-1] is CacheRegister.get_rule(rule_id)
    finally:
        assert set(CacheRegister.unregister(wrapper)) == {
            f"{__name__}.book_titles#{BOOK}#0", rule_id}
    assert CacheRegister.get_rule(rule_id) is None


def test_ids_are_the_same_in_another_process():
    script = (
        "import django, json; django.setup();"
        "from restflow.caching.registry import CacheRegister;"
        "print(json.dumps(sorted(rule.id for rule in CacheRegister.rules())))"
    )
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "restflow_testbed.settings"
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO / "tests" / "testbed"), str(REPO / "packages" / "restflow-cache" / "tests")]
    )
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120,
        check=True,
    )
    theirs = set(json.loads(result.stdout.strip().splitlines()[-1]))
    ours = {r.id for r in CacheRegister.rules() if r.id.startswith("invalidation_testapp.")}
    assert ours
    assert ours <= theirs


def test_add_rejects_a_plain_function():
    with pytest.raises(AttributeError, match="decorated function"):
        CacheRegister.add(Book, lambda: None, InvalidationRule(model=Book))


def test_registering_an_existing_id_replaces_it_with_a_warning(caplog):
    # Two wrappers of one module-level function: what a module reload produces.
    first = wrap_book_titles()
    with caplog.at_level(logging.WARNING, logger="restflow.caching.registry"):
        second = wrap_book_titles()
    try:
        rule_id = f"{__name__}.book_titles#{BOOK}#0"
        assert CacheRegister.get_rule(rule_id).func is second
        assert any("registered again" in r.getMessage() for r in caplog.records)
        assert [r.id for r in CacheRegister.rules_for(Book)].count(rule_id) == 1
    finally:
        CacheRegister.unregister(first)
        CacheRegister.unregister(second)


def test_status_lists_models_functions_and_ids():
    status = CacheRegister.get_status()
    assert status["name"] == "default"
    assert status["discovered"] is True
    assert status["pending"] == CacheRegister.pending_count == 0
    assert {"function": "invalidation_testapp.cached.titles_of_author",
            "id": f"invalidation_testapp.cached.titles_of_author#{BOOK}#0"} in status["models"]["Book"]
    assert CacheRegister.model_count >= 4
    assert CacheRegister.is_discovered


def test_auto_discover_is_idempotent():
    before = CacheRegister.get_status()
    assert CacheRegister.auto_discover() is CacheRegister
    assert CacheRegister.get_status() == before


@pytest.mark.django_db(transaction=True)
def test_proxy_saves_do_not_run_the_concrete_models_rules():
    Author.objects.create(name="Ann")
    assert cached.author_names() == ["Ann"]
    proxy = ProxyAuthor.objects.get()
    proxy.name = "Anna"
    proxy.save()
    assert cached.author_names() == ["Ann"]  # documented: rules follow the exact class


def test_receivers_are_connected_once_per_model():
    from django.db.models import signals

    from restflow.caching import _signals

    wrapper = wrap_book_titles()  # one more rule on Book, already connected
    CacheRegister.unregister(wrapper)
    _signals.connect_model(CacheRegister, Book)  # connects again with the same dispatch_uid
    uid_receivers = [
        r for r in signals.post_save.receivers if "restflow.caching:save:" in str(r[0][0])
        and "invalidation_testapp.models.Book" in str(r[0][0])
    ]
    assert len(uid_receivers) == 1
