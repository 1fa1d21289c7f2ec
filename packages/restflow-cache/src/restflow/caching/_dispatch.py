"""Handing field-mapping rules to their dispatchers, and the inline fallback.

At a commit, the rules that passed their gates are grouped into jobs (one per rule, or
one per dispatcher ``batch_key()`` for rules that may share one) and each job goes to
``Dispatcher.dispatch()``. A dispatcher that cannot be found or whose hand-off fails does
not lose the job: it runs here, through the worker entry, after an ``ERROR`` log.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from restflow.caching.rules import RuleWork
from restflow.dispatch.base import Dispatcher, DispatchError, run_worker
from restflow.log import log_throttled

logger = logging.getLogger("restflow.caching.registry")

#: Seconds between two "dispatch failed" log lines of one dispatcher.
_FALLBACK_LOG_INTERVAL = 60.0

Payload = dict[str, Any] | list[dict[str, Any]]


def _payload(kwargs: list[dict[str, Any]]) -> Payload:
    return kwargs[0] if len(kwargs) == 1 else kwargs


def _groupable(rule: Any, dispatcher: Dispatcher) -> bool:
    if rule.batch and dispatcher.supports_batching:
        return True
    # The inline dispatcher runs the job right here: merging its rules changes nothing
    # but the number of cache round trips.
    return dispatcher.name == "inline" and not dispatcher.config


def dispatch_rules(items: list[RuleWork], context: dict[str, Any]) -> None:
    """Hand field-mapping rules to their dispatchers, grouped where they may share a job.

    docs/invalidation.md, "Dispatchers and batching", describes the grouping.
    """
    groups: dict[Any, tuple[Dispatcher, list[str], dict[str, Payload]]] = {}
    for item in items:
        rule = item.rule.spec
        rule_id = item.rule.id
        try:
            dispatcher = rule.get_dispatcher()
        except Exception as exc:
            spec = rule.dispatcher_spec() if rule.dispatcher is None else rule.dispatcher
            name = spec if isinstance(spec, str) else getattr(spec, "name", None)
            _run_fallback(name, [rule_id], {rule_id: _payload(item.kwargs)}, exc, context)
            continue
        if not _groupable(rule, dispatcher):
            _send(dispatcher, [rule_id], {rule_id: _payload(item.kwargs)}, context)
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
        _send(dispatcher, ids, kwargs, context)


def _send(
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
    except Exception as exc:
        if getattr(exc, "_restflow_worker_error", False):
            raise  # the job ran and its error policy says raise
        _run_fallback(dispatcher.name, rule_ids, rule_kwargs, exc, context)


def _run_fallback(
    dispatcher_name: str | None,
    rule_ids: list[str],
    rule_kwargs: dict[str, Payload],
    exc: BaseException,
    context: dict[str, Any],
) -> None:
    """Run a job that no dispatcher took, here and now, after an ERROR log."""
    log_throttled(
        logger,
        f"dispatch-failed:{dispatcher_name}",
        "restflow could not dispatch cache rules %s via dispatcher %r (%s: %s); running "
        "them inline in this process instead (logged once per %d s while it lasts)",
        rule_ids,
        dispatcher_name,
        type(exc).__name__,
        exc,
        int(_FALLBACK_LOG_INTERVAL),
        level=logging.ERROR,
        interval=_FALLBACK_LOG_INTERVAL,
        exc_info=exc,
    )
    fallback_context: dict[str, Any] = {"fallback": "inline"}
    fallback_context.update(
        {key: context[key] for key in ("model_label", "pk") if key in context}
    )
    run_worker(
        rule_ids,
        cast(Any, rule_kwargs),
        dispatcher_name=dispatcher_name,
        context=fallback_context,
    )
