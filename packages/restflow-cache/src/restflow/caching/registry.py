"""``CacheRegister``: the process-wide index of invalidation rules, wired to model signals.

Rules are addressed by stable ids (``<module>.<qualname>#<model label>#<n>``) so that a
worker process finds the rule the web process dispatched. Receivers are connected per
model with a ``dispatch_uid``; all decisions are taken while the signal runs, and the work
waits for ``transaction.on_commit`` on the database alias that was written.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Awaitable, Iterable
from typing import Any

from django.db import router, transaction

from restflow.caching import _capture, _discovery, _pending, _signals
from restflow.caching._commit import (
    CommitBatch,
    CommitWork,
    RuleWork,
    is_async_wrapper,
    run_invalidator,
)
from restflow.caching.rules import InvalidationRule

__all__ = ["CacheRegister", "CacheRegistry"]

logger = logging.getLogger("restflow.caching.registry")

RuleEntry = dict[str, Any]
Planned = tuple[RuleEntry, InvalidationRule, Any, bool]
"""A rule as a signal evaluates it: ``(entry, rule, kwargs shape, has gates)`` (see
:meth:`CacheRegistry._planned`)."""


def model_label(model: type) -> str:
    meta = getattr(model, "_meta", None)
    if meta is not None and getattr(meta, "label", None):
        return str(meta.label)
    return f"{model.__module__}.{model.__qualname__}"


class CacheRegistry:
    """The one registry of invalidation rules (``CacheRegistry() is CacheRegister``)."""

    class SignalTypes(enum.StrEnum):
        POST_SAVE = "POST_SAVE"
        POST_DELETE = "POST_DELETE"
        M2M_CHANGED = "M2M_CHANGED"

    _instance: CacheRegistry | None = None
    _instance_lock = threading.Lock()

    name: str
    _rules: dict[str, RuleEntry]
    _model_rule_ids: dict[type, list[str]]
    _pending: list[tuple[type, Any, InvalidationRule, str]]
    _connected_models: set[type]
    _tracked: dict[type, frozenset[str]]
    _rule_counts: dict[Any, tuple[Any, int]]
    _plans: dict[type, list[Planned]]

    def __new__(cls) -> CacheRegistry:
        with cls._instance_lock:
            if cls._instance is None:
                instance = super().__new__(cls)
                instance._setup()
                cls._instance = instance
            return cls._instance

    def _setup(self) -> None:
        self.name = "default"
        self._lock = threading.RLock()
        self._rules = {}
        self._model_rule_ids = {}
        self._pending = []
        self._connected_models = set()
        self._tracked = {}
        self._rule_counts = {}
        self._plans = {}
        self._discovered = False
        self._warned_inactive = False

    # ------------------------------------------------------------------ registration

    def _next_rule_id(self, model: type, func: Any) -> str:
        owner = f"{func.__module__}.{func.__qualname__}"
        # Rules are numbered per wrapper, so re-importing a module replaces its rules.
        # Wrappers made by a factory share one qualname (``<locals>``): number those per
        # qualname instead, so that two of them never take each other's ids.
        slot: Any = owner if "<locals>" in func.__qualname__ else id(func)
        _, count = self._rule_counts.get(slot, (func, 0))
        self._rule_counts[slot] = (func, count + 1)
        return f"{owner}#{model_label(model)}#{count}"

    def add(self, model: type, func: Any, invalidation_rule: InvalidationRule) -> str:
        """Attach ``invalidation_rule`` to the cached function ``func``; return its id."""
        if not getattr(func, "is_cached_function", False):
            raise AttributeError(
                f"{func!r} is not a decorated function: CacheRegister.add() needs a "
                "function wrapped by cache_result or cache_response"
            )
        with self._lock:
            rule_id = self._next_rule_id(model, func)
            if self._discovered:
                self._register(model, func, invalidation_rule, rule_id)
            else:
                self._pending.append((model, func, invalidation_rule, rule_id))
                _signals.connect_inactive_check(self)
        return rule_id

    register = add

    def _register(
        self, model: type, func: Any, invalidation_rule: InvalidationRule, rule_id: str
    ) -> None:
        if rule_id in self._rules:
            logger.warning(
                "restflow cache rule %s registered again (module reloaded?); the new rule "
                "replaces the earlier one",
                rule_id,
            )
            self._forget(rule_id)
        self._rules[rule_id] = {"id": rule_id, "func": func, "invalidation_rule": invalidation_rule}
        self._model_rule_ids.setdefault(model, []).append(rule_id)
        self._plans.clear()
        self._connect(model)
        self._update_tracking(model)

    def _forget(self, rule_id: str) -> None:
        self._rules.pop(rule_id, None)
        self._plans.clear()
        for ids in self._model_rule_ids.values():
            if rule_id in ids:
                ids.remove(rule_id)

    def unregister(self, func: Any) -> list[str]:
        """Remove every rule of ``func`` (registered or queued); return their ids."""
        with self._lock:
            removed = [rid for rid, entry in self._rules.items() if entry["func"] is func]
            for rule_id in removed:
                self._forget(rule_id)
            queued = [item for item in self._pending if item[1] is func]
            self._pending = [item for item in self._pending if item[1] is not func]
            self._rule_counts.pop(id(func), None)
            for model in list(self._model_rule_ids):
                self._update_tracking(model)
            return removed + [item[3] for item in queued]

    def _rules_of(self, model: type) -> list[RuleEntry]:
        return [self._rules[rid] for rid in self._model_rule_ids.get(model, ()) if rid in self._rules]

    def _update_tracking(self, model: type) -> None:
        rules = [entry["invalidation_rule"] for entry in self._rules_of(model)]
        attnames = _capture.tracked_attnames(model, rules)
        if attnames:
            self._tracked[model] = attnames
            _signals.connect_tracking(self, model)
        else:
            self._tracked.pop(model, None)

    def _connect(self, model: type) -> None:
        if model not in self._connected_models:
            _signals.connect_model(self, model)
            self._connected_models.add(model)

    def _disconnect_all_signals(self) -> None:
        for model in self._connected_models:
            _signals.disconnect_model(model)
        self._connected_models.clear()
        _signals.disconnect_m2m()

    def clear(self) -> None:
        """Disconnect every receiver and forget every rule (for tests)."""
        with self._lock:
            self._disconnect_all_signals()
            self._rules.clear()
            self._model_rule_ids.clear()
            self._pending.clear()
            self._tracked.clear()
            self._rule_counts.clear()
            self._plans.clear()
            self._discovered = False
            self._warned_inactive = False

    # ------------------------------------------------------------------ discovery

    @staticmethod
    def _import_cache_modules() -> None:
        from django.apps import apps

        _discovery.import_app_modules(
            config.module for config in apps.get_app_configs() if config.module is not None
        )

    def auto_discover(self) -> CacheRegistry:
        """Import local apps' modules, then register every queued rule (once)."""
        with self._lock:
            if self._discovered:
                return self
            self._discovered = True
        self._import_cache_modules()
        with self._lock:
            pending, self._pending = self._pending, []
            for model, func, rule, rule_id in pending:
                self._register(model, func, rule, rule_id)
            functions = {id(entry["func"]) for entry in self._rules.values()}
        logger.info(
            "restflow cache registry discovered %d cached function(s) with rules on %d "
            "model(s)",
            len(functions),
            self.model_count,
        )
        return self

    @property
    def is_discovered(self) -> bool:
        return self._discovered

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    @property
    def model_count(self) -> int:
        return sum(1 for ids in self._model_rule_ids.values() if ids)

    def warn_if_inactive(self) -> None:
        """Called by wrappers with rules: warn once if discovery never ran."""
        if self._discovered or self._warned_inactive:
            return
        from django.apps import apps

        if not apps.ready:
            return
        self._warned_inactive = True
        logger.warning(
            "restflow cache invalidation rules are inactive: 'restflow.caching' is not in "
            "INSTALLED_APPS, so no model signal is connected"
        )

    def get_rule(self, rule_id: str) -> RuleEntry | None:
        return self._rules.get(rule_id)

    def rules(self) -> list[RuleEntry]:
        """All registered rules, in registration order."""
        return list(self._rules.values())

    def get_status(self) -> dict[str, Any]:
        models: dict[str, list[dict[str, str]]] = {}
        for model, ids in self._model_rule_ids.items():
            entries = [self._rules[rid] for rid in ids if rid in self._rules]
            if entries:
                models.setdefault(model.__name__, []).extend(
                    {
                        "function": f"{e['func'].__module__}.{e['func'].__name__}",
                        "id": e["id"],
                    }
                    for e in entries
                )
        return {
            "name": self.name,
            "discovered": self._discovered,
            "pending": self.pending_count,
            "models": models,
        }

    # ------------------------------------------------------------------ signal time

    @staticmethod
    def _get_field_value(obj: Any, path: str) -> Any:
        return _capture.get_field_value(obj, path)

    @staticmethod
    def _has_watched_field_changed(
        watch_fields: Iterable[str] | None, update_fields: Iterable[str] | None = None
    ) -> bool:
        return _capture.watched_fields_in_update(watch_fields, update_fields)

    def _resolve_rule_kwargs(
        self, instance: Any, invalidation_rule: InvalidationRule
    ) -> dict[str, Any] | None:
        return _capture.resolve_kwargs(instance, invalidation_rule)

    def _extract_kwargs(self, instance: Any, rule: RuleEntry) -> dict[str, Any] | None:
        return self._resolve_rule_kwargs(instance, rule["invalidation_rule"])

    def _should_run_rule(
        self,
        instance: Any,
        rule: RuleEntry | None,
        instance_created: bool,
        signal_type: CacheRegistry.SignalTypes,
        update_fields: frozenset[str] | None = None,
    ) -> bool:
        if rule is None:
            return False
        spec: InvalidationRule = rule["invalidation_rule"]
        is_save = signal_type is not self.SignalTypes.POST_DELETE
        if is_save and instance_created and not spec.trigger_on_create:
            return False
        if is_save and not instance_created and spec.watch_fields:
            if update_fields is None and signal_type is self.SignalTypes.POST_SAVE:
                if not _capture.watched_fields_changed(instance, spec.watch_fields):
                    return False
            elif not self._has_watched_field_changed(
                _capture.field_names(type(instance), spec.watch_fields),
                _capture.field_names(type(instance), update_fields),
            ):
                return False
        return _capture.invalidate_when_holds(instance, spec.invalidate_when)

    @staticmethod
    def _plan_rule(entry: RuleEntry) -> Planned:
        """What a signal needs of a rule, computed once per registration.

        Rules with the same ``field_mapping`` and ``require_args`` share a *shape*: one
        signal reads their kwargs from the instance once. ``has gates`` is false for a
        rule without ``watch_fields`` and ``invalidate_when`` (only the creation gate).
        """
        rule: InvalidationRule = entry["invalidation_rule"]
        shape: Any = None
        if rule.invalidator is None:
            required = rule.require_args
            shape = (
                tuple(rule.field_mapping.items()),
                required if isinstance(required, bool) else tuple(required),
            )
        return entry, rule, shape, bool(rule.watch_fields or rule.invalidate_when)

    def _planned(self, model: type) -> list[Planned]:
        """The rules of ``model``, planned (kept until the rules change)."""
        plan = self._plans.get(model)
        if plan is None:
            with self._lock:  # registration clears the plans under this lock
                plan = self._plans.get(model)
                if plan is None:
                    rules = self._rules
                    plan = [
                        self._plan_rule(rules[rid])
                        for rid in self._model_rule_ids.get(model, ())
                        if rid in rules
                    ]
                    self._plans[model] = plan
        return plan

    def _collect(
        self,
        instance: Any,
        planned: Iterable[Planned],
        instance_created: bool,
        signal_type: CacheRegistry.SignalTypes,
        update_fields: frozenset[str] | None,
        *,
        gates: bool = True,
    ) -> list[RuleWork]:
        items: list[RuleWork] = []
        # Only the creation gate applies to a rule without other gates.
        blocked_by_creation = instance_created and signal_type is not self.SignalTypes.POST_DELETE
        by_shape: dict[Any, list[dict[str, Any]]] = {}
        for entry, rule, shape, has_gates in planned:
            if gates:
                if has_gates:
                    if not self._should_run_rule(
                        instance, entry, instance_created, signal_type, update_fields
                    ):
                        continue
                elif blocked_by_creation and not rule.trigger_on_create:
                    continue
            if shape is None:
                items.append(RuleWork(entry))
                continue
            kwargs_sets = by_shape.get(shape)
            if kwargs_sets is None:
                kwargs_sets = by_shape[shape] = self._kwargs_sets(
                    instance, rule, instance_created, signal_type
                )
            if kwargs_sets:
                items.append(RuleWork(entry, list(kwargs_sets)))
        return items

    def _kwargs_sets(
        self,
        instance: Any,
        rule: InvalidationRule,
        instance_created: bool,
        signal_type: CacheRegistry.SignalTypes,
    ) -> list[dict[str, Any]]:
        """The kwargs of the current partition, plus the previous one after a move."""
        sets: list[dict[str, Any]] = []
        current = _capture.resolve_kwargs(instance, rule)
        if current is not None:
            sets.append(_capture.to_json(current))
        if rule.field_mapping and not instance_created and instance is not None:
            overrides = _capture.previous_overrides(instance, rule)
            if overrides:
                previous = _capture.resolve_kwargs(instance, rule, overrides)
                if previous is not None:
                    encoded = _capture.to_json(previous)
                    if encoded not in sets:
                        sets.append(encoded)
        return sets

    def _work_for(
        self,
        instance: Any,
        model: type,
        instance_created: bool,
        signal_type: CacheRegistry.SignalTypes,
        update_fields: frozenset[str] | None,
    ) -> CommitWork | None:
        items = self._collect(
            instance, self._planned(model), instance_created, signal_type, update_fields
        )
        if not items:
            return None
        return CommitWork(
            items=items,
            instance=instance,
            model_label=model_label(model),
            pk=_capture.to_json(getattr(instance, "pk", None)),
            signal_type=signal_type,
            instance_created=instance_created,
            update_fields=update_fields,
        )

    def handle_signal(
        self,
        model: type,
        instance: Any,
        *,
        signal_type: CacheRegistry.SignalTypes,
        instance_created: bool = False,
        update_fields: Iterable[str] | None = None,
        using: str | None = None,
    ) -> None:
        """Evaluate the rules of ``model`` now; run their work after the commit."""
        fields = frozenset(update_fields) if update_fields is not None else None
        work = self._work_for(instance, model, instance_created, signal_type, fields)
        alias = using or router.db_for_write(model, instance=instance)
        if work is not None:
            self.schedule(work, alias)
        if signal_type is self.SignalTypes.POST_SAVE and model in self._tracked:
            # What the save wrote becomes "loaded" once committed: a rolled-back save
            # leaves the old values, so the next save still sees the change.
            written = _capture.written_values(instance, self._tracked[model], fields)
            remember = _capture.RememberWritten(instance, written, replace=fields is None)
            transaction.on_commit(remember.run, using=alias, robust=True)

    def schedule(self, work: CommitWork, using: str) -> None:
        """Run ``work`` when the transaction of ``using`` commits (now in autocommit).

        All work of one transaction runs together, one job per dispatcher.
        """
        robust = not _signals.wants_raise(work)
        _pending.schedule(CommitBatch([work]), using, robust)

    # ------------------------------------------------------------------ direct invalidation

    def invalidate_for_instance(
        self,
        instance: Any,
        instance_created: bool = False,
        signal_type: CacheRegistry.SignalTypes = SignalTypes.POST_SAVE,
        update_fields: frozenset[str] | None = None,
    ) -> None:
        """Run the rules of ``type(instance)`` for it right now (no ``on_commit``)."""
        fields = frozenset(update_fields) if update_fields is not None else None
        work = self._work_for(instance, type(instance), instance_created, signal_type, fields)
        if work is not None:
            work.run()

    def _run_invalidator(
        self,
        *,
        rule: RuleEntry,
        instance: Any,
        signal_type: CacheRegistry.SignalTypes,
        instance_created: bool,
        update_fields: frozenset[str] | None = None,
        pk: Any = None,
    ) -> Awaitable[None] | None:
        if pk is None:
            pk = getattr(instance, "pk", None)
        return run_invalidator(
            rule,
            instance,
            signal_type=signal_type,
            instance_created=instance_created,
            update_fields=update_fields,
            pk=pk,
        )

    def _invalidate_via_dispatchers(
        self,
        instance: Any,
        rule_ids: Iterable[str],
        instance_created: bool,
        signal_type: CacheRegistry.SignalTypes,
        update_fields: frozenset[str] | None = None,
    ) -> None:
        rules = self._rules
        planned = [self._plan_rule(rules[rid]) for rid in rule_ids if rid in rules]
        items = self._collect(
            instance, planned, instance_created, signal_type, update_fields, gates=False
        )
        model = type(instance)
        CommitWork(
            items=items,
            instance=instance,
            model_label=model_label(model),
            pk=_capture.to_json(getattr(instance, "pk", None)),
            signal_type=signal_type,
            instance_created=instance_created,
            update_fields=update_fields,
        ).run()

    # ------------------------------------------------------------------ worker side

    def run_cache_rules(
        self, *, rule_ids: list[str], rule_kwargs: dict[str, Any] | None = None
    ) -> Awaitable[None] | None:
        """Invalidate (and rewarm) the scopes of a dispatched job; see the tasks module."""
        from restflow.caching._worker import run_rules

        return run_rules(self, rule_ids, rule_kwargs or {})

    def process_rule(
        self, rule: RuleEntry, func_kwargs: dict[str, Any]
    ) -> Awaitable[None] | None:
        """Invalidate the rule's scope for ``func_kwargs``, then rewarm if asked."""
        from restflow.caching._worker import aprocess_rule, process_rule_sync

        if is_async_wrapper(rule["func"]):
            return aprocess_rule(rule, func_kwargs)
        process_rule_sync(rule, func_kwargs)
        return None


CacheRegister: CacheRegistry = CacheRegistry()

