"""DramatiqDispatcher options, actor registration and queue routing (real Redis, no worker)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from django.test import override_settings
from dramatiq_support import use_broker
from restflow_testbed.worker_process import worker_env

from restflow.dispatch.dramatiq import DramatiqDispatcher, register_actor
from restflow.dispatch.dramatiq._publish import publishing_broker
from restflow.dispatch.registry import get_dispatcher
from restflow.dispatch.worker import register_worker

TESTS_DIR = Path(__file__).resolve().parent


def _block(**values: Any) -> dict[str, Any]:
    return {"CACHE_SETTINGS": {"DISPATCHER_SETTINGS": {"dramatiq": values}}}


@pytest.fixture
def stub_broker() -> Iterator[Any]:
    from dramatiq.brokers.stub import StubBroker

    with use_broker(StubBroker()) as broker:
        yield broker


@pytest.fixture
def redis_broker(redis_url: str) -> Iterator[Any]:
    import redis
    from dramatiq.brokers.redis import RedisBroker

    broker = RedisBroker(url=redis_url)
    client = redis.Redis.from_url(redis_url)
    with use_broker(broker):
        yield client
    client.close()


@pytest.mark.parametrize(
    ("key", "bad"),
    [("queue", ""), ("queue", 3), ("actor_name", ["x"]), ("fallback", "later")],
)
def test_bad_config_is_refused(key: str, bad: Any) -> None:
    with pytest.raises(ValueError, match=key):
        DramatiqDispatcher(**{key: bad})


def test_options_come_from_the_rule_then_the_settings_block_then_defaults() -> None:
    plain = DramatiqDispatcher()
    assert (plain.queue_name(), plain.actor_name(), plain.publish_timeout()) == (
        "default", "restflow.task_run_cache_rules", 2.0)
    with override_settings(RESTFLOW_SETTINGS=_block(QUEUE="cache", ACTOR_NAME="proj.inval",
                                                    PUBLISH_TIMEOUT=0.5)):
        from_block = DramatiqDispatcher()
        assert (from_block.queue_name(), from_block.actor_name(), from_block.publish_timeout()) == (
            "cache", "proj.inval", 0.5)
        rule = DramatiqDispatcher(queue="hot", actor_name="proj.hot", publish_timeout=1)
        assert (rule.queue_name(), rule.actor_name(), rule.publish_timeout()) == (
            "hot", "proj.hot", 1.0)


def test_batch_key_is_queue_and_actor_name() -> None:
    assert DramatiqDispatcher(queue="a").batch_key() == (DramatiqDispatcher, "a",
                                                         "restflow.task_run_cache_rules")
    assert DramatiqDispatcher(queue="a").batch_key() == get_dispatcher(
        "dramatiq", {"queue": "a"}).batch_key()
    assert DramatiqDispatcher(queue="a").batch_key() != DramatiqDispatcher(queue="b").batch_key()
    assert DramatiqDispatcher.supports_batching is True


def test_importing_the_package_declares_no_actor_but_the_actors_module_does() -> None:
    code = (
        "import dramatiq, json, sys\n"
        "from dramatiq.brokers.stub import StubBroker\n"
        "dramatiq.set_broker(StubBroker())\n"
        "import restflow.dispatch.dramatiq\n"
        "before = sorted(dramatiq.get_broker().actors)\n"
        "cache_loaded = any(m.startswith('restflow.caching') for m in sys.modules)\n"
        "import django; django.setup()\n"
        "import restflow.dispatch.dramatiq.actors as actors\n"
        "after = {n: a.queue_name for n, a in dramatiq.get_broker().actors.items()}\n"
        "print(json.dumps([before, cache_loaded, after, actors.task_run_cache_rules.actor_name]))\n"
    )
    env = worker_env(TESTS_DIR, DJANGO_SETTINGS_MODULE="restflow_testbed.worker_settings",
                     RESTFLOW_TEST_SETTINGS_JSON=json.dumps(_block(QUEUE="invalidation")))
    env.pop("RESTFLOW_TEST_WORKER")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    before, cache_loaded, after, name = json.loads(result.stdout.strip().splitlines()[-1])
    assert before == []
    assert cache_loaded is False
    assert after == {"restflow.task_run_cache_rules": "invalidation"}
    assert name == "restflow.task_run_cache_rules"


def test_register_actor_declares_one_actor_per_name_on_its_queue(stub_broker: Any) -> None:
    first = register_actor("proj.a", "queue-a")
    assert first.actor_name == "proj.a"
    assert first.queue_name == "queue-a"
    assert stub_broker.actors["proj.a"] is first
    assert register_actor("proj.a", "queue-a") is first  # idempotent
    second = register_actor("proj.b", "queue-b")
    assert second is not first
    assert {"queue-a", "queue-b"} <= stub_broker.get_declared_queues()
    with pytest.raises(ValueError, match="one actor lives on one queue"):
        register_actor("proj.a", "queue-b")


def test_register_actor_resolves_missing_names_from_settings(stub_broker: Any) -> None:
    with override_settings(RESTFLOW_SETTINGS=_block(QUEUE="cache", ACTOR_NAME="proj.inval")):
        actor = register_actor()
    assert (actor.actor_name, actor.queue_name) == ("proj.inval", "cache")
    assert register_actor(queue_name="x2").actor_name == "restflow.task_run_cache_rules"


def test_register_actor_passes_dramatiq_options(stub_broker: Any) -> None:
    actor = register_actor("proj.retrying", "q", max_retries=3)
    assert actor.options["max_retries"] == 3


def test_the_actor_forwards_its_arguments_to_the_worker_entry(stub_broker: Any) -> None:
    calls: list[tuple[Any, ...]] = []
    register_worker(lambda *a, **kw: calls.append((a, kw)))
    actor = register_actor()
    actor.fn(["r1"], {"r1": {"pk": 5}})
    assert calls == [((["r1"], {"r1": {"pk": 5}}), {"dispatcher_name": "dramatiq"})]


def test_dispatch_sends_the_job_to_the_resolved_queue(stub_broker: Any) -> None:
    DramatiqDispatcher(queue="invalidation").dispatch(
        rule_ids=["42"], rule_kwargs={"42": {"pk": 42}}, model_label="a.B", pk=42)
    [message] = stub_broker.queues["invalidation"].queue
    decoded = json.loads(message.decode()) if isinstance(message, bytes) else message
    assert decoded["actor_name"] == "restflow.task_run_cache_rules"
    assert decoded["queue_name"] == "invalidation"
    assert (decoded["args"], decoded["kwargs"]) == ([["42"], {"42": {"pk": 42}}], {})
    assert "default" not in stub_broker.queues or stub_broker.queues["default"].qsize() == 0


@pytest.mark.redis
def test_each_rule_reaches_its_own_queue_on_redis(redis_broker: Any) -> None:
    token = uuid.uuid4().hex
    hot, cold = f"hot-{token}", f"cold-{token}"
    DramatiqDispatcher(queue=hot, actor_name=f"proj.hot.{token}").dispatch(
        rule_ids=[f"r#{token}#hot"], rule_kwargs={f"r#{token}#hot": {"pk": 1}})
    DramatiqDispatcher(queue=cold, actor_name=f"proj.cold.{token}").dispatch(
        rule_ids=[f"r#{token}#cold"], rule_kwargs={f"r#{token}#cold": {"pk": "a-b"}})
    for queue, rule_id, actor in ((hot, f"r#{token}#hot", f"proj.hot.{token}"),
                                  (cold, f"r#{token}#cold", f"proj.cold.{token}")):
        assert redis_broker.llen(f"dramatiq:{queue}") == 1
        [raw] = redis_broker.hvals(f"dramatiq:{queue}.msgs")
        message = json.loads(raw)
        assert message["queue_name"] == queue
        assert message["actor_name"] == actor
        assert message["args"][0] == [rule_id]
    assert redis_broker.llen("dramatiq:default") == 0


@pytest.mark.redis
def test_a_broker_with_its_own_socket_timeouts_is_published_through(redis_url: str) -> None:
    import redis
    from dramatiq.brokers.redis import RedisBroker

    mine = RedisBroker(url=f"{redis_url}?socket_timeout=7&socket_connect_timeout=6")
    assert publishing_broker(mine, 0.75) is mine
    queue = f"t-{uuid.uuid4().hex}"
    with use_broker(mine):
        DramatiqDispatcher(queue=queue, actor_name="proj.t", publish_timeout=0.75).dispatch(
            rule_ids=["1"], rule_kwargs={"1": {}})
    assert mine.client.connection_pool.connection_kwargs["socket_timeout"] == 7
    assert mine.client.connection_pool.connection_kwargs["socket_connect_timeout"] == 6
    assert redis.Redis.from_url(redis_url).llen(f"dramatiq:{queue}") == 1


@pytest.mark.redis
def test_the_projects_broker_is_never_changed(redis_url: str) -> None:
    """A broker without socket timeouts is published to through a bounded twin; the
    project's broker, its client and its connection settings stay as they were."""
    import redis
    from dramatiq.brokers.redis import RedisBroker

    bare = RedisBroker(url=redis_url)
    before = dict(bare.client.connection_pool.connection_kwargs)
    queue = f"t-{uuid.uuid4().hex}"
    with use_broker(bare):
        for _ in range(2):
            DramatiqDispatcher(queue=queue, actor_name="proj.t", publish_timeout=0.75).dispatch(
                rule_ids=["1"], rule_kwargs={"1": {}})
    assert bare.client.connection_pool.connection_kwargs == before
    assert redis.Redis.from_url(redis_url).llen(f"dramatiq:{queue}") == 2
    twin = publishing_broker(bare, 0.75)
    assert twin is not bare
    assert publishing_broker(bare, 0.75) is twin
    settings = twin.client.connection_pool.connection_kwargs
    assert (settings["socket_timeout"], settings["socket_connect_timeout"]) == (0.75, 0.75)
    assert (twin.namespace, twin.heartbeat_timeout) == (bare.namespace, bare.heartbeat_timeout)


