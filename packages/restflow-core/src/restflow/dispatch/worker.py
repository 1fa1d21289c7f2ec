"""The worker entry: the function that finally runs a job, registered by its owner.

restflow-core names no worker. restflow-cache registers its entries when its app is
ready (``register_worker(run_cache_rules, arun_cache_rules)``), and every dispatcher
asks this module for them: :func:`worker_entry` (the callable), :func:`worker_path`
(its dotted path, for brokers that send a function by name). The job runs there as
``worker(rule_ids, rule_kwargs, dispatcher_name=..., [context=...])``.

An error the worker raises in the calling process reaches :meth:`Dispatcher.dispatch
<restflow.dispatch.base.Dispatcher.dispatch>` as :class:`WorkerError`, which tells it
apart from a failed hand-off: the job did run, so it is never run a second time.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from restflow.dispatch import _generation
from restflow.log import log_throttled

__all__ = [
    "FALLBACK_LOG_INTERVAL",
    "WorkerError",
    "async_worker_entry",
    "import_dotted",
    "register_worker",
    "run_fallback",
    "run_worker",
    "worker_entry",
    "worker_path",
]

logger = logging.getLogger("restflow.dispatch")

#: Seconds between two log records about the same dispatcher failing to hand off.
FALLBACK_LOG_INTERVAL = 60.0

Worker = Callable[..., Any]

_entries: dict[str, Worker] = {}


class WorkerError(Exception):
    """The worker entry ran a job in this process and raised (its policy said raise).

    ``error`` is the worker's own exception (also the ``__cause__``). Raised by
    :func:`run_worker`; :meth:`Dispatcher.dispatch` lets it through instead of falling
    back, since the job has already run.
    """

    def __init__(self, rule_ids: list[str], error: BaseException) -> None:
        super().__init__(
            f"the worker entry failed on rules {rule_ids}: {type(error).__name__}: {error}"
        )
        self.rule_ids = rule_ids
        self.error = error


def register_worker(sync: Worker, async_: Worker | None = None) -> None:
    """Make ``sync`` (and ``async_``, a coroutine function) the entry every job runs
    through. Called by restflow-cache's ``AppConfig.ready()``; a later call replaces."""
    _entries["sync"] = sync
    if async_ is not None:
        _entries["async"] = async_
    _generation.bump()  # dispatchers resolve their worker again


def _entry(kind: str) -> Worker:
    entry = _entries.get(kind)
    if entry is None:
        raise ImproperlyConfigured(
            "no restflow worker entry is registered, so a job has nowhere to run: add "
            "'restflow.caching' to INSTALLED_APPS (restflow-cache registers its worker "
            "when its app is ready), or call restflow.dispatch.worker.register_worker()"
        )
    return entry


def worker_entry() -> Worker:
    """The registered synchronous worker entry (``ImproperlyConfigured`` if none)."""
    return _entry("sync")


def async_worker_entry() -> Worker:
    """The registered asynchronous worker entry (``ImproperlyConfigured`` if none)."""
    return _entry("async")


def worker_path() -> str:
    """Dotted path of the synchronous worker entry (what a broker sends by name)."""
    entry = worker_entry()
    return f"{entry.__module__}.{entry.__qualname__}"


def import_dotted(path: str) -> Any:
    """Import ``"package.module.attr"`` and return ``attr``."""
    module_path, _, attr = path.rpartition(".")
    if not module_path or not attr:
        raise ImportError(f"Invalid dotted path {path!r}: expected 'package.module.attribute'")
    module = importlib.import_module(module_path)
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ImportError(f"module {module_path!r} has no attribute {attr!r}") from None


def run_worker(
    rule_ids: list[str],
    rule_kwargs: dict[str, Any],
    *,
    dispatcher_name: str | None,
    context: dict[str, Any] | None = None,
    function_path: str | None = None,
    worker: Worker | None = None,
) -> None:
    """Run a job in this process through ``worker``, else ``function_path``, else the
    worker entry (``Dispatcher.worker()`` gives the first, resolved once).

    Raises :class:`WorkerError` (from the worker's exception) when the worker raises.
    """
    if worker is None:
        worker = import_dotted(function_path) if function_path else worker_entry()
    kwargs: dict[str, Any] = {"dispatcher_name": dispatcher_name}
    if context:
        kwargs["context"] = context
    try:
        worker(rule_ids, rule_kwargs, **kwargs)
    except Exception as exc:
        raise WorkerError(list(rule_ids), exc) from exc


def run_fallback(
    dispatcher_name: str | None,
    rule_ids: list[str],
    rule_kwargs: dict[str, Any],
    exc: BaseException,
    context: dict[str, Any],
    *,
    function_path: str | None = None,
) -> None:
    """Run a job no dispatcher could hand off, here and now, after an ERROR log
    (throttled to one record per dispatcher a minute). The one fallback path."""
    log_throttled(
        logger,
        f"fallback:{dispatcher_name}",
        "dispatcher %r could not hand off rules %s (%s: %s); running them inline "
        "in this process instead (logged once per %d s while it lasts)",
        dispatcher_name,
        rule_ids,
        type(exc).__name__,
        exc,
        int(FALLBACK_LOG_INTERVAL),
        level=logging.ERROR,
        interval=FALLBACK_LOG_INTERVAL,
        exc_info=exc,
    )
    fallback_context: dict[str, Any] = {
        key: context[key] for key in ("model_label", "pk") if key in context
    }
    fallback_context["fallback"] = "inline"
    run_worker(
        rule_ids,
        rule_kwargs,
        dispatcher_name=dispatcher_name,
        context=fallback_context,
        function_path=function_path,
    )
