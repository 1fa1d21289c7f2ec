"""``InvalidationRule``: when a model changes, which cached entries become invalid.

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
import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from restflow.dispatch.base import Dispatcher

__all__ = ["InvalidationRule"]


@dataclasses.dataclass(slots=True)
class InvalidationRule:
    """How saves and deletes of ``model`` invalidate one cached function.

    See the "Invalidation rules" chapter of the documentation for every field.
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
        """The dispatcher instance of this rule, resolved on first use and kept."""
        if self._dispatcher_instance is None:
            from restflow.dispatch.registry import get_dispatcher

            self._dispatcher_instance = get_dispatcher(
                self.dispatcher_spec(), self.dispatcher_config
            )
        return self._dispatcher_instance
