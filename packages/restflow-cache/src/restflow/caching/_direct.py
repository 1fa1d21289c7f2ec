"""Direct invalidation: running the rules for given instances, without a model signal.

Two ways, both planned exactly as a signal would (same gates, partition moves included):

* :func:`run_now` -- one instance, right away (``CacheRegister.invalidate_for_instance``);
* :func:`run_at_commit` -- many instances, after the commit of the database written, all
  rows in one job per dispatcher (``restflow.caching.bulk.invalidate_instances`` and the
  bulk write helpers).

The registry is passed in, so that it can offer ``invalidate_for_instance`` itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import router, transaction

from restflow.caching import _capture, _planning
from restflow.caching._commit import CommitBatch, CommitWork, schedule
from restflow.caching.rules import RuleIndex, SignalType


def run_now(
    registry: RuleIndex,
    instance: Any,
    created: bool,
    signal_type: SignalType,
    update_fields: Iterable[str] | None,
) -> None:
    """Run the rules of ``type(instance)`` for it in this call (no ``on_commit``)."""
    model = type(instance)
    fields = frozenset(update_fields) if update_fields is not None else None
    work = _planning.plan(instance, model, registry.rules_for(model), created, signal_type, fields)
    if work is not None:
        work.run()


def run_at_commit(
    registry: RuleIndex,
    instances: Iterable[Any],
    *,
    update_fields: Iterable[str] | None,
    created: bool,
    signal_type: SignalType,
    using: str | None,
) -> None:
    """Plan every instance now; run the work after the commit of ``using``.

    ``using`` defaults to the router's write database of the first instance's model.
    """
    fields = frozenset(update_fields) if update_fields is not None else None
    works: list[CommitWork] = []
    remembers: list[_capture.RememberWritten] = []
    alias = using
    for instance in instances:
        model = type(instance)
        alias = alias or router.db_for_write(model, instance=instance)
        work = _planning.plan(
            instance, model, registry.rules_for(model), created, signal_type, fields
        )
        if work is not None:
            works.append(work)
        tracked = registry.tracked(model)
        if tracked and signal_type is SignalType.POST_SAVE:
            written = _capture.written_values(instance, tracked, fields)
            remembers.append(_capture.RememberWritten(instance, written, fields is None))
    alias = alias or "default"
    if works:
        schedule(CommitBatch(works), alias)
    if remembers:
        transaction.on_commit(_RememberAll(remembers).run, using=alias, robust=True)


class _RememberAll:
    __slots__ = ("remembers",)

    def __init__(self, remembers: list[_capture.RememberWritten]) -> None:
        self.remembers = remembers

    def run(self) -> None:
        for remember in self.remembers:
            remember.run()
