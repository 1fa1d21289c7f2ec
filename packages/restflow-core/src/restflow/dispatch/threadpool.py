"""The ``threadpool`` dispatcher: one lazily built, process-wide thread pool."""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ClassVar

from restflow.dispatch.base import Dispatcher

__all__ = ["ThreadPoolDispatcher"]

logger = logging.getLogger("restflow.dispatch.threadpool")

DEFAULT_MAX_WORKERS = 4


class ThreadPoolDispatcher(Dispatcher):
    """Hands jobs to a thread pool shared by every rule of the process.

    The pool is created by the first dispatch, sized by ``max_workers`` (per rule) or
    ``MAX_WORKERS`` (settings), and keeps that size. A process forked from the one that
    created it gets a new pool. Jobs still queued when the interpreter exits are run
    before it exits (the standard library joins the pool's threads); jobs queued in a
    process that is killed are lost.
    """

    name: ClassVar[str] = "threadpool"
    supports_batching: ClassVar[bool] = True
    default_settings: ClassVar[dict[str, Any]] = {"MAX_WORKERS": DEFAULT_MAX_WORKERS}

    _executor: ClassVar[ThreadPoolExecutor | None] = None
    _executor_pid: ClassVar[int | None] = None
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def validate_config(self) -> None:
        super().validate_config()
        value = self.config.get("max_workers")
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 1
        ):
            raise ValueError(f"max_workers must be an int >= 1, got {value!r}")

    def _max_workers(self) -> int:
        for value in (self.config.get("max_workers"), self.settings().get("MAX_WORKERS")):
            if value:
                return int(value)
        return DEFAULT_MAX_WORKERS

    def _pool(self) -> ThreadPoolExecutor:
        cls = type(self)
        pid = os.getpid()
        with ThreadPoolDispatcher._lock:
            if ThreadPoolDispatcher._executor is None or ThreadPoolDispatcher._executor_pid != pid:
                ThreadPoolDispatcher._executor = ThreadPoolExecutor(
                    max_workers=self._max_workers(), thread_name_prefix="restflow-cache"
                )
                ThreadPoolDispatcher._executor_pid = pid
                logger.debug("%s created a pool of %d threads", cls.__name__,
                             self._max_workers())
            return ThreadPoolDispatcher._executor

    @classmethod
    def shutdown(cls, wait: bool = True) -> None:
        """Shut the pool down (running queued jobs first when ``wait``) and forget it."""
        with ThreadPoolDispatcher._lock:
            executor = ThreadPoolDispatcher._executor
            ThreadPoolDispatcher._executor = None
            ThreadPoolDispatcher._executor_pid = None
        if executor is not None:
            executor.shutdown(wait=wait)

    def _dispatch(
        self, *, rule_ids: list[str], rule_kwargs: dict[str, dict[str, Any]], **context: Any
    ) -> None:
        worker = self.worker()
        future = self._pool().submit(
            worker, rule_ids, rule_kwargs, dispatcher_name=self.name
        )
        future.add_done_callback(_log_failure(rule_ids))


def _log_failure(rule_ids: list[str]) -> Any:
    def callback(future: Future[Any]) -> None:
        exc = future.exception()
        if exc is not None:
            logger.warning(
                "threadpool worker raised while running rules %s: %s",
                rule_ids, exc, exc_info=exc,
            )

    return callback
