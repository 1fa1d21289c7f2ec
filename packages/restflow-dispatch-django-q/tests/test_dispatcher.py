"""DjangoQDispatcher options and what it queues (real Redis, no worker)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from django.test import override_settings
from djangoq_support import django_q_redis

from restflow.dispatch.django_q import DjangoQDispatcher
from restflow.dispatch.django_q._publish import publish_broker
from restflow.dispatch.registry import get_dispatcher
from restflow.dispatch.worker import worker_path


def _block(**values: Any) -> dict[str, Any]:
    return {"CACHE_SETTINGS": {"DISPATCHER_SETTINGS": {"django_q": values}}}


@pytest.fixture
def queued(redis_url: str) -> Iterator[Any]:
    """django-q publishing to the test Redis; yields a client to read the queues."""
    import redis

    client = redis.Redis.from_url(redis_url)
    with django_q_redis(redis_url):
        yield client
    client.close()


def _tasks(client: Any, cluster: str) -> list[dict[str, Any]]:
    from django_q.signing import SignedPackage

    return [SignedPackage.loads(raw) for raw in client.lrange(f"django_q:{cluster}:q", 0, -1)]


@pytest.mark.parametrize(
    ("key", "bad"),
    [("cluster", 3), ("group", ["x"]), ("function_path", 1), ("fallback", "later")],
)
def test_bad_config_is_refused(key: str, bad: Any) -> None:
    with pytest.raises(ValueError, match=key):
        DjangoQDispatcher(**{key: bad})


def test_options_come_from_the_rule_then_the_settings_block() -> None:
    plain = DjangoQDispatcher()
    assert (plain.cluster(), plain.group(), plain.worker_path(), plain.publish_timeout()) == (
        None, None, worker_path(), 2.0)
    with override_settings(RESTFLOW_SETTINGS=_block(CLUSTER="hot", GROUP="cache",
                                                    FUNCTION_PATH="proj.tasks.run",
                                                    PUBLISH_TIMEOUT=0.5)):
        block = DjangoQDispatcher()
        assert (block.cluster(), block.group(), block.worker_path(), block.publish_timeout()) == (
            "hot", "cache", "proj.tasks.run", 0.5)
        rule = DjangoQDispatcher(cluster="cold", group="g2", function_path="proj.x.y")
        assert (rule.cluster(), rule.group(), rule.worker_path()) == ("cold", "g2", "proj.x.y")
    assert DjangoQDispatcher(cluster="", group="").cluster() is None


def test_batch_key_is_cluster_group_and_function_path() -> None:
    assert DjangoQDispatcher(group="cache").batch_key() == (DjangoQDispatcher, None, "cache", worker_path())
    assert get_dispatcher("django_q", {"cluster": "hot"}).batch_key() == (
        DjangoQDispatcher, "hot", None, worker_path())
    assert DjangoQDispatcher(group="a").batch_key() != DjangoQDispatcher(group="b").batch_key()
    assert DjangoQDispatcher.supports_batching is True


def test_async_task_gets_the_dotted_path_the_job_and_only_the_options_set(
    monkeypatch: pytest.MonkeyPatch, redis_url: str
) -> None:
    import django_q.tasks

    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    monkeypatch.setattr(django_q.tasks, "async_task", lambda *a, **kw: calls.append((a, kw)))
    with django_q_redis(redis_url):
        DjangoQDispatcher().dispatch(rule_ids=["42"], rule_kwargs={"42": {"pk": 42}})
        DjangoQDispatcher(group="cache", cluster="hot").dispatch(rule_ids=["1"],
                                                                 rule_kwargs={"1": {}})
    (args, kwargs), (_, grouped) = calls
    assert args == (worker_path(), ["42"], {"42": {"pk": 42}})
    assert {k: v for k, v in kwargs.items() if k != "broker"} == {"dispatcher_name": "django_q"}
    assert {k: v for k, v in grouped.items() if k != "broker"} == {
        "dispatcher_name": "django_q", "group": "cache", "cluster": "hot"}
    assert grouped["broker"].list_key == "django_q:hot:q"


@pytest.mark.redis
def test_the_queued_task_is_a_dotted_path_and_json_native_arguments(queued: Any) -> None:
    cluster = f"probe-{uuid.uuid4().hex}"
    kwargs = {"r1": {"int_pk": 3, "uuid_pk": str(uuid.UUID(int=9)), "str_pk": "é/x"}}
    DjangoQDispatcher(cluster=cluster, group="cache").dispatch(rule_ids=["r1"], rule_kwargs=kwargs)
    [task] = _tasks(queued, cluster)
    assert task["func"] == worker_path()
    assert task["args"] == (["r1"], kwargs)
    assert task["kwargs"] == {"dispatcher_name": "django_q"}
    assert task["group"] == "cache"
    assert task["cluster"] == cluster
    assert json.loads(json.dumps([task["func"], list(task["args"]), task["kwargs"]])) == [
        worker_path(), [["r1"], kwargs], {"dispatcher_name": "django_q"}]


@pytest.mark.redis
def test_the_default_cluster_is_django_qs_own(queued: Any) -> None:
    from django_q.conf import Conf

    DjangoQDispatcher().dispatch(rule_ids=["r2"], rule_kwargs={"r2": {}})
    [task] = _tasks(queued, Conf.CLUSTER_NAME)
    assert task["args"] == (["r2"], {"r2": {}})


def test_the_publish_broker_is_built_once_per_queue(redis_url: str) -> None:
    with django_q_redis(redis_url):
        assert publish_broker("a", 1.0) is publish_broker("a", 1.0)
        assert publish_broker("a", 1.0) is not publish_broker("b", 1.0)
        broker = publish_broker(None, 1.5)
        assert broker is not None
        kwargs = broker.connection.connection_pool.connection_kwargs
        assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (1.5, 1.5)


def test_options_in_the_redis_url_win_over_the_publish_timeout(redis_url: str) -> None:
    with django_q_redis(f"{redis_url}?socket_timeout=9"):
        broker = publish_broker(None, 1.0)
    assert broker is not None
    kwargs = broker.connection.connection_pool.connection_kwargs
    assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (9.0, 1.0)


def test_other_django_q_brokers_are_used_as_configured() -> None:
    from django_q.conf import Conf

    with mock.patch.object(Conf, "ORM", "default"):
        assert publish_broker(None, 1.0) is None
