"""Planning at signal time: which rules a change runs, and with which kwargs.

Everything is decided while the signal runs, from the instance as it is then: the gates
(``trigger_on_create``, ``watch_fields``, ``invalidate_when``), then each rule's kwargs
from ``field_mapping`` (``require_args`` applied), converted to JSON, plus the kwargs of
the previous partition after a move. The result is a :class:`CommitWork` for ``_commit``.

This runs on every save of a model with rules, so what does not depend on the instance
is compiled once per (rules of the model, signal, created, ``update_fields``): the
creation gate and ``watch_fields`` against ``update_fields`` are decided there, and the
rules left are cut into :class:`RuleGroup` runs that share a kwargs shape and the gates
still to evaluate. A save then costs one evaluation per group, not per rule. A compiled
plan is keyed by the registry's tuple of rules, which is replaced whenever a rule is
registered or removed, so a later rule is always seen.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from restflow.caching import _capture
from restflow.caching._commit import CommitWork
from restflow.caching.rules import (
    InvalidationRule,
    Rule,
    RuleGroup,
    RuleWork,
    SignalType,
    model_label,
)

_DELETE = SignalType.POST_DELETE
_SAVE = SignalType.POST_SAVE
_PLANS_LIMIT = 256  # rules tuples kept (one per model; old ones after re-registration)
_KEYS_LIMIT = 64  # (signal, created, update_fields) variants kept per rules tuple

Plan = tuple[RuleGroup, ...]
# id(rules) -> (rules, {(signal, created, update_fields): groups}); the tuple is kept so
# that its id is not reused while the entry lives.
_plans: dict[int, tuple[tuple[Rule, ...], dict[Any, Plan]]] = {}


def compile_groups(
    model: type,
    rules: Iterable[Rule],
    created: bool,
    signal_type: SignalType,
    update_fields: frozenset[str] | None,
) -> Plan:
    """The groups of ``rules`` this kind of change may run (docs/invalidation.md, "Gates").

    The creation gate and ``watch_fields`` against the fields a change names are decided
    here; a plain ``save()`` leaves ``watch_fields`` (as column attnames) to the instance,
    and ``invalidate_when`` is always left to it.
    """
    is_save = signal_type is not _DELETE
    runs: list[tuple[list[Rule], Any, Any]] = []
    for rule in rules:
        spec = rule.spec
        if is_save and created and not spec.trigger_on_create:
            continue
        watch: Any = None
        when: Any = None
        if rule.gated:
            if is_save and not created and spec.watch_fields:
                if update_fields is None and signal_type is _SAVE:
                    watch = _capture.watched_attnames(model, spec.watch_fields)
                elif not _capture.watched_fields_in_update(
                    _capture.field_names(model, spec.watch_fields),
                    _capture.field_names(model, update_fields),
                ):
                    continue
            when = spec.invalidate_when or None
        if runs:
            last, last_watch, last_when = runs[-1]
            if last[0].shape == rule.shape and last_watch == watch and last_when is when:
                last.append(rule)
                continue
        runs.append(([rule], watch, when))
    return tuple(RuleGroup(tuple(run), watch, when) for run, watch, when in runs)


def groups_for(
    model: type,
    rules: tuple[Rule, ...],
    created: bool,
    signal_type: SignalType,
    update_fields: frozenset[str] | None,
) -> Plan:
    """The compiled groups of ``rules`` for this kind of change (built on first use)."""
    entry = _plans.get(id(rules))
    if entry is None or entry[0] is not rules:
        if len(_plans) >= _PLANS_LIMIT:
            _plans.clear()
        entry = _plans[id(rules)] = (rules, {})
    key = (signal_type, created, update_fields)
    groups = entry[1].get(key)
    if groups is None:
        groups = compile_groups(model, rules, created, signal_type, update_fields)
        if len(entry[1]) >= _KEYS_LIMIT:
            entry[1].clear()
        entry[1][key] = groups
    return groups


def group_passes(group: RuleGroup, instance: Any, seen: dict[Any, bool]) -> bool:
    """The gates ``group`` leaves to the instance (``seen`` remembers watch results)."""
    watch = group.watch
    if watch is not None:
        changed = seen.get(watch)
        if changed is None:
            changed = seen[watch] = _capture.watched_changed(instance, watch)
        if not changed:
            return False
    when = group.when
    return when is None or _capture.invalidate_when_holds(instance, when)


def passes_gates(
    rule: Rule,
    instance: Any,
    created: bool,
    signal_type: SignalType,
    update_fields: frozenset[str] | None,
) -> bool:
    """Whether this change of ``instance`` runs ``rule`` (docs/invalidation.md, "Gates")."""
    groups = compile_groups(type(instance), (rule,), created, signal_type, update_fields)
    return bool(groups) and group_passes(groups[0], instance, {})


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


def collect(instance: Any, groups: Plan, created: bool) -> list[RuleWork]:
    """The groups that pass their gates, each with its kwargs sets (shapes read once)."""
    items: list[RuleWork] = []
    seen: dict[Any, bool] = {}
    by_shape: dict[Any, list[dict[str, Any]]] = {}
    for group in groups:
        if (group.watch is not None or group.when is not None) and not group_passes(
            group, instance, seen
        ):
            continue
        shape = group.shape
        if shape is None:
            items.append(RuleWork(group))
            continue
        sets = by_shape.get(shape)
        if sets is None:
            sets = by_shape[shape] = kwargs_sets(instance, group.spec, created)
        if sets:
            items.append(RuleWork(group, sets))
    return items


def plan(
    instance: Any,
    model: type,
    rules: tuple[Rule, ...],
    created: bool,
    signal_type: SignalType,
    update_fields: frozenset[str] | None,
) -> CommitWork | None:
    """What this change of ``instance`` leaves for the commit (``None``: nothing)."""
    if not rules:
        return None
    groups = groups_for(model, rules, created, signal_type, update_fields)
    items = collect(instance, groups, created) if groups else None
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
