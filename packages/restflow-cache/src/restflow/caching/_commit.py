"""The work a save leaves for after its commit: custom invalidators and dispatches.

A signal captures a :class:`CommitWork` (rules that passed their gates, the JSON kwargs
of each, the instance's label and pk) and schedules it, wrapped in a
:class:`CommitBatch`, for the commit of the database alias that was written (see
``_pending``: every batch of one transaction runs together). Running a batch calls the
custom invalidators in the committing process and hands the field-mapping rules,
merged per rule id, to their dispatchers: one ``dispatch()`` per rule or per batch
group.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

from asgiref.sync import async_to_sync

from restflow.dispatch.base import Dispatcher, DispatchError
from restflow.dispatch.worker import WorkerError, run_fallback

logger = logging.getLogger("restflow.caching.registry")

RuleEntry = dict[str, Any]
Payload = dict[str, Any] | list[dict[str, Any]]


def wrapper_name(wrapper: Any) -> str:
    module = getattr(wrapper, "__module__", None) or ""
    name = getattr(wrapper, "__qualname__", None) or getattr(wrapper, "__name__", None)
    return f"{module}.{name}" if module and name else repr(wrapper)


def is_async_wrapper(wrapper: Any) -> bool:
    """Whether the cached function ``wrapper`` is async (its jobs run on a loop)."""
    flag = getattr(wrapper, "is_async", None)
    if isinstance(flag, bool):
        return flag
    return inspect.iscoroutinefunction(getattr(wrapper, "__wrapped__", wrapper))


# The three classes below are plain slotted classes, not dataclasses: creating a
# dataclass costs ~0.5 ms at import, and this module is imported by django.setup().
class RuleWork:
    """One rule that passed its gates; ``kwargs`` holds one dict per scope to drop."""

    __slots__ = ("entry", "kwargs")

    def __init__(self, entry: RuleEntry, kwargs: list[dict[str, Any]] | None = None) -> None:
        self.entry = entry
        self.kwargs = kwargs if kwargs is not None else []

    @property
    def is_custom(self) -> bool:
        return self.entry["invalidation_rule"].invalidator is not None


class CommitWork:
    """Everything one signal (or one bulk helper call) leaves for the commit."""

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
        """Call the custom invalidator of ``item`` for this change (async ones driven)."""
        result = run_invalidator(
            item.entry,
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
            if item.is_custom:
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
    to run takes every other batch of that transaction still pending (see ``_pending``).
    """

    __slots__ = ("__weakref__", "done", "key", "works")

    def __init__(
        self, works: list[CommitWork], key: tuple[str, bool] = ("default", True), done: bool = False
    ) -> None:
        self.works = works
        self.key = key
        self.done = done

    def commit(self) -> None:
        from restflow.caching._pending import flush

        flush(self)

    def run(self) -> None:
        if len(self.works) == 1:
            # One change: its rule ids are distinct and its kwargs sets deduplicated
            # already, so there is nothing to merge.
            self.works[0].run()
            return
        merged: dict[str, RuleWork] = {}
        for work in self.works:
            for item in work.items:
                if item.is_custom:
                    work.run_custom(item)
                    continue
                target = merged.get(item.entry["id"])
                if target is None:
                    merged[item.entry["id"]] = RuleWork(item.entry, list(item.kwargs))
                else:
                    target.kwargs.extend(k for k in item.kwargs if k not in target.kwargs)
        if merged:
            dispatch_rules(list(merged.values()), _context(self.works))


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


