"""Signal-time decisions: gates, field mapping, JSON payloads (unit tests of one layer)."""

from __future__ import annotations

import datetime
import decimal
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from invalidation_testapp.models import Author

from restflow.caching import InvalidationRule
from restflow.caching._capture import to_json
from restflow.caching.registry import CacheRegister

SAVE = CacheRegister.SignalTypes.POST_SAVE
DELETE = CacheRegister.SignalTypes.POST_DELETE
M2M = CacheRegister.SignalTypes.M2M_CHANGED


def entry(**options: Any) -> dict[str, Any]:
    return {"id": "x#y#0", "func": None, "invalidation_rule": InvalidationRule(model=Author, **options)}


def should_run(instance: Any, rule: Any, created: bool = False, signal: Any = SAVE,
               update_fields: Any = None) -> bool:
    fields = frozenset(update_fields) if update_fields is not None else None
    return CacheRegister._should_run_rule(instance, rule, created, signal, fields)


def test_no_rule_never_runs():
    assert should_run(SimpleNamespace(), None) is False


@pytest.mark.parametrize(("trigger", "expected"), [(False, False), (True, True)])
def test_creation_gate(trigger, expected):
    assert should_run(SimpleNamespace(), entry(trigger_on_create=trigger), created=True) is expected


def test_deletes_are_never_blocked_by_the_creation_gate():
    assert should_run(SimpleNamespace(), entry(trigger_on_create=False), signal=DELETE)


@pytest.mark.parametrize(
    ("watch", "update_fields", "expected"),
    [
        (None, None, True),
        ([], None, True),
        (["email"], None, False),
        (["email"], ["email", "name"], True),
        (["email"], ["name"], False),
    ],
)
def test_watched_field_helper(watch, update_fields, expected):
    assert CacheRegister._has_watched_field_changed(watch, update_fields) is expected


def test_watch_fields_with_update_fields():
    rule = entry(watch_fields=["name"])
    assert should_run(Author(name="a"), rule, update_fields=["name"])
    assert not should_run(Author(name="a"), rule, update_fields=["country"])


def test_watch_fields_gate_m2m_changes_by_relation_name():
    rule = entry(watch_fields=["tags"])
    assert should_run(SimpleNamespace(), rule, signal=M2M, update_fields=["tags"])
    assert not should_run(SimpleNamespace(), rule, signal=M2M, update_fields=["other"])


def test_watch_fields_ignored_for_creates_and_deletes():
    rule = entry(watch_fields=["name"], trigger_on_create=True)
    assert should_run(Author(name="a"), rule, created=True)
    assert should_run(Author(name="a"), rule, signal=DELETE)


def test_invalidate_when_is_evaluated_with_watch_fields_too():
    rule = entry(watch_fields=["name"], invalidate_when={"country": "fr"})
    assert should_run(Author(name="a", country="fr"), rule, update_fields=["name"])
    assert not should_run(Author(name="a", country="de"), rule, update_fields=["name"])


@pytest.mark.parametrize(
    ("conditions", "attrs", "expected"),
    [
        ({"username": "user"}, {"username": "user"}, True),
        ({"username": "user"}, {"username": "user1"}, False),
        ({"email": None}, {"email": None}, True),
        ({"email": None}, {"email": "a@b.c"}, False),
        ({"!username": "admin"}, {"username": "admin"}, False),
        ({"!username": "admin"}, {"username": "bob"}, True),
        ({"!email": None}, {"email": "a@b.c"}, True),
        ({"!email": None}, {"email": None}, False),
        ({"missing": 1}, {}, False),
        ({"!missing": 1}, {}, True),
        ({"a": 1, "b": 2}, {"a": 1, "b": 3}, False),
    ],
)
def test_invalidate_when(conditions, attrs, expected):
    rule = entry(invalidate_when=conditions)
    assert should_run(SimpleNamespace(**attrs), rule) is expected
    assert should_run(SimpleNamespace(**attrs), rule, signal=DELETE) is expected


def test_field_value_walks_dotted_paths():
    obj = SimpleNamespace(a=SimpleNamespace(b=3), n=None)
    assert CacheRegister._get_field_value(obj, "a.b") == 3
    assert CacheRegister._get_field_value(obj, "n.b") is None
    assert CacheRegister._get_field_value(obj, "missing.b") is None


def kwargs_of(instance: Any, **options: Any) -> Any:
    return CacheRegister._resolve_rule_kwargs(instance, InvalidationRule(model=Author, **options))


def test_field_mapping_and_require_args():
    obj = SimpleNamespace(team_id=None, user_id=4)
    mapping = {"team_id": "team_id", "user_id": "user_id"}
    assert kwargs_of(obj, field_mapping={"user_id": "user_id"}) == {"user_id": 4}
    assert kwargs_of(obj, field_mapping=mapping) is None
    assert kwargs_of(obj, field_mapping=mapping, require_args=False) == {"team_id": None, "user_id": 4}
    assert kwargs_of(obj, field_mapping=mapping, require_args=["user_id"]) == {
        "team_id": None, "user_id": 4}
    assert kwargs_of(obj, field_mapping=mapping, require_args=["other"]) is None
    assert kwargs_of(obj) == {}
    assert kwargs_of(None, field_mapping=mapping) is None


def test_payload_values_are_json_native():
    value = uuid.uuid4()
    author = Author(pk=5)
    assert to_json({"u": value, "d": decimal.Decimal("1.50"), "n": None, "i": 3, "b": True}) == {
        "u": str(value), "d": "1.50", "n": None, "i": 3, "b": True}
    assert to_json(datetime.date(2024, 1, 2)) == "2024-01-02"
    assert to_json(datetime.datetime(2024, 1, 2, 3, 4, tzinfo=datetime.UTC)) == (
        "2024-01-02T03:04:00+00:00")
    assert to_json(author) == "invalidation_testapp.Author#5"
    assert to_json((1, {2})) == [1, [2]]
    assert to_json(float("nan")) == "nan"


def test_update_fields_and_watch_fields_may_use_attnames():
    from invalidation_testapp.models import Book

    rule = {"id": "x#y#0", "func": None,
            "invalidation_rule": InvalidationRule(model=Book, watch_fields=["author"])}
    assert should_run(Book(title="t"), rule, update_fields=["author_id"])
    rule["invalidation_rule"] = InvalidationRule(model=Book, watch_fields=["author_id"])
    assert should_run(Book(title="t"), rule, update_fields=["author"])
    assert not should_run(Book(title="t"), rule, update_fields=["title"])
