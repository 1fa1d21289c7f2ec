"""``CacheRegister``: the process-wide index of invalidation rules.

Rules are addressed by stable ids (``<module>.<qualname>#<model label>#<n>``) so that a
worker process finds the rule the web process dispatched. Registering the first rule of a
model connects that model's receivers (``_signals``); the receivers read the index
through :meth:`CacheRegistry.rules_for` and :meth:`CacheRegistry.tracked`, the worker
through :meth:`CacheRegistry.get_rule`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from restflow.caching import _capture, _direct, _discovery, _signals
from restflow.caching.rules import InvalidationRule, Rule, SignalType, model_label

__all__ = ["CacheRegister", "CacheRegistry"]

logger = logging.getLogger("restflow.caching.registry")


class CacheRegistry:
    """The one registry of invalidation rules (``CacheRegistry() is CacheRegister``)."""

    SignalTypes = SignalType

    _instance: CacheRegistry | None = None
    _instance_lock = threading.Lock()

    name: str
    _rules: dict[str, Rule]
    _by_model: dict[type, tuple[Rule, ...]]
    _queued: list[tuple[type, Any, InvalidationRule, str]]
    _connected_models: set[type]
    _tracked: dict[type, frozenset[str]]
    _rule_counts: dict[Any, tuple[Any, int]]

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
        self._by_model = {}
        self._queued = []
        self._connected_models = set()
        self._tracked = {}
        self._rule_counts = {}
        self._discovered = False
        self._warned_inactive = False

    # ------------------------------------------------------------------ read API

    def rules_for(self, model: type) -> tuple[Rule, ...]:
        """The rules of exactly ``model`` (not its proxies or subclasses), in order."""
        return self._by_model.get(model, ())

    def tracked(self, model: type) -> frozenset[str] | None:
        """Attnames whose loaded values ``model``'s rules compare with (or ``None``)."""
        return self._tracked.get(model)

    def get_rule(self, rule_id: str) -> Rule | None:
        return self._rules.get(rule_id)

    def rules_by_id(self) -> Mapping[str, Rule]:
        """The registered rules by id, read-only (one ``.get`` per id, for many ids)."""
        return self._rules

    def rules(self) -> list[Rule]:
        """All registered rules, in registration order."""
        return list(self._rules.values())

    @property
    def is_discovered(self) -> bool:
        return self._discovered

    @property
    def pending_count(self) -> int:
        """Rules declared before discovery, waiting for it."""
        return len(self._queued)

    @property
    def model_count(self) -> int:
        return sum(1 for rules in self._by_model.values() if rules)

    def get_status(self) -> dict[str, Any]:
        models: dict[str, list[dict[str, str]]] = {}
        for model, rules in self._by_model.items():
            if rules:
                models.setdefault(model.__name__, []).extend(
                    {"function": f"{r.func.__module__}.{r.func.__name__}", "id": r.id}
                    for r in rules
                )
        return {
            "name": self.name,
            "discovered": self._discovered,
            "pending": self.pending_count,
            "models": models,
        }

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
                self._register(Rule(rule_id, model, func, invalidation_rule))
            else:
                self._queued.append((model, func, invalidation_rule, rule_id))
                _signals.connect_inactive_check(self)
        return rule_id

    def _register(self, rule: Rule) -> None:
        if rule.id in self._rules:
            logger.warning(
                "restflow cache rule %s registered again (module reloaded?); the new rule "
                "replaces the earlier one",
                rule.id,
            )
            self._forget(self._rules[rule.id])
        self._rules[rule.id] = rule
        self._by_model[rule.model] = (*self._by_model.get(rule.model, ()), rule)
        if rule.model not in self._connected_models:
            _signals.connect_model(self, rule.model)
            self._connected_models.add(rule.model)
        self._update_tracking(rule.model)

    def _forget(self, rule: Rule) -> None:
        del self._rules[rule.id]
        remaining = tuple(r for r in self._by_model.get(rule.model, ()) if r is not rule)
        if remaining:
            self._by_model[rule.model] = remaining
        else:
            self._by_model.pop(rule.model, None)

    def unregister(self, func: Any) -> list[str]:
        """Remove every rule of ``func`` (registered or queued); return their ids."""
        with self._lock:
            removed = [rule for rule in self._rules.values() if rule.func is func]
            for rule in removed:
                self._forget(rule)
            queued = [item for item in self._queued if item[1] is func]
            self._queued = [item for item in self._queued if item[1] is not func]
            self._rule_counts.pop(id(func), None)
            for model in {rule.model for rule in removed}:
                self._update_tracking(model)
            return [rule.id for rule in removed] + [item[3] for item in queued]

    def _update_tracking(self, model: type) -> None:
        specs = [rule.spec for rule in self.rules_for(model)]
        attnames = _capture.tracked_attnames(model, specs)
        if attnames:
            self._tracked[model] = attnames
            _signals.connect_tracking(self, model)
        else:
            self._tracked.pop(model, None)

    def clear(self) -> None:
        """Disconnect every receiver and forget every rule (the reset hook for tests)."""
        with self._lock:
            for model in self._connected_models:
                _signals.disconnect_model(model)
            self._connected_models.clear()
            _signals.disconnect_m2m()
            self._rules.clear()
            self._by_model.clear()
            self._queued.clear()
            self._tracked.clear()
            self._rule_counts.clear()
            self._discovered = False
            self._warned_inactive = False

    # ------------------------------------------------------------------ discovery

    def auto_discover(self) -> CacheRegistry:
        """Import local apps' modules, then register every queued rule (once)."""
        with self._lock:
            if self._discovered:
                return self
            self._discovered = True
        from django.apps import apps

        _discovery.import_app_modules(
            config.module for config in apps.get_app_configs() if config.module is not None
        )
        with self._lock:
            queued, self._queued = self._queued, []
            for model, func, spec, rule_id in queued:
                self._register(Rule(rule_id, model, func, spec))
            functions = {id(rule.func) for rule in self._rules.values()}
        logger.info(
            "restflow cache registry discovered %d cached function(s) with rules on %d "
            "model(s)",
            len(functions),
            self.model_count,
        )
        return self

    def warn_if_inactive(self) -> None:
        """Called on the first request: warn once if discovery never ran."""
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

    # ------------------------------------------------------------------ direct invalidation

    def invalidate_for_instance(
        self,
        instance: Any,
        instance_created: bool = False,
        signal_type: SignalType = SignalType.POST_SAVE,
        update_fields: frozenset[str] | None = None,
    ) -> None:
        """Run the rules of ``type(instance)`` for it right now (no ``on_commit``)."""
        _direct.run_now(self, instance, instance_created, signal_type, update_fields)


CacheRegister: CacheRegistry = CacheRegistry()
