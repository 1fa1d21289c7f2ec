"""Rules: what the user declares, what the registry holds, and the changes they react to.

* :class:`InvalidationRule` -- declared by the user: when a model changes, which cached
  entries become invalid;
* :class:`Rule` -- a declaration registered for one cached function, under a stable id;
* :class:`SignalType` -- the kinds of change a rule sees (save, delete, many-to-many);
* :class:`RuleGroup`, :class:`RuleWork` -- rules planned together, and those that passed
  their gates for a change, with their kwargs;
* :class:`RuleIndex` -- what the signal-time layers read of the registry.

A rule belongs to one cached function (``cache_result(..., invalidates_on=[rule])`` or
``CacheRegister.add(model, func, rule)``) and says which saves and deletes of ``model``
invalidate which part of that function's cache:

* ``field_mapping`` maps the function's argument names to dotted attribute paths on the
  saved instance (``{"author_id": "author_id"}``); the partition for those arguments is
  invalidated (and recomputed when ``rewarm=True``);
* ``invalidator`` replaces that default work with your own callable;
* the gates ``trigger_on_create``, ``watch_fields``, ``invalidate_when`` and
  ``require_args`` decide whether a given save or delete runs the rule at all.

The work is handed to a dispatcher (``dispatcher``; default ``DEFAULT_DISPATCHER``)
after the transaction that wrote the row commits.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from restflow.dispatch import registry as _dispatchers

if TYPE_CHECKING:
    from restflow.dispatch.base import Dispatcher

__all__ = ["InvalidationRule", "Rule", "SignalType"]


@dataclasses.dataclass(slots=True)
class InvalidationRule:
    """How saves and deletes of ``model`` invalidate one cached function.

    The section ``InvalidationRule`` of docs/invalidation.md describes every field.
    """

    model: type
    rewarm: bool = False
    field_mapping: dict[str, str] = dataclasses.field(default_factory=dict)
    require_args: bool | list[str] = True
    trigger_on_create: bool = False
    watch_fields: list[str] | None = None
    invalidate_when: dict[str, Any] = dataclasses.field(default_factory=dict)
    invalidator: Callable[..., Any] | str | None = None
    dispatcher: str | type[Dispatcher] | None = None
    dispatcher_config: dict[str, Any] = dataclasses.field(default_factory=dict)
    batch: bool = False
    raise_exception: bool | None = None
    _resolved_invalidator: Callable[..., Any] | None = dataclasses.field(
        default=None, init=False, compare=False, repr=False
    )
    _dispatcher_instance: Dispatcher | None = dataclasses.field(
        default=None, init=False, compare=False, repr=False
    )
    _dispatcher_generation: int = dataclasses.field(
        default=-1, init=False, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        if self.invalidator is not None:
            if self.field_mapping:
                raise ValueError(
                    "InvalidationRule: 'invalidator' and 'field_mapping' are mutually "
                    "exclusive; a custom invalidator computes its own targets"
                )
            if not (callable(self.invalidator) or isinstance(self.invalidator, str)):
                raise TypeError(
                    "InvalidationRule: 'invalidator' must be a callable or a dotted-path "
                    f"string, got {self.invalidator!r}"
                )

    def resolve_invalidator(self) -> Callable[..., Any]:
        """The custom invalidator as a callable (a dotted path is imported once)."""
        if self._resolved_invalidator is not None:
            return self._resolved_invalidator
        target = self.invalidator
        if target is None:
            raise ValueError("InvalidationRule has no invalidator")
        if isinstance(target, str):
            module_path, _, attr = target.rpartition(".")
            if not module_path or not attr:
                raise ValueError(
                    f"invalidator {target!r} is not a dotted import path "
                    "('package.module.function')"
                )
            target = getattr(importlib.import_module(module_path), attr)
            if not callable(target):
                raise TypeError(f"invalidator {self.invalidator!r} is not callable")
        self._resolved_invalidator = target
        return target

    def dispatcher_spec(self) -> str | type[Dispatcher]:
        """The rule's dispatcher, or ``CACHE_SETTINGS.DEFAULT_DISPATCHER`` read now."""
        if self.dispatcher is not None:
            return self.dispatcher
        from restflow.settings import restflow_settings

        return str(restflow_settings.CACHE_SETTINGS.DEFAULT_DISPATCHER)

    def dispatcher_name(self) -> str:
        """The registered name of the rule's dispatcher (without instantiating it)."""
        spec = self.dispatcher_spec()
        return spec if isinstance(spec, str) else spec.name

    def get_dispatcher(self) -> Dispatcher:
        """The dispatcher instance of this rule, resolved on first use and kept until
        ``RESTFLOW_SETTINGS`` or the dispatcher registry changes."""
        generation = _dispatchers.dispatcher_generation()
        instance = self._dispatcher_instance
        if instance is None or self._dispatcher_generation != generation:
            instance = _dispatchers.get_dispatcher(self.dispatcher_spec(), self.dispatcher_config)
            self._dispatcher_instance = instance
            self._dispatcher_generation = generation
        return instance


