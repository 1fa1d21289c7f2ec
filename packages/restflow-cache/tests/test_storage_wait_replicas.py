"""``CACHE_SETTINGS.CLUSTER_WAIT_REPLICAS`` (docs/caching.md, Replication acknowledgement):
a bump on Redis or a Redis Cluster is followed by ``WAIT``; with fewer acknowledgements
than asked the bump counts as failed (retried, held, logged, replayed). Tested on the
test bed's 3 + 3 Redis Cluster (a replica frozen with SIGSTOP) and its single Redis (no
replica at all)."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from typing import Any

import pytest
import redis
import redis.cluster
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from restflow_testbed.django_redis_cluster import cluster_cache_settings
from restflow_testbed.plugin import redis_cache_settings
from restflow_testbed.redis_cluster import RedisCluster
from restflow_testbed.redis_server import RedisServer
from test_storage_backends import make_items

from restflow.caching import CACHE_MISSING, outbox
from restflow.caching._replication import ReplicasNotAcknowledged

pytestmark = pytest.mark.redis


def waiting(replicas: Any = 1, timeout_ms: Any = 100, tags: int = 0) -> Any:
    return override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": {
        "CLUSTER_WAIT_REPLICAS": replicas,
        "CLUSTER_WAIT_TIMEOUT_MS": timeout_ms,
        "CLUSTER_HASH_TAGS": tags,
    }})


@pytest.mark.parametrize(
    ("replicas", "timeout_ms", "named"),
    [(-1, 100, "CLUSTER_WAIT_REPLICAS"), ("1", 100, "CLUSTER_WAIT_REPLICAS"),
     (True, 100, "CLUSTER_WAIT_REPLICAS"), (1, 0, "CLUSTER_WAIT_TIMEOUT_MS"),
     (1, 0.5, "CLUSTER_WAIT_TIMEOUT_MS")],
)
def test_a_bad_setting_names_itself(replicas: Any, timeout_ms: Any, named: str) -> None:
    with waiting(replicas, timeout_ms), pytest.raises(ImproperlyConfigured, match=named):
        make_items(Counter()).delete_by_prefix(tenant=1)


def test_ignored_on_local_memory() -> None:
    calls: Counter[str] = Counter()
    items = make_items(calls)
    with waiting(2):
        assert items(1, 1) == "1/1#1"
        items.delete_by_prefix(tenant=1)
        assert items(1, 1) == "1/1#2"
    assert outbox.pending_count() == 0


def _wait_calls(nodes: list[Any]) -> int:
    total = 0
    for node in nodes:
        client = redis.Redis(host=node.host, port=node.port)
        total += int(client.info("commandstats").get("cmdstat_wait", {}).get("calls", 0))
        client.close()
    return total


@pytest.mark.parametrize("flavour", ["django", "django_redis"])
def test_standalone_redis_without_replica_fails_the_bump(
    redis_url: str, redis_server: RedisServer, flavour: str, outbox_logs: pytest.LogCaptureFixture
) -> None:
    """The test bed's Redis has no replica: WAIT 1 gets 0, every bump is held."""
    with override_settings(CACHES={"default": redis_cache_settings(redis_url, flavour)}):
        calls: Counter[str] = Counter()
        items = make_items(calls)
        assert items(1, 1) == "1/1#1"
        before = _wait_calls([redis_server])
        with waiting(1), pytest.raises(ReplicasNotAcknowledged, match="0 of 1 replica"):
            items.delete_by_prefix(tenant=1)
        assert _wait_calls([redis_server]) - before == 3  # the write and its two retries
        assert outbox.pending_count() == 1
        assert items.get_cache_only(1, 1) is CACHE_MISSING  # held: never served stale
        assert any("held for replay" in r.getMessage() for r in outbox_logs.records)
        assert outbox.replay("default")  # WAIT off again: the held bump is written
        assert items(1, 1) == "1/1#2"
        caches["default"].clear()


def _replica_of(cluster: RedisCluster, master_port: int) -> RedisServer:
    info = redis.Redis(port=master_port).info("replication")
    ports = [int(value["port"]) for name, value in info.items() if re.fullmatch(r"slave\d+", name)]
    return next(node for node in cluster.nodes if node.port in ports)


@pytest.mark.parametrize("tags", [0, 4], ids=["flat", "tags"])
@pytest.mark.parametrize("backend", ["django_redis_cluster", "valkey_cluster"])
def test_cluster_bump_acknowledged_then_held_while_a_replica_is_frozen(
    backend: str,
    tags: int,
    redis_cluster_clean: RedisCluster,
    fresh_django_redis_pools: None,
    outbox_logs: pytest.LogCaptureFixture,
) -> None:
    cluster = redis_cluster_clean
    cluster.wait_replicated()
    settings = cluster_cache_settings(cluster.url, backend)
    with override_settings(CACHES={"default": settings}), waiting(1, 100, tags):
        calls: Counter[str] = Counter()
        items = make_items(calls)
        assert [items(t, 1) for t in range(4)] == [f"{t}/1#1" for t in range(4)]
        before = _wait_calls(cluster.nodes)
        items.delete_by_prefix(tenant=2)  # acknowledged by the replica of its master
        items.invalidate_all()  # function scope: one master, or every shard's master
        assert _wait_calls(cluster.nodes) - before >= 2
        assert outbox.pending_count() == 0
        assert [items(t, 1) for t in range(4)] == ["0/1#2", "1/1#2", "2/1#2", "3/1#2"]

        hot = items.invalidation_target((), {"tenant": 3})[2]
        client = redis.cluster.RedisCluster.from_url(cluster.url)
        owner = client.get_node_from_key(caches["default"].make_key(hot, version=1))
        client.close()
        replica = _replica_of(cluster, owner.port)
        replica.freeze()
        try:
            with pytest.raises(ReplicasNotAcknowledged, match="0 of 1 replica"):
                items.delete_by_prefix(tenant=3)
            assert outbox.pending_count() == 1
            assert items.get_cache_only(3, 1) is CACHE_MISSING  # held: a miss, not stale
            with pytest.raises(ReplicasNotAcknowledged):  # async: the same path
                asyncio.run(items.adelete_by_prefix(tenant=3))
        finally:
            replica.resume()
            cluster.wait_ok()
        deadline = time.monotonic() + 30  # the replica catches up, then the replay is acked
        while not outbox.replay("default") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert outbox.pending_count() == 0
        assert any("replayed the held" in r.getMessage() for r in outbox_logs.records)
        assert items(3, 1) == "3/1#3"
        assert items(0, 1) == "0/1#2"  # other partitions untouched
