"""Planning at signal time: which rules a change runs, and with which kwargs.

Everything is decided while the signal runs, from the instance as it is then: the gates
(``trigger_on_create``, ``watch_fields``, ``invalidate_when``), then each rule's kwargs
from ``field_mapping`` (``require_args`` applied), converted to JSON, plus the kwargs of
the previous partition after a move. The result is a :class:`CommitWork` for ``_commit``.
This runs on every save of a model with rules: it allocates only for rules that run.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from restflow.caching import _capture
from restflow.caching._commit import CommitWork
from restflow.caching.rules import InvalidationRule, Rule, RuleWork, SignalType, model_label


def passes_gates(
    rule: Rule,
    instance: Any,
    created: bool,
    signal_type: SignalType,
    update_fields: frozenset[str] | None,
) -> bool:
    """Whether this change of ``instance`` runs ``rule`` (docs/invalidation.md, "Gates")."""
    spec = rule.spec
    is_save = signal_type is not SignalType.POST_DELETE
    if is_save and created and not spec.trigger_on_create:
        return False
    if is_save and not created and spec.watch_fields:
        if update_fields is None and signal_type is SignalType.POST_SAVE:
            if not _capture.watched_fields_changed(instance, spec.watch_fields):
                return False
        elif not _capture.watched_fields_in_update(
            _capture.field_names(type(instance), spec.watch_fields),
            _capture.field_names(type(instance), update_fields),
        ):
            return False
    return _capture.invalidate_when_holds(instance, spec.invalidate_when)


def kwargs_sets(instance: Any, spec: InvalidationRule, created: bool) -> list[dict[str, Any]]:
    """The JSON kwargs of the current partition, plus the previous one after a move."""
    sets: list[dict[str, Any]] = []
    current = _capture.resolve_kwargs(instance, spec)
    if current is not None:
        sets.append(_capture.to_json(current))
    if spec.field_mapping and not created and instance is not None:
        overrides = _capture.previous_overrides(instance, spec)
        if overrides:
            previous = _capture.resolve_kwargs(instance, spec, overrides)
            if previous is not None:
                encoded = _capture.to_json(previous)
                if encoded not in sets:
                    sets.append(encoded)
    return sets


def collect(
    instance: Any,
    rules: Iterable[Rule],
    created: bool,
    signal_type: SignalType,
    update_fields: frozenset[str] | None,
) -> list[RuleWork]:
    """The rules that pass their gates, each with its kwargs sets (shapes read once)."""
    items: list[RuleWork] = []
    # Only the creation gate applies to a rule without other gates.
    blocked_by_creation = created and signal_type is not SignalType.POST_DELETE
    by_shape: dict[Any, list[dict[str, Any]]] = {}
    for rule in rules:
        if rule.gated:
            if not passes_gates(rule, instance, created, signal_type, update_fields):
                continue
        elif blocked_by_creation and not rule.spec.trigger_on_create:
            continue
        shape = rule.shape
        if shape is None:
            items.append(RuleWork(rule))
            continue
        sets = by_shape.get(shape)
        if sets is None:
            sets = by_shape[shape] = kwargs_sets(instance, rule.spec, created)
        if sets:
            items.append(RuleWork(rule, list(sets)))
    return items


def plan(
    instance: Any,
    model: type,
    rules: Iterable[Rule],
    created: bool,
    signal_type: SignalType,
    update_fields: frozenset[str] | None,
) -> CommitWork | None:
    """What this change of ``instance`` leaves for the commit (``None``: nothing)."""
    items = collect(instance, rules, created, signal_type, update_fields)
    if not items:
        return None
    return CommitWork(
        items=items,
        instance=instance,
        model_label=model_label(model),
        pk=_capture.to_json(getattr(instance, "pk", None)),
        signal_type=signal_type,
        instance_created=created,
        update_fields=update_fields,
    )
