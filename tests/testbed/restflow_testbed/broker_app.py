"""The models and cached functions of the broker packages' end-to-end test apps.

Every broker package (celery, django-rq, dramatiq, django-q2) keeps a small Django test
app in its ``tests/`` folder, installed only when that package is: its ``models.py``
calls :func:`declare_models` and its ``cached.py`` calls :func:`declare_cached` with the
package's dispatcher name. The test process and the worker processes import
the same app, so both know the same rules (found by restflow's auto-discovery).

* ``Note``: integer primary key, cached per owner (a partition);
* ``Sticker``: UUID primary key; ``Shelf``: string primary key (they travel as JSON
  strings).
"""

from __future__ import annotations

import sys
import uuid
from typing import Any

from django.db import models

from restflow.caching import ArgsKeyField, InvalidationRule, cache_result

__all__ = ["declare_cached", "declare_models", "rule_id"]


class NoteBase(models.Model):
    """Integer primary key; cached per owner."""

    owner_id = models.IntegerField()
    text = models.CharField(max_length=100)
    stars = models.IntegerField(default=0)

    class Meta:
        abstract = True


class StickerBase(models.Model):
    """UUID primary key."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    label = models.CharField(max_length=50)

    class Meta:
        abstract = True


class ShelfBase(models.Model):
    """String primary key."""

    code = models.CharField(primary_key=True, max_length=20)
    name = models.CharField(max_length=50)

    class Meta:
        abstract = True


def declare_models(module: str) -> tuple[Any, Any, Any]:
    """Concrete ``Note``, ``Sticker`` and ``Shelf`` models of the app of ``module``."""
    return tuple(  # type: ignore[return-value]
        type(base.__name__.removesuffix("Base"), (base,), {"__module__": module})
        for base in (NoteBase, StickerBase, ShelfBase)
    )


def rule_id(func: Any, model: type[models.Model], index: int = 0) -> str:
    """The id restflow gives rule ``index`` of cached function ``func`` on ``model``."""
    return f"{func.__module__}.{func.__qualname__}#{model._meta.label}#{index}"


def declare_cached(module: str, dispatcher: str, *, note: Any, sticker: Any, shelf: Any) -> None:
    """Declare the shared cached functions in ``module`` (pass ``__name__``).

    Each function has one rule on ``dispatcher``; the functions live in ``module`` under
    their own names, so rule ids name that module, as for functions written there.
    """
    by_owner = {"fields": {"owner": ArgsKeyField("owner_id", partition=True)}}

    def notes_of_owner(owner_id: Any) -> list[str]:
        return sorted(note.objects.filter(owner_id=owner_id).values_list("text", flat=True))

    def stars_of_owner(owner_id: Any) -> int:
        """Rewarmed by the worker: recomputed from the database, never from the message."""
        return sum(note.objects.filter(owner_id=owner_id).values_list("stars", flat=True))

    def sticker_label(sticker_id: Any) -> str:
        return str(sticker.objects.get(pk=sticker_id).label)

    def shelf_name(code: Any) -> str:
        return str(shelf.objects.get(pk=code).name)

    declared = [
        (notes_of_owner, by_owner, InvalidationRule(
            model=note, field_mapping={"owner_id": "owner_id"}, dispatcher=dispatcher)),
        (stars_of_owner, by_owner, InvalidationRule(
            model=note, field_mapping={"owner_id": "owner_id"}, rewarm=True,
            dispatcher=dispatcher)),
        (sticker_label, {"fields": {"sticker": ArgsKeyField("sticker_id", partition=True)}},
         InvalidationRule(model=sticker, field_mapping={"sticker_id": "pk"},
                          dispatcher=dispatcher)),
        (shelf_name, {"fields": {"shelf": ArgsKeyField("code", partition=True)}},
         InvalidationRule(model=shelf, field_mapping={"code": "pk"}, dispatcher=dispatcher)),
    ]
    target = sys.modules[module]
    for func, key_constructor, rule in declared:
        func.__module__ = module
        func.__qualname__ = func.__name__
        setattr(target, func.__name__,
                cache_result(key_constructor=key_constructor, ttl=600, invalidates_on=[rule])(func))
