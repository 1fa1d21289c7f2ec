"""restflow's dispatcher conformance kit against real Celery workers."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from celery import Celery
from celery_testapp.celery_app import current_celery_app, make_app
from celery_testapp.processes import CeleryWorker
from celery_testapp.tasks import RECORD_TASK_NAME
from restflow_testbed.redis_server import free_port

from restflow.dispatch.base import Dispatcher
from restflow.dispatch.celery._publish import reset_pools
from restflow.dispatch.testing import RECORD_JOB_PATH, BrokerDispatcherConformance, Journal

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"

pytestmark = [pytest.mark.broker]


class _CeleryConformance(BrokerDispatcherConformance):
    dispatcher = "celery"
    queue: ClassVar[str] = ""
    closed_broker_url: ClassVar[str] = ""

    def dispatcher_config(self) -> dict[str, Any]:
        return {
            "task_name": RECORD_TASK_NAME,
            "queue": self.queue,
            "function_path": RECORD_JOB_PATH,
            "publish_timeout": 1.0,
        }

    @contextlib.contextmanager
    def broken_handoff(self, dispatcher: Dispatcher) -> Iterator[None]:
        """Point the producer at a port where no broker listens."""
        from celery import current_app

        app = current_app._get_current_object()
        previous = app.conf.broker_url
        app.conf.broker_url = self.closed_broker_url
        reset_pools()
        try:
            yield
        finally:
            app.conf.broker_url = previous
            reset_pools()


class TestCeleryRedisConformance(_CeleryConformance):
    """Celery on a private Redis; the task is registered in this process (apply_async)."""

    @pytest.fixture(autouse=True)
    def _worker(self, celery_worker: CeleryWorker, celery_app: Celery, session_queue: str) -> None:
        type(self).queue = session_queue
        type(self).closed_broker_url = f"redis://127.0.0.1:{free_port()}/0"
        assert RECORD_TASK_NAME in celery_app.tasks


class TestCelerySendTaskConformance(_CeleryConformance):
    """The task exists only on the worker: the dispatcher publishes it by name."""

    @pytest.fixture(autouse=True)
    def _worker(self, celery_worker: CeleryWorker, celery_app: Celery, session_queue: str) -> None:
        type(self).queue = session_queue
        type(self).closed_broker_url = f"redis://127.0.0.1:{free_port()}/0"
        celery_app.tasks.unregister(RECORD_TASK_NAME)
        assert RECORD_TASK_NAME not in celery_app.tasks


@pytest.fixture(scope="class")
def rabbitmq_worker(conformance_journal: Journal) -> Iterator[tuple[CeleryWorker, str]]:
    queue = f"restflow-tests-{uuid.uuid4().hex[:12]}"
    worker = CeleryWorker(RABBITMQ_URL, [queue])
    try:
        worker.start()
        yield worker, queue
    finally:
        worker.stop()
        with contextlib.suppress(Exception):
            app = make_app(RABBITMQ_URL)
            with app.connection_for_write() as conn:
                conn.default_channel.queue_delete(queue)


class TestCeleryRabbitMQConformance(_CeleryConformance):
    """Celery on the machine's RabbitMQ, with a queue of this run's own."""

    @pytest.fixture(autouse=True)
    def _worker(self, rabbitmq_worker: tuple[CeleryWorker, str]) -> Iterator[None]:
        _worker, queue = rabbitmq_worker
        type(self).queue = queue
        type(self).closed_broker_url = f"amqp://guest:guest@127.0.0.1:{free_port()}//"
        app = make_app(RABBITMQ_URL)
        with current_celery_app(app):
            yield
        app.close()