async def _await(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


# --------------------------------------------------------------------- custom invalidators


def _extras_for(target: Callable[..., Any], extras: dict[str, Any]) -> dict[str, Any]:
    try:
        parameters = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return {}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return dict(extras)
    named = {
        p.name
        for p in parameters
        if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    }
    return {key: value for key, value in extras.items() if key in named}


def run_invalidator(
    entry: RuleEntry,
    instance: Any,
    *,
    signal_type: Any,
    instance_created: bool,
    update_fields: frozenset[str] | None,
    pk: Any = None,
) -> Awaitable[None] | None:
    """Call the rule's custom invalidator; a coroutine is returned for async targets."""
    rule = entry["invalidation_rule"]
    wrapper = entry["func"]
    extras = {
        "signal_type": signal_type,
        "instance_created": instance_created,
        "update_fields": update_fields,
        "pk": pk,
    }
    try:
        target = rule.resolve_invalidator()
        result = target(wrapper, instance, **_extras_for(target, extras))
    except Exception as exc:
        _invalidator_failed(rule, wrapper, exc)
        return None
    if inspect.isawaitable(result):
        return _guard_async(result, rule, wrapper)
    return None


async def _guard_async(awaitable: Awaitable[Any], rule: Any, wrapper: Any) -> None:
    try:
        await awaitable
    except Exception as exc:
        _invalidator_failed(rule, wrapper, exc)


def _invalidator_failed(rule: Any, wrapper: Any, exc: Exception) -> None:
    if rule.raise_exception:
        raise exc
    logger.warning("Custom invalidator failed for %s", wrapper_name(wrapper), exc_info=True)


# --------------------------------------------------------------------- dispatch


def _payload(kwargs: list[dict[str, Any]]) -> Payload:
    return kwargs[0] if len(kwargs) == 1 else kwargs


def _groupable(rule: Any, dispatcher: Dispatcher) -> bool:
    if rule.batch and dispatcher.supports_batching:
        return True
    # The inline dispatcher runs the job right here: merging its rules changes nothing
    # but the number of cache round trips.
    return dispatcher.name == "inline" and not dispatcher.config


def dispatch_rules(items: list[RuleWork], context: dict[str, Any]) -> None:
    """Hand field-mapping rules to their dispatchers (invalidation.md §5 and §8)."""
    groups: dict[Any, tuple[Dispatcher, list[str], dict[str, Payload]]] = {}
    for item in items:
        rule = item.entry["invalidation_rule"]
        rule_id = item.entry["id"]
        try:
            dispatcher = rule.get_dispatcher()
        except Exception as exc:
            spec = rule.dispatcher_spec() if rule.dispatcher is None else rule.dispatcher
            name = spec if isinstance(spec, str) else getattr(spec, "name", None)
            run_fallback(name, [rule_id], {rule_id: _payload(item.kwargs)}, exc, context)
            continue
        if not _groupable(rule, dispatcher):
            send(dispatcher, [rule_id], {rule_id: _payload(item.kwargs)}, context)
            continue
        key = dispatcher.batch_key()
        group = groups.get(key)
        if group is None:
            group = groups[key] = (dispatcher, [], {})
        _, ids, kwargs = group
        if rule_id in kwargs:
            merged = kwargs[rule_id]
            previous = merged if isinstance(merged, list) else [merged]
            kwargs[rule_id] = previous + item.kwargs
        else:
            ids.append(rule_id)
            kwargs[rule_id] = _payload(item.kwargs)
    for dispatcher, ids, kwargs in groups.values():
        send(dispatcher, ids, kwargs, context)


def send(
    dispatcher: Dispatcher,
    rule_ids: list[str],
    rule_kwargs: dict[str, Payload],
    context: dict[str, Any],
) -> None:
    try:
        # A value may be a list of kwargs dicts (several scopes of one rule): JSON all the same.
        dispatcher.dispatch(rule_ids=rule_ids, rule_kwargs=cast(Any, rule_kwargs), **context)
    except DispatchError:
        raise  # the dispatcher was told to raise instead of falling back
    except WorkerError as exc:
        raise exc.error  # the job ran here and its policy says raise: the saver sees why
    except Exception as exc:
        run_fallback(dispatcher.name, rule_ids, rule_kwargs, exc, context)
