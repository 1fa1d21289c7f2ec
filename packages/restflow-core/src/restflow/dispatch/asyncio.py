"""The ``asyncio`` dispatcher: a task on the running event loop, else synchronous."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

from restflow.dispatch.base import Dispatcher
from restflow.dispatch.worker import async_worker_entry, import_dotted, run_worker

__all__ = ["AsyncIODispatcher"]

logger = logging.getLogger("restflow.dispatch.asyncio")


class AsyncIODispatcher(Dispatcher):
    """Schedules the async worker entry on the loop running in the calling thread.

    Tasks are strongly referenced until they finish (so the loop cannot drop them) and
    their failures are logged. Without a running loop the job runs synchronously
    through the sync worker entry. Note: Django runs ORM calls of async views in worker
    threads, where no loop runs, so on-commit jobs usually take the synchronous path.
    """

    name: ClassVar[str] = "asyncio"
    supports_batching: ClassVar[bool] = False
    default_settings: ClassVar[dict[str, Any]] = {}

    _pending_tasks: ClassVar[set[asyncio.Task[Any]]] = set()

    def _dispatch(
        self, *, rule_ids: list[str], rule_kwargs: dict[str, dict[str, Any]], **context: Any
    ) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            logger.debug("no running event loop; running rules %s synchronously", rule_ids)
            run_worker(rule_ids, rule_kwargs, dispatcher_name=self.name, worker=self.worker())
            return
        path = self.option("async_function_path")
        worker = import_dotted(str(path)) if path else async_worker_entry()
        task = loop.create_task(worker(rule_ids, rule_kwargs, dispatcher_name=self.name))
        self._pending_tasks.add(task)
        task.add_done_callback(self._task_done)

    @classmethod
    def _task_done(cls, task: asyncio.Task[Any]) -> None:
        cls._pending_tasks.discard(task)
        if task.cancelled():
            logger.warning("asyncio invalidation task %s was cancelled", task.get_name())
            return
        exc = task.exception()
        if exc is not None:
            logger.warning("asyncio invalidation task failed: %s", exc, exc_info=exc)

    @classmethod
    async def drain(cls) -> None:
        """Wait for every task this dispatcher scheduled (tests, graceful shutdown)."""
        while cls._pending_tasks:
            await asyncio.gather(*list(cls._pending_tasks), return_exceptions=True)
