"""Saves in the test process, invalidation by a real Dramatiq worker, one shared Redis cache."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import transaction
from dramatiq_support import queued_messages, wait_until
from dramatiq_testapp.cached import (
    IDLE_QUEUE,
    badge_text,
    calls,
    gadget_label,
    item_title,
    item_title_rewarmed,
)
from dramatiq_testapp.models import Badge, Gadget, Item

from restflow.caching import CACHE_MISSING
from restflow.dispatch.dramatiq import DramatiqDispatcher

pytestmark = [
    pytest.mark.broker,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("dramatiq_worker", "shared_cache"),
]


@pytest.fixture
def idle(producer_broker: Any) -> Any:
    """The Redis client of the broker, with the idle queue emptied."""
    client = producer_broker.client
    client.delete(f"dramatiq:{IDLE_QUEUE}", f"dramatiq:{IDLE_QUEUE}.msgs")
    return client


def _published_for(client: Any, func: Any, key: str, value: Any) -> list[dict[str, Any]]:
    """Idle-queue messages of ``func``'s rules whose kwargs carry ``key=value``."""
    owner = f"{func.__module__}.{func.__qualname__}#"
    found = []
    for message in queued_messages(client, IDLE_QUEUE):
        rule_ids, rule_kwargs = message["args"]
        if all(rule_id.startswith(owner) for rule_id in rule_ids) and any(
            kw == {key: value} for kw in rule_kwargs.values()
        ):
            found.append(message)
    return found


def test_a_committed_save_is_published_after_commit_and_the_worker_drops_the_entry(
    idle: Any,
) -> None:
    item = Item.objects.create(title="v1")
    assert item_title(item.pk) == "v1"
    with transaction.atomic():
        item.title = "v2"
        item.save()
        assert _published_for(idle, item_title, "item_id", item.pk) == []  # nothing before commit
        assert item_title.get_cache_only(item.pk) == "v1"
    assert len(_published_for(idle, item_title, "item_id", item.pk)) == 1  # published at commit
    assert wait_until(lambda: item_title.get_cache_only(item.pk) is CACHE_MISSING), (
        "the worker never dropped the entry")
    assert item_title(item.pk) == "v2"


def test_a_rolled_back_transaction_publishes_nothing(idle: Any) -> None:
    item = Item.objects.create(title="v1")
    assert item_title(item.pk) == "v1"
    with transaction.atomic():
        item.title = "v2"
        item.save()
        transaction.set_rollback(True)
    item.refresh_from_db()
    assert item.title == "v1"
    assert _published_for(idle, item_title, "item_id", item.pk) == []
    assert item_title.get_cache_only(item.pk) == "v1"


def test_rewarm_runs_on_the_worker(idle: Any) -> None:
    item = Item.objects.create(title="v1")
    assert item_title_rewarmed(item.pk) == "v1"
    item.title = "v2"
    item.save()
    assert wait_until(lambda: item_title_rewarmed.get_cache_only(item.pk) == "v2")


@pytest.mark.parametrize("kind", ["uuid", "str"])
def test_uuid_and_string_primary_keys_travel_as_strings(idle: Any, kind: str) -> None:
    if kind == "uuid":
        obj: Any = Gadget.objects.create(label="v1")
        func: Any = gadget_label
        key, arg = "gadget_id", str(obj.pk)
    else:
        obj = Badge.objects.create(code=f"b/{uuid.uuid4().hex[:6]} é", text="v1")
        func = badge_text
        key, arg = "code", obj.pk
    assert func(arg) == "v1"
    setattr(obj, "label" if kind == "uuid" else "text", "v2")
    obj.save()
    [message] = _published_for(idle, func, key, arg)
    assert isinstance(next(iter(message["args"][1].values()))[key], str)
    assert wait_until(lambda: func.get_cache_only(arg) is CACHE_MISSING)
    assert func(arg) == "v2"


def test_duplicate_and_late_deliveries_leave_the_cache_consistent(idle: Any) -> None:
    item = Item.objects.create(title="v1")
    assert item_title_rewarmed(item.pk) == "v1"
    item.title = "v2"
    item.save()  # job 1
    [first] = _published_for(idle, item_title_rewarmed, "item_id", item.pk)
    assert wait_until(lambda: item_title_rewarmed.get_cache_only(item.pk) == "v2")
    item.title = "v3"
    item.save()  # job 2, newer
    assert wait_until(lambda: item_title_rewarmed.get_cache_only(item.pk) == "v3")

    # Job 1 again, twice, after the newer write (a redelivery and a late duplicate).
    before = calls("item_title_rewarmed")
    rule_ids, rule_kwargs = first["args"]
    for _ in range(2):
        DramatiqDispatcher().dispatch(rule_ids=rule_ids, rule_kwargs=rule_kwargs)
    seen: set[Any] = set()

    def settled() -> bool:
        value = item_title_rewarmed.get_cache_only(item.pk)
        seen.add(value)
        return calls("item_title_rewarmed") >= before + 2 and value == "v3"

    assert wait_until(settled), "the two late jobs never ran"
    # Between the two rewarms the entry may be missing for a moment, never stale.
    assert seen <= {"v3", CACHE_MISSING}
    assert item_title_rewarmed(item.pk) == "v3"


def test_an_unknown_rule_id_on_the_worker_invalidates_the_whole_function(
    idle: Any, dramatiq_worker: Any
) -> None:
    first = Item.objects.create(title="a")
    second = Item.objects.create(title="b")
    assert (item_title(first.pk), item_title(second.pk)) == ("a", "b")
    # A rule the web process has and the worker does not (a newer deploy, say).
    skewed = "dramatiq_testapp.cached.item_title#dramatiq_testapp.Item#99"
    DramatiqDispatcher().dispatch(rule_ids=[skewed], rule_kwargs={skewed: {"item_id": first.pk}})
    assert wait_until(lambda: item_title.get_cache_only(first.pk) is CACHE_MISSING
                      and item_title.get_cache_only(second.pk) is CACHE_MISSING)
    assert wait_until(lambda: "unknown in this process" in dramatiq_worker.log_tail(400))
    # The worker keeps working.
    first.title = "a2"
    first.save()
    item_title(second.pk)
    assert wait_until(lambda: item_title.get_cache_only(first.pk) is CACHE_MISSING)
