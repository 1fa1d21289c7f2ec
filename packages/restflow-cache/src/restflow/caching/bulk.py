"""Invalidation for writes Django sends no signal for.

``QuerySet.update()``, ``bulk_update()``, ``bulk_create()`` and raw SQL do not send
``post_save``, so no rule runs for them. These helpers do the write and then run the
rules of the model for every affected row, exactly as a ``save()`` would (same gates,
partition moves included), after the commit of the database that was written:

* :func:`update_and_invalidate` -- ``queryset.update(**values)`` plus invalidation;
* :func:`bulk_update_and_invalidate` -- ``Model.objects.bulk_update(objs, fields)`` plus
  invalidation;
* :func:`bulk_create_and_invalidate` -- ``Model.objects.bulk_create(objs)`` plus the
  rules that run on creation (``trigger_on_create=True``);
* :func:`invalidate_instances` -- the invalidation alone, for rows you changed yourself.

All of a call's rows are handed to each dispatcher in one job.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import router, transaction

from restflow.caching import _capture, _direct
from restflow.caching.registry import CacheRegister
from restflow.caching.rules import SignalType

__all__ = [
    "bulk_create_and_invalidate",
    "bulk_update_and_invalidate",
    "invalidate_instances",
    "update_and_invalidate",
]


def invalidate_instances(
    instances: Iterable[Any],
    *,
    update_fields: Iterable[str] | None = None,
    created: bool = False,
    signal_type: SignalType = SignalType.POST_SAVE,
    using: str | None = None,
) -> None:
    """Run the rules of each instance's model as if it had just been saved (or deleted).

    ``update_fields`` plays the role of ``save(update_fields=...)`` for ``watch_fields``;
    leave it ``None`` to compare with the values the instances were loaded with.
    ``created=True`` treats the rows as new (only ``trigger_on_create`` rules run). The
    work runs after the commit of ``using`` (default: the router's write database of the
    first instance's model), right away in autocommit mode.
    """
    _direct.run_at_commit(
        CacheRegister,
        instances,
        update_fields=update_fields,
        created=created,
        signal_type=signal_type,
        using=using,
    )


def bulk_update_and_invalidate(
    objs: Sequence[Any],
    fields: Sequence[str],
    *,
    batch_size: int | None = None,
    using: str | None = None,
) -> int:
    """``Model.objects.bulk_update(objs, fields)``, then the rules for every object.

    Old partitions are known for objects that were loaded from the database (their
    loaded values are remembered); for objects built in Python only the current
    partition is invalidated.
    """
    if not objs:
        return 0
    model = type(objs[0])
    alias = using or router.db_for_write(model, instance=objs[0])
    with transaction.atomic(using=alias):
        manager: Any = model._default_manager.db_manager(alias)
        count = int(manager.bulk_update(objs, fields, batch_size=batch_size))
        invalidate_instances(objs, update_fields=fields, using=alias)
    return count


def bulk_create_and_invalidate(
    objs: Sequence[Any],
    *,
    batch_size: int | None = None,
    using: str | None = None,
    **options: Any,
) -> list[Any]:
    """``Model.objects.bulk_create(objs, ...)``, then the creation rules for every row.

    Rows need their primary keys back from the database (PostgreSQL, SQLite, MariaDB)
    for rules that map ``pk``. ``options`` go to ``bulk_create`` as given.
    """
    if not objs:
        return []
    model = type(objs[0])
    alias = using or router.db_for_write(model, instance=objs[0])
    with transaction.atomic(using=alias):
        manager: Any = model._default_manager.db_manager(alias)
        created = list(manager.bulk_create(objs, batch_size=batch_size, **options))
        invalidate_instances(created, created=True, using=alias)
    return created


def update_and_invalidate(queryset: Any, **values: Any) -> int:
    """``queryset.update(**values)``, then the rules for every updated row.

    The affected rows are read before and after the update (two queries, rows held in
    memory) so that partition moves drop the old and the new partition. For very large
    updates prefer invalidating whole functions (``wrapper.invalidate_all()``).
    """
    model = queryset.model
    if not CacheRegister.rules_for(model):
        return int(queryset.update(**values))
    alias = queryset._db or router.db_for_write(model)
    with transaction.atomic(using=alias):
        before = {obj.pk: obj for obj in queryset.using(alias)}
        count = int(model._base_manager.using(alias).filter(pk__in=list(before)).update(**values))
        after = list(model._base_manager.using(alias).filter(pk__in=list(before)))
        for obj in after:
            loaded = _capture.loaded_values(before[obj.pk])
            if loaded is not None:
                obj.__dict__[_capture.LOADED_ATTR] = loaded
            else:
                obj.__dict__.pop(_capture.LOADED_ATTR, None)
        invalidate_instances(after, update_fields=values.keys(), using=alias)
    return count
