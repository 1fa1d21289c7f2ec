"""Cached functions whose rules dispatch through Dramatiq (discovered in every process).

Each function has a *live* rule (restflow's default actor and queue, consumed by the test
worker) and an *idle* rule on a queue no worker consumes, where the tests read what was
published and when.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import caches

from restflow.caching import ArgsKeyField, InvalidationRule, cache_result

from .models import Badge, Gadget, Item

IDLE_QUEUE = "restflow-e2e-idle"
IDLE_ACTOR = "restflow.e2e.idle"
IDLE = {"queue": IDLE_QUEUE, "actor_name": IDLE_ACTOR}


def count_call(name: str) -> None:
    """Count computations in the shared cache (the worker's rewarms count too)."""
    cache = caches["default"]
    cache.add(f"e2e-calls:{name}", 0, timeout=None)
    cache.incr(f"e2e-calls:{name}")


def calls(name: str) -> int:
    return int(caches["default"].get(f"e2e-calls:{name}", 0))


def _rules(model: type, mapping: dict[str, str], **options: Any) -> list[InvalidationRule]:
    return [
        InvalidationRule(model=model, field_mapping=mapping, dispatcher="dramatiq", **options),
        InvalidationRule(model=model, field_mapping=mapping, dispatcher="dramatiq",
                         dispatcher_config=IDLE, **options),
    ]


@cache_result(
    key_constructor={"fields": {"item": ArgsKeyField("item_id", partition=True)}},
    ttl=300,
    invalidates_on=_rules(Item, {"item_id": "pk"}),
)
def item_title(item_id: Any) -> str:
    count_call("item_title")
    return str(Item.objects.get(pk=item_id).title)


@cache_result(
    key_constructor={"fields": {"item": ArgsKeyField("item_id", partition=True)}},
    ttl=300,
    invalidates_on=_rules(Item, {"item_id": "pk"}, rewarm=True),
)
def item_title_rewarmed(item_id: Any) -> str:
    count_call("item_title_rewarmed")
    return str(Item.objects.get(pk=item_id).title)


@cache_result(
    key_constructor={"fields": {"gadget": ArgsKeyField("gadget_id", partition=True)}},
    ttl=300,
    invalidates_on=_rules(Gadget, {"gadget_id": "pk"}),
)
def gadget_label(gadget_id: Any) -> str:
    count_call("gadget_label")
    return str(Gadget.objects.get(pk=gadget_id).label)


@cache_result(
    key_constructor={"fields": {"badge": ArgsKeyField("code", partition=True)}},
    ttl=300,
    invalidates_on=_rules(Badge, {"code": "pk"}),
)
def badge_text(code: Any) -> str:
    count_call("badge_text")
    return str(Badge.objects.get(pk=code).text)


@cache_result(
    key_constructor={"fields": {"item": ArgsKeyField("item_id", partition=True)}},
    ttl=300,
    invalidates_on=[InvalidationRule(model=Item, field_mapping={"item_id": "pk"},
                                     dispatcher="dramatiq")],
)
def item_summary(item_id: Any) -> str:
    """Live rule only: what the latency measurement saves and watches."""
    return f"item {item_id}"
