"""Cached functions invalidated through the django-rq dispatcher (found by auto-discovery
in the test process and in the worker processes alike)."""

from __future__ import annotations

from typing import Any

from restflow.caching import ArgsKeyField, InvalidationRule, cache_result

from .models import Note, Shelf, Sticker

BY_OWNER = {"fields": {"owner": ArgsKeyField("owner_id", partition=True)}}


@cache_result(
    key_constructor=BY_OWNER,
    ttl=600,
    invalidates_on=[
        InvalidationRule(model=Note, field_mapping={"owner_id": "owner_id"}, dispatcher="django_rq")
    ],
)
def notes_of_owner(owner_id: Any) -> list[str]:
    return sorted(Note.objects.filter(owner_id=owner_id).values_list("text", flat=True))


@cache_result(
    key_constructor=BY_OWNER,
    ttl=600,
    invalidates_on=[
        InvalidationRule(model=Note, field_mapping={"owner_id": "owner_id"}, rewarm=True,
                         dispatcher="django_rq")
    ],
)
def stars_of_owner(owner_id: Any) -> int:
    """Rewarmed by the worker: recomputed from the database, never from the message."""
    return sum(Note.objects.filter(owner_id=owner_id).values_list("stars", flat=True))


@cache_result(
    key_constructor={"fields": {"sticker": ArgsKeyField("sticker_id", partition=True)}},
    ttl=600,
    invalidates_on=[
        InvalidationRule(model=Sticker, field_mapping={"sticker_id": "pk"}, dispatcher="django_rq")
    ],
)
def sticker_label(sticker_id: Any) -> str:
    return str(Sticker.objects.get(pk=sticker_id).label)


@cache_result(
    key_constructor={"fields": {"shelf": ArgsKeyField("code", partition=True)}},
    ttl=600,
    invalidates_on=[
        InvalidationRule(model=Shelf, field_mapping={"code": "pk"}, dispatcher="django_rq")
    ],
)
def shelf_name(code: Any) -> str:
    return str(Shelf.objects.get(pk=code).name)
