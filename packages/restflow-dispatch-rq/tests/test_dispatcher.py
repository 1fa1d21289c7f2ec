"""DjangoRqDispatcher's options and the job it enqueues (inspected in Redis)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.test import override_settings
from restflow_testbed.redis_server import RedisServer
from rq import Queue

from restflow.dispatch.django_rq import DjangoRqDispatcher
from restflow.dispatch.testing import RECORD_JOB_PATH, record_job
from restflow.dispatch.worker import worker_path


def _block(**values: Any) -> dict[str, Any]:
    return {"CACHE_SETTINGS": {"DISPATCHER_SETTINGS": {"django_rq": values}}}


def test_queue_and_function_path_resolution_skip_empty_values() -> None:
    assert DjangoRqDispatcher().queue_name() == "default"
    assert DjangoRqDispatcher().worker_path() == worker_path()
    with override_settings(RESTFLOW_SETTINGS=_block(QUEUE="invalidation", FUNCTION_PATH="a.b")):
        assert DjangoRqDispatcher().queue_name() == "invalidation"
        assert DjangoRqDispatcher().worker_path() == "a.b"
        assert DjangoRqDispatcher(queue="hot", function_path="c.d").queue_name() == "hot"
        assert DjangoRqDispatcher(function_path="c.d").worker_path() == "c.d"
        assert DjangoRqDispatcher(queue="", function_path="").queue_name() == "invalidation"
    with override_settings(RESTFLOW_SETTINGS=_block(QUEUE="", FUNCTION_PATH=None)):
        assert DjangoRqDispatcher().queue_name() == "default"
        assert DjangoRqDispatcher().worker_path() == worker_path()


def test_batch_key_depends_on_queue_and_function_path() -> None:
    a = DjangoRqDispatcher(queue="q", function_path="f.g")
    assert a.batch_key() == (DjangoRqDispatcher, "q", "f.g")
    assert a.batch_key() != DjangoRqDispatcher(queue="other", function_path="f.g").batch_key()
    assert a.batch_key() != DjangoRqDispatcher(queue="q", function_path="f.h").batch_key()
    assert a.batch_key() != DjangoRqDispatcher(queue="q", function_path="f.g",
                                               fallback="raise").batch_key()


@pytest.fixture
def queue_redis(broker_redis: RedisServer) -> Iterator[str]:
    queue = f"q-{uuid.uuid4().hex[:8]}"
    with override_settings(RQ_QUEUES={queue: {"URL": broker_redis.db_url(2)}},
                           RQ={"COMMIT_MODE": "request_finished"}):
        yield queue


@pytest.mark.parametrize("timeout", [1.0, 0])
def test_the_worker_function_itself_is_enqueued_right_away(
    queue_redis: str, broker_redis: RedisServer, timeout: float
) -> None:
    # Even with django-rq told to wait for the end of the request, restflow (which
    # dispatches after commit already) enqueues at once.
    DjangoRqDispatcher(queue=queue_redis, function_path=RECORD_JOB_PATH,
                       publish_timeout=timeout).dispatch(
        rule_ids=["42"], rule_kwargs={"42": {"pk": str(uuid.UUID(int=3))}},
        model_label="app.M", pk=uuid.UUID(int=3),
    )
    client = redis.Redis.from_url(broker_redis.db_url(2))
    try:
        queue = Queue(queue_redis, connection=client)
        [job] = queue.get_jobs()
        assert job.func is record_job
        assert job.args == (["42"], {"42": {"pk": str(uuid.UUID(int=3))}})
        assert job.kwargs == {"dispatcher_name": "django_rq"}
    finally:
        client.close()


def test_missing_django_rq_is_reported_on_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "django_rq", None)
    with pytest.raises(ImportError, match="django-rq"):
        DjangoRqDispatcher()