class SignalType(enum.StrEnum):
    """The change a rule is evaluated for (``CacheRegister.SignalTypes`` names it too)."""

    POST_SAVE = "POST_SAVE"
    POST_DELETE = "POST_DELETE"
    M2M_CHANGED = "M2M_CHANGED"


class Rule:
    """A rule registered for one cached function: ``id``, ``model``, ``func``, ``spec``.

    ``spec`` is the :class:`InvalidationRule` as declared. ``shape`` and ``gated`` are
    what a signal needs of it, computed once at registration: rules with the same
    ``field_mapping`` and ``require_args`` share a shape, so one signal reads their kwargs
    from the instance once (``None`` for a custom invalidator, which reads nothing);
    ``gated`` is false for a rule without ``watch_fields`` and ``invalidate_when`` (only
    the creation gate applies to it).
    """

    __slots__ = ("func", "gated", "id", "model", "shape", "spec")

    def __init__(self, rule_id: str, model: type, func: Any, spec: InvalidationRule) -> None:
        self.id = rule_id
        self.model = model
        self.func = func
        self.spec = spec
        self.shape: Any = None
        if spec.invalidator is None:
            required = spec.require_args
            self.shape = (
                tuple(spec.field_mapping.items()),
                required if isinstance(required, bool) else tuple(required),
            )
        self.gated = bool(spec.watch_fields or spec.invalidate_when)

    @property
    def is_custom(self) -> bool:
        """Whether a custom invalidator replaces the default work (never dispatched)."""
        return self.spec.invalidator is not None

    def __repr__(self) -> str:
        return f"<Rule {self.id}>"


class RuleGroup:
    """Rules of one model that a change plans as one: consecutive, same kwargs ``shape``,
    same gates left to evaluate (``watch``: watched column attnames, ``when``:
    ``invalidate_when``); see ``_planning``. ``cache`` holds what later layers derive
    from the rules once (dispatchers per generation, the error policy)."""

    __slots__ = ("cache", "ids", "rules", "shape", "spec", "watch", "when")

    def __init__(
        self, rules: tuple[Rule, ...], watch: Any = None, when: dict[str, Any] | None = None
    ) -> None:
        self.rules = rules
        self.ids = [rule.id for rule in rules]
        self.spec = rules[0].spec
        self.shape = rules[0].shape
        self.watch = watch
        self.when = when
        self.cache: dict[str, Any] = {}

    @property
    def is_custom(self) -> bool:
        """Custom invalidators replace the default work (never dispatched)."""
        return self.shape is None


class RuleWork:
    """Rules that passed their gates for a change; ``kwargs`` holds one dict per scope
    to drop, the same for every rule of ``group``."""

    __slots__ = ("group", "kwargs")

    def __init__(self, group: RuleGroup, kwargs: list[dict[str, Any]] | None = None) -> None:
        self.group = group
        self.kwargs = kwargs if kwargs is not None else []


class RuleIndex(Protocol):
    """The registry's read API, as receivers and direct invalidation use it."""

    def rules_for(self, model: type) -> tuple[Rule, ...]: ...

    def tracked(self, model: type) -> frozenset[str] | None: ...

    def warn_if_inactive(self) -> None: ...


def model_label(model: type) -> str:
    """``app_label.Model`` for a Django model, else the class's dotted name."""
    meta = getattr(model, "_meta", None)
    if meta is not None and getattr(meta, "label", None):
        return str(meta.label)
    return f"{model.__module__}.{model.__qualname__}"


def wrapper_name(wrapper: Any) -> str:
    """The dotted name of a cached function, for log lines and check messages."""
    module = getattr(wrapper, "__module__", None) or ""
    name = getattr(wrapper, "__qualname__", None) or getattr(wrapper, "__name__", None)
    return f"{module}.{name}" if module and name else repr(wrapper)


def is_async_wrapper(wrapper: Any) -> bool:
    """Whether the cached function ``wrapper`` is async (its jobs run on a loop)."""
    flag = getattr(wrapper, "is_async", None)
    if isinstance(flag, bool):
        return flag
    return inspect.iscoroutinefunction(getattr(wrapper, "__wrapped__", wrapper))
