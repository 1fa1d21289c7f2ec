"""Jobs the worker keeps: for a tuple of rule ids, the rules and, per plain kwargs dict,
the scopes their job bumps, grouped per cache (``scopes.group_targets``). A save of a
model with many rules then costs the worker one lookup and one ``set_many`` per cache,
whatever the number of rules.

A kept job is used only while the registry still holds the same rules under its ids
(checked on every run: a rule registered again replaces it) and is emptied with the
wrappers' own target memos when ``RESTFLOW_SETTINGS`` or ``CACHES`` change. Only jobs of
sync cached functions with pure key constructors (scopes that depend on the arguments
only) are kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import repeat
from operator import is_
from typing import Any, cast

from restflow.caching.plan_memo import Memo, memo_key
from restflow.caching.registry import CacheRegister
from restflow.caching.rules import Rule, is_async_wrapper
from restflow.caching.scopes import Groups, Target, group_targets

__all__ = ["KeptJob", "find"]


class KeptJob:
    """What a job of these rule ids needs, kept per tuple of ids: the rules (checked
    against the registry on every run), those that rewarm, and the scopes to bump per
    plain kwargs dict, grouped per cache (``scopes.group_targets``)."""

    __slots__ = ("bumps", "rewarm", "rules")

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self.rewarm = [rule for rule in rules if rule.spec.rewarm]
        self.bumps: dict[Any, tuple[list[Target], Groups]] = {}


# Reset with the wrappers' own target memos when RESTFLOW_SETTINGS or CACHES change.
_jobs: Memo = Memo()
_JOBS_LIMIT = 1024


def _compiled_job(ids: tuple[str, ...], rules: list[Rule | None]) -> KeptJob | None:
    """The kept job of ``ids`` when it can run compiled: sync cached functions whose
    scopes depend on their arguments only (pure key constructors), all known here."""
    job: KeptJob | None = _jobs.get(ids)
    if job is not None and job.rules == rules:
        return job
    for rule in rules:
        func = getattr(rule, "func", None)
        constructor = getattr(func, "_key_constructor", None)
        if (
            rule is None
            or is_async_wrapper(func)
            or getattr(func, "invalidation_target", None) is None
            or not getattr(constructor, "is_pure", False)
        ):
            return None
    if len(_jobs) >= _JOBS_LIMIT:
        _jobs.clear()
    job = _jobs[ids] = KeptJob(cast(list[Rule], rules))
    return job


def find(
    rule_ids: Iterable[str], rule_kwargs: dict[str, Any]
) -> tuple[KeptJob, dict[str, Any], tuple[list[Target], Groups]] | None:
    """The kept job of ``rule_ids``, its one kwargs dict and the scopes to bump for it,
    when every rule drops the scope of the same plain kwargs (a save of a model with
    many rules); ``None`` when the job does not fit."""
    ids = tuple(rule_ids)
    if len(ids) < 2:
        return None
    payloads: list[Any] = list(map(rule_kwargs.get, ids))
    first = payloads[0]
    if type(first) is not dict or payloads.count(first) != len(payloads):
        return None
    identity = memo_key((), first)
    if identity is None:
        return None
    # Equal is not enough (1 == True): other objects (decoded by a broker) must have
    # the same plain identity as the first. A save's job holds one object (fast path).
    if not all(map(is_, payloads, repeat(first))) and any(
        p is not first and memo_key((), p) != identity for p in payloads
    ):
        return None
    job = _compiled_job(ids, list(map(CacheRegister.rules_by_id().get, ids)))
    if job is None:
        return None
    bump = job.bumps.get(identity)
    if bump is None:
        try:
            targets = [rule.func.invalidation_target((), first) for rule in job.rules]
        except Exception:
            return None  # run_rules applies each rule's error policy
        if len(job.bumps) >= _JOBS_LIMIT:
            job.bumps.clear()
        bump = job.bumps[identity] = (targets, group_targets(targets))
    return job, first, bump
