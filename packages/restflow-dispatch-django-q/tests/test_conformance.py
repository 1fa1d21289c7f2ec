"""The conformance kit, against a real django-q2 ``qcluster`` on Redis."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from djangoq_support import django_q_redis
from restflow_testbed.redis_server import free_port

from restflow.dispatch.base import Dispatcher
from restflow.dispatch.testing import RECORD_JOB_PATH, BrokerDispatcherConformance

pytestmark = [pytest.mark.broker, pytest.mark.redis]


@pytest.mark.usefixtures("qcluster")
class TestDjangoQConformance(BrokerDispatcherConformance):
    dispatcher = "django_q"

    def dispatcher_config(self) -> dict[str, Any]:
        return {"function_path": RECORD_JOB_PATH, "publish_timeout": 0.5}

    @contextlib.contextmanager
    def broken_handoff(self, dispatcher: Dispatcher) -> Iterator[None]:
        """django-q's Redis on a port nothing listens on."""
        with django_q_redis(f"redis://127.0.0.1:{free_port()}/0"):
            yield
