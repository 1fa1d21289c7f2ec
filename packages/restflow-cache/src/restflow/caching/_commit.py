"""The work a change leaves for after its commit, and one run per transaction.

A signal plans a :class:`CommitWork` (the rules that passed their gates, the JSON kwargs
of each, the instance's label and pk); :func:`schedule` wraps it in a
:class:`CommitBatch` for the commit of the database alias that was written. Running a
batch calls the custom invalidators in the committing process and hands the
field-mapping rules, merged per rule id, to their dispatchers (``_dispatch``).

One job per dispatcher per commit, without losing savepoint semantics: every change
registers its own ``transaction.on_commit`` callback, so Django itself discards the work
of a rolled-back savepoint or transaction. Each thread also keeps, per database alias,
*weak* references to the batches waiting for that alias's commit. The first callback
that runs after the commit takes every batch still alive -- those Django did not discard
-- and runs them together. The later callbacks find their batch done. A discarded batch
is only referenced by the callback list Django dropped, so CPython frees it at once; on
runtimes without reference counting it may survive until the next garbage collection
and be run: an extra invalidation, never a stale entry.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Awaitable
from typing import Any

from asgiref.sync import async_to_sync
from django.db import transaction

from restflow.caching._dispatch import dispatch_rules
from restflow.caching._invalidators import run_invalidator
from restflow.caching.rules import Rule, RuleGroup, RuleWork
from restflow.dispatch.base import resolve_raise_exception
from restflow.dispatch.registry import dispatcher_generation

logger = logging.getLogger("restflow.caching.registry")


# The classes below are plain slotted classes, not dataclasses: creating a dataclass
# costs ~0.5 ms at import, and this module is imported by django.setup().
class CommitWork:
    """Everything one change (or one row of a bulk helper) leaves for the commit."""

    __slots__ = (
        "instance",
        "instance_created",
        "items",
        "model_label",
        "pk",
        "signal_type",
        "update_fields",
    )

    def __init__(
        self,
        items: list[RuleWork],
        instance: Any,
        model_label: str,
        pk: Any,
        signal_type: Any,
        instance_created: bool = False,
        update_fields: frozenset[str] | None = None,
    ) -> None:
        self.items = items
        self.instance = instance
        self.model_label = model_label
        self.pk = pk
        self.signal_type = signal_type
        self.instance_created = instance_created
        self.update_fields = update_fields

    def run_custom(self, item: RuleWork) -> None:
        """Call the custom invalidators of ``item`` for this change (async ones driven)."""
        for rule in item.group.rules:
            self._run_invalidator(rule)

    def _run_invalidator(self, rule: Rule) -> None:
        result = run_invalidator(
            rule,
            self.instance,
            signal_type=self.signal_type,
            instance_created=self.instance_created,
            update_fields=self.update_fields,
            pk=self.pk,
        )
        if result is not None:
            async_to_sync(_await)(result)

    def run(self) -> None:
        dispatched: list[RuleWork] = []
        for item in self.items:
            if item.group.is_custom:
                self.run_custom(item)
            else:
                dispatched.append(item)
        dispatch_rules(
            dispatched,
            {"model_label": self.model_label, "pk": self.pk, "signal_type": self.signal_type},
        )


class CommitBatch:
    """The work of one or more changes, run as one: merged dispatches per dispatcher.

    ``commit`` is what ``transaction.on_commit`` calls: the first batch of a transaction
    to run takes every other batch of that transaction still pending.
    """

    __slots__ = ("__weakref__", "after", "done", "key", "works")

    def __init__(self, works: list[CommitWork], after: Any = None) -> None:
        self.works = works
        self.key: tuple[str, bool] = ("default", True)
        self.done = False
        # What the change also leaves for its commit (``_capture.RememberWritten``): run
        # by this batch's own callback, after its work, so a change registers one
        # ``on_commit`` callback, not two.
        self.after = after

    def commit(self) -> None:
        if not self.done:
            self._commit()
        if self.after is not None:
            _run_robustly(self.after.run)

    def _commit(self) -> None:
        refs = _buffers.by_key.pop(self.key, [])
        batches = [b for ref in refs if (b := ref()) is not None and not b.done]
        if not any(b is self for b in batches):
            batches.append(self)
        for pending in batches:
            pending.done = True
        if len(batches) == 1:
            self.run()  # the usual case (one change per transaction, or autocommit)
            return
        CommitBatch([work for pending in batches for work in pending.works]).run()

    def run(self) -> None:
        if len(self.works) == 1:
            # One change: its rule ids are distinct and its kwargs sets deduplicated
            # already, so there is nothing to merge.
            self.works[0].run()
            return
        for work in self.works:
            for item in work.items:
                if item.group.is_custom:
                    work.run_custom(item)
        items = _merge(self.works, by_rule=False)
        ids = [rule_id for item in items for rule_id in item.group.ids]
        if len(set(ids)) != len(ids):
            items = _merge(self.works, by_rule=True)
        if items:
            dispatch_rules(items, _context(self.works))


def _merge(works: list[CommitWork], by_rule: bool) -> list[RuleWork]:
    """The works' field-mapping items, kwargs sets merged per group (the works of one
    model share their compiled groups) or, when groups overlap, per rule."""
    merged: dict[Any, RuleWork] = {}
    for work in works:
        for item in work.items:
            group = item.group
            if group.is_custom:
                continue
            if not by_rule:
                _add(merged, id(group), group, item.kwargs)
                continue
            for rule in group.rules:
                _add(merged, rule.id, rule, item.kwargs)
    return list(merged.values())


def _add(merged: dict[Any, RuleWork], key: Any, owner: Any, kwargs: list[Any]) -> None:
    target = merged.get(key)
    if target is None:
        group = owner if isinstance(owner, RuleGroup) else RuleGroup((owner,))
        merged[key] = RuleWork(group, list(kwargs))
    else:
        target.kwargs.extend(k for k in kwargs if k not in target.kwargs)


def _context(works: list[CommitWork]) -> dict[str, Any]:
    """Dispatch context: one change's label, pk and signal, or lists for several."""
    if len(works) == 1:
        work = works[0]
        return {"model_label": work.model_label, "pk": work.pk, "signal_type": work.signal_type}
    labels = list(dict.fromkeys(work.model_label for work in works))
    signals = list(dict.fromkeys(work.signal_type for work in works))
    return {
        "model_label": labels[0] if len(labels) == 1 else labels,
        "pk": [work.pk for work in works],
        "signal_type": signals[0] if len(signals) == 1 else signals,
    }


