"""The ``inline`` dispatcher: runs the job in the calling thread, right away."""

from __future__ import annotations

from typing import Any, ClassVar

from restflow.dispatch.base import Dispatcher
from restflow.dispatch.worker import run_worker

__all__ = ["InlineDispatcher"]


class InlineDispatcher(Dispatcher):
    """Runs invalidation in the thread that committed the save.

    With ``RAISE_EXCEPTION`` resolving to ``True``, worker errors reach the code whose
    commit ran the job (the ``save()`` call in autocommit mode).
    """

    name: ClassVar[str] = "inline"
    supports_batching: ClassVar[bool] = False
    default_settings: ClassVar[dict[str, Any]] = {}

    def _dispatch(
        self, *, rule_ids: list[str], rule_kwargs: dict[str, dict[str, Any]], **context: Any
    ) -> None:
        run_worker(rule_ids, rule_kwargs, dispatcher_name=self.name, worker=self.worker())
