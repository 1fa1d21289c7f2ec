"""restflow's dispatcher conformance kit against a real ``rqworker``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from django.test import override_settings
from restflow_testbed.redis_server import free_port
from rq_testapp.processes import RqWorker

from restflow.dispatch.base import Dispatcher
from restflow.dispatch.testing import RECORD_JOB_PATH, BrokerDispatcherConformance

pytestmark = [pytest.mark.broker]


class TestDjangoRqConformance(BrokerDispatcherConformance):
    dispatcher = "django_rq"
    queue: ClassVar[str] = ""

    @pytest.fixture(autouse=True)
    def _worker(self, rq_worker: RqWorker, rq_settings: dict[str, Any], session_queue: str) -> None:
        type(self).queue = session_queue

    def dispatcher_config(self) -> dict[str, Any]:
        return {"queue": self.queue, "function_path": RECORD_JOB_PATH, "publish_timeout": 1.0}

    @contextlib.contextmanager
    def broken_handoff(self, dispatcher: Dispatcher) -> Iterator[None]:
        """Point the queue at a port where no Redis listens."""
        closed = {self.queue: {"URL": f"redis://127.0.0.1:{free_port()}/0"}}
        with override_settings(RQ_QUEUES=closed):
            yield