def _run_robustly(func: Any) -> None:
    """Call ``func`` as a robust ``on_commit`` callback would be: an error is logged."""
    try:
        func()
    except Exception:
        logger.exception("restflow could not run %r after a commit", func)


async def _await(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


# --------------------------------------------------------------------- scheduling

_PRUNE_AT = 64


class _Buffers(threading.local):
    def __init__(self) -> None:
        self.by_key: dict[tuple[str, bool], list[weakref.ref[CommitBatch]]] = {}


_buffers = _Buffers()


def schedule(batch: CommitBatch, using: str) -> None:
    """Run ``batch`` after the commit of ``using`` (at once in autocommit mode).

    An error may leave the ``on_commit`` callback (not robust) only if a rule of the
    batch says so (see :func:`wants_raise`).
    """
    robust = True
    for work in batch.works:
        if wants_raise(work):
            robust = False
            break
    batch.key = (using, robust)
    refs = _buffers.by_key.setdefault(batch.key, [])
    if len(refs) >= _PRUNE_AT:
        refs[:] = [ref for ref in refs if ref() is not None]
    refs.append(weakref.ref(batch))
    transaction.on_commit(batch.commit, using=using, robust=robust)


def wants_raise(work: CommitWork) -> bool:
    """Whether an error of this work may propagate out of ``on_commit`` (else robust)."""
    generation = dispatcher_generation()
    for item in work.items:
        group = item.group
        kept = group.cache.get("raises")
        if kept is None or kept[0] != generation:
            # Resolved per group and kept until RESTFLOW_SETTINGS (where the dispatcher
            # blocks and DISPATCHER_RAISE_EXCEPTION live) or a registration changes.
            kept = group.cache["raises"] = (generation, _group_raises(group))
        if kept[1]:
            return True
    return False


def _group_raises(group: RuleGroup) -> bool:
    # A falsy explicit flag resolves to False; an unset one depends on the dispatcher
    # only, so it is resolved once per dispatcher spec (not once per rule).
    unset = group.cache.get("unset_dispatchers")
    if unset is None:
        unset = _raise_flags(group)
    if unset is True:
        return True
    return any(
        resolve_raise_exception(group.cache["names"][dispatcher](), [None])
        for dispatcher in unset
    )


def _raise_flags(group: RuleGroup) -> Any:
    """``True`` when a rule of ``group`` sets ``raise_exception``, else the dispatcher
    specs of its rules that leave it unset (their dispatcher decides), kept on the group."""
    unset: dict[Any, Any] = {}
    for rule in group.rules:
        spec = rule.spec
        if spec.raise_exception:
            group.cache["unset_dispatchers"] = True
            return True
        if spec.raise_exception is None and spec.invalidator is None:
            unset.setdefault(spec.dispatcher, spec.dispatcher_name)
    group.cache["names"] = unset
    group.cache["unset_dispatchers"] = tuple(unset)
    return group.cache["unset_dispatchers"]
