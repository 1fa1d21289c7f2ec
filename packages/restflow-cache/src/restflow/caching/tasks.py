"""Worker entries: what every dispatcher finally calls to run a job.

``run_cache_rules`` (sync) and ``arun_cache_rules`` (async) run the rules of a job
with ``restflow.caching._worker.run_rules``. An error that escapes the rules is
re-raised or logged according to the resolution order of ``RAISE_EXCEPTION``: the rules'
own ``raise_exception`` (``True`` wins in a batch), then the dispatcher's block, then
``CACHE_SETTINGS.DISPATCHER_RAISE_EXCEPTION``.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import logging
import sys
from collections.abc import Awaitable, Iterable, Iterator
from typing import Any

from asgiref.sync import async_to_sync

from restflow.dispatch.base import resolve_raise_exception

# task_run_cache_rules is served by the module's __getattr__ (bottom).
__all__ = ["arun_cache_rules", "run_cache_rules", "task_run_cache_rules"]  # noqa: F822

logger = logging.getLogger("restflow.caching.tasks")


def _resolve_raise_errors(dispatcher_name: str | None, rule_ids: Iterable[str] = ()) -> bool:
    """Whether an error of the job with ``rule_ids`` leaves the worker entry."""
    from restflow.caching.registry import CacheRegister

    flags = []
    for rule_id in rule_ids:
        rule = CacheRegister.get_rule(rule_id)
        if rule is not None:
            flags.append(rule.spec.raise_exception)
    return resolve_raise_exception(dispatcher_name, flags)


def _failed(
    rule_ids: list[str], dispatcher_name: str | None, context: dict[str, Any] | None
) -> None:
    if _resolve_raise_errors(dispatcher_name, rule_ids):
        raise  # re-raises the error being handled by the caller
    logger.exception(
        "restflow cache rules %s failed (dispatcher %r, context %r); the error is logged, "
        "not raised (RAISE_EXCEPTION resolves to False)",
        rule_ids,
        dispatcher_name,
        context or {},
    )


async def _await(awaitable: Awaitable[Any]) -> None:
    await awaitable


@contextlib.contextmanager
def _error_policy(
    rule_ids: list[str], dispatcher_name: str | None, context: dict[str, Any] | None
) -> Iterator[None]:
    """Re-raise or log (per ``RAISE_EXCEPTION``) an error of the job run in the block."""
    try:
        yield
    except Exception:
        _failed(rule_ids, dispatcher_name, context)


def _start(rule_ids: list[str], rule_kwargs: dict[str, Any]) -> Any:
    """Run the job's rules; an awaitable when some of them are async."""
    from restflow.caching._worker import run_rules

    result = run_rules(rule_ids, rule_kwargs)
    return result if result is not None and inspect.isawaitable(result) else None


def run_cache_rules(
    rule_ids: list[str], rule_kwargs: dict[str, Any], *,
    dispatcher_name: str | None = None, context: dict[str, Any] | None = None,
) -> None:
    """Run a job synchronously (async wrappers are driven with ``async_to_sync``)."""
    ids = list(rule_ids)
    try:  # _error_policy spelled out: this runs on every save with the inline dispatcher
        pending = _start(ids, rule_kwargs)
        if pending is not None:
            async_to_sync(_await)(pending)
    except Exception:
        _failed(ids, dispatcher_name, context)


async def arun_cache_rules(
    rule_ids: list[str], rule_kwargs: dict[str, Any], *,
    dispatcher_name: str | None = None, context: dict[str, Any] | None = None,
) -> None:
    """Run a job on the running event loop."""
    ids = list(rule_ids)
    with _error_policy(ids, dispatcher_name, context):
        pending = _start(ids, rule_kwargs)
        if pending is not None:
            await pending


def _plain_task_run_cache_rules(
    *, rule_ids: list[str], rule_kwargs: dict[str, Any], **context: Any
) -> None:
    """The Celery task's body, as a plain function (when Celery is not installed)."""
    run_cache_rules(rule_ids, rule_kwargs, dispatcher_name="celery", context=context)


_plain_task_run_cache_rules.__name__ = "task_run_cache_rules"
_plain_task_run_cache_rules.__qualname__ = "task_run_cache_rules"


def _celery_task() -> Any:
    """The plugin's Celery task registered under this module's name, if installed.

    Only when Celery is already imported (a worker, or a project whose Celery app
    module ran): importing Celery just for this would slow down every Django start-up.
    A producer without the task registered locally publishes it by name.
    """
    if "celery" not in sys.modules:
        return None
    try:
        plugin = importlib.import_module("restflow.dispatch.celery")
    except ImportError:
        return None
    return getattr(plugin, "task_run_cache_rules", None)


# In a Celery worker (Celery already imported) importing this module registers the
# plugin's task, which is what ``app.autodiscover_tasks()`` relies on.
_celery_task()


def __getattr__(name: str) -> Any:
    # ``task_run_cache_rules`` is looked up when read, not frozen at import: this module
    # is imported by the app's ready(), possibly before the project imports Celery.
    if name == "task_run_cache_rules":
        return _celery_task() or _plain_task_run_cache_rules
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