@pytest.mark.redis
def test_the_projects_middleware_sees_a_message_published_through_the_twin(redis_url: str) -> None:
    from dramatiq import Middleware
    from dramatiq.brokers.redis import RedisBroker

    seen: list[tuple[str, str]] = []

    class Recording(Middleware):
        def before_enqueue(self, broker: Any, message: Any, delay: Any) -> None:
            seen.append((message.actor_name, message.queue_name))

    bare = RedisBroker(url=redis_url, middleware=[Recording()])
    queue = f"t-{uuid.uuid4().hex}"
    with use_broker(bare):
        DramatiqDispatcher(queue=queue, actor_name="proj.mw", publish_timeout=0.75).dispatch(
            rule_ids=["1"], rule_kwargs={"1": {}})
    assert seen == [("proj.mw", queue)]


@pytest.mark.redis
def test_a_redis_broker_subclass_is_published_through_as_configured(redis_url: str) -> None:
    from dramatiq.brokers.redis import RedisBroker

    class Audited(RedisBroker):
        sent: ClassVar[list[str]] = []

        def enqueue(self, message: Any, *, delay: Any = None) -> Any:
            self.sent.append(message.queue_name)
            return super().enqueue(message, delay=delay)

    broker = Audited(url=redis_url)
    before = dict(broker.client.connection_pool.connection_kwargs)
    queue = f"t-{uuid.uuid4().hex}"
    assert publishing_broker(broker, 0.75) is broker
    with use_broker(broker):
        DramatiqDispatcher(queue=queue, actor_name="proj.sub", publish_timeout=0.75).dispatch(
            rule_ids=["1"], rule_kwargs={"1": {}})
    assert Audited.sent == [queue]
    assert broker.client.connection_pool.connection_kwargs == before
