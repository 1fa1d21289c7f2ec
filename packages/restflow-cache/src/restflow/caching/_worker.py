"""The worker side of a job: find each rule, invalidate its scope, rewarm if asked.

``rule_kwargs[rule_id]`` is one dict of function keyword arguments, or a list of them
when one job drops several scopes of the same rule (a partition move: the old and the new
partition; a bulk helper: one per row).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Iterable
from typing import TYPE_CHECKING, Any

from restflow.caching import _discovery
from restflow.caching._commit import wrapper_name

if TYPE_CHECKING:
    from restflow.caching.registry import CacheRegistry

logger = logging.getLogger("restflow.caching.registry")

RuleEntry = dict[str, Any]


def _kwargs_sets(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, dict)]
    return []


def run_rules(
    registry: CacheRegistry, rule_ids: Iterable[str], rule_kwargs: dict[str, Any]
) -> Awaitable[None] | None:
    awaitables: list[Awaitable[Any]] = []
    for rule_id in rule_ids:
        entry = registry.get_rule(rule_id) or _recover(registry, rule_id, awaitables)
        if entry is None:
            continue
        payload = rule_kwargs.get(rule_id)
        if payload is None:
            continue
        for func_kwargs in _kwargs_sets(payload):
            result = registry.process_rule(entry, func_kwargs)
            if result is not None:
                awaitables.append(result)
    if not awaitables:
        return None
    return _await_all(awaitables)


async def _await_all(awaitables: list[Awaitable[Any]]) -> None:
    for awaitable in awaitables:
        await awaitable


def _recover(
    registry: CacheRegistry, rule_id: str, awaitables: list[Awaitable[Any]]
) -> RuleEntry | None:
    """A rule id this process does not know: import its module, else play safe."""
    owner = _discovery.import_rule_owner(rule_id)
    entry = registry.get_rule(rule_id)
    if entry is not None:
        return entry
    if owner is None or not getattr(owner, "is_cached_function", False):
        logger.warning(
            "restflow cache rule %s is unknown in this process and its function could not "
            "be imported; skipped (is the worker running the same code as the web process?)",
            rule_id,
        )
        return None
    logger.warning(
        "restflow cache rule %s is unknown in this process (is the worker running the "
        "same code as the web process?); invalidating every entry of %s instead",
        rule_id,
        wrapper_name(owner),
    )
    try:
        if _is_async(owner):
            awaitables.append(owner.ainvalidate_all())
        else:
            owner.invalidate_all()
    except Exception:
        logger.warning("Cache delete failed for %s", wrapper_name(owner), exc_info=True)
    return None


def _is_async(wrapper: Any) -> bool:
    from restflow.caching.registry import _is_async_wrapper

    return _is_async_wrapper(wrapper)


def process_rule_sync(rule: RuleEntry, func_kwargs: dict[str, Any]) -> None:
    wrapper = rule["func"]
    spec = rule["invalidation_rule"]
    try:
        wrapper.delete_by_prefix(**func_kwargs)
    except Exception:
        if spec.raise_exception:
            raise
        logger.warning("Cache delete failed for %s", wrapper_name(wrapper), exc_info=True)
    if not spec.rewarm:
        return
    try:
        wrapper.refresh(**func_kwargs)
    except Exception:
        if spec.raise_exception:
            raise
        logger.warning(
            "Re-warm failed for %s with %s; the scope stays invalidated",
            wrapper_name(wrapper),
            func_kwargs,
            exc_info=True,
        )


async def aprocess_rule(rule: RuleEntry, func_kwargs: dict[str, Any]) -> None:
    wrapper = rule["func"]
    spec = rule["invalidation_rule"]
    try:
        await wrapper.adelete_by_prefix(**func_kwargs)
    except Exception:
        if spec.raise_exception:
            raise
        logger.warning("Cache delete failed for %s", wrapper_name(wrapper), exc_info=True)
    if not spec.rewarm:
        return
    try:
        await wrapper.arefresh(**func_kwargs)
    except Exception:
        if spec.raise_exception:
            raise
        logger.warning(
            "Re-warm failed for %s with %s; the scope stays invalidated",
            wrapper_name(wrapper),
            func_kwargs,
            exc_info=True,
        )
