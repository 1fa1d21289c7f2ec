"""Scale-out rows: an ``@cache_result`` hit vs a plain ``cache.get`` on the same Redis
Cluster (django-redis + ``RedisCluster``, django-valkey's ``ClusterValkeyCache``) and the
same two-server memcached pool (issue 14 targets: 1.3x and 1.5x), in the default layout
and with ``CLUSTER_HASH_TAGS``; and an invalidation (a partition, a whole function) vs a
plain ``cache.set``; and a partition bump acknowledged by one replica
(``CLUSTER_WAIT_REPLICAS = 1``) vs the same bump without ``WAIT``. Each row carries the
Redis commands and round trips per operation."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bench_cache import cached_item
from bench_harness import Contender, compare, each, make_record
from django.core.cache import caches
from django.test import override_settings
from restflow_testbed.django_redis_cluster import cluster_cache_settings
from restflow_testbed.memcached_server import memcached_cache_settings

from restflow.caching import ArgsKeyField, cache_result
from restflow.caching.backends import get_many

OPTIONS: dict[str, Any] = {"rounds": 15, "min_block": 0.04}
TARGET = {"django_redis_cluster": 1.3, "valkey_cluster": 1.3, "memcached_pool": 1.5}
HASH_TAGS = 12  # 3 masters x 4


@cache_result(
    key_constructor={
        "fields": {"tenant": ArgsKeyField("tenant", partition=True), "item": ArgsKeyField("item")}
    },
    ttl=3600,
)
def tenant_item(tenant: int, item: int) -> dict[str, Any]:
    return {"tenant": tenant, "item": item}


def _config(backend: str) -> dict[str, Any]:
    if backend == "memcached_pool":
        return memcached_cache_settings(os.environ["RESTFLOW_BENCH_MEMCACHED"].split(","))
    return cluster_cache_settings(os.environ["RESTFLOW_BENCH_CLUSTER_URL"], backend)


# -- commands and round trips per operation ---------------------------------------------
# Round trips are counted on the client (a socket send of redis-py, valkey-py, one request
# of pymemcache); commands on the servers (Redis INFO commandstats over every node;
# memcached get/set/touch/delete per key), so a pipeline's commands are all counted;
# on the masters only.
@contextmanager
def _round_trips() -> Iterator[Counter[str]]:
    import pymemcache.client.base
    import redis.connection
    import valkey.connection

    counts: Counter[str] = Counter()
    patched: list[tuple[Any, str, Any]] = []

    def wrap(owner: Any, name: str) -> None:
        original = getattr(owner, name)

        def counting(*args: Any, **kwargs: Any) -> Any:
            counts["round_trips"] += 1
            return original(*args, **kwargs)

        patched.append((owner, name, original))
        setattr(owner, name, counting)

    wrap(redis.connection.AbstractConnection, "send_packed_command")
    wrap(valkey.connection.AbstractConnection, "send_packed_command")
    for name in ("_fetch_cmd", "_store_cmd", "_misc_cmd"):
        wrap(pymemcache.client.base.Client, name)
    try:
        yield counts
    finally:
        for owner, name, original in patched:
            setattr(owner, name, original)


def _server_commands(backend: str) -> int:
    if backend == "memcached_pool":
        import pymemcache.client.base

        total = 0
        for location in os.environ["RESTFLOW_BENCH_MEMCACHED"].split(","):
            host, port = location.rsplit(":", 1)
            client = pymemcache.client.base.Client((host, int(port)))
            stats = client.stats()
            client.close()
            total += sum(int(stats.get(k, 0)) for k in MEMCACHED_COMMANDS)
        return total
    import redis
    import redis.cluster

    cluster = redis.cluster.RedisCluster.from_url(os.environ["RESTFLOW_BENCH_CLUSTER_URL"])
    total = 0
    for node in cluster.get_primaries():  # a replica counts what it replays too
        client = redis.Redis(host=node.host, port=node.port)
        stats = client.info("commandstats")
        client.close()
        total += sum(int(v["calls"]) for k, v in stats.items() if k not in IGNORED_COMMANDS)
    cluster.close()
    return total


MEMCACHED_COMMANDS = (b"cmd_get", b"cmd_set", b"cmd_touch", b"delete_hits", b"delete_misses")
IGNORED_COMMANDS = {
    "cmdstat_info", "cmdstat_client|setinfo", "cmdstat_cluster|slots", "cmdstat_cluster|shards",
    "cmdstat_command|docs", "cmdstat_command", "cmdstat_ping", "cmdstat_hello",
}


def per_operation(backend: str, op: Callable[[], Any], n: int = 20) -> dict[str, float]:
    """Round trips and server commands of one ``op``, averaged over ``n``."""
    op()
    before = _server_commands(backend)
    with _round_trips() as counts:
        for _ in range(n):
            op()
    commands = _server_commands(backend) - before
    return {"round_trips": counts["round_trips"] / n, "commands": commands / n}


def _trip_facts(
    backend: str, ops: dict[str, Callable[[], Any]], one_trip: tuple[str, ...]
) -> list[dict[str, Any]]:
    """One fact per operation naming its round trips and commands; ``one_trip`` names
    the operations that must take a single round trip."""
    facts = []
    for name, op in ops.items():
        measured = per_operation(backend, op)
        label = (
            f"{name}: {measured['round_trips']:g} round trip(s), "
            f"{measured['commands']:g} command(s)"
        )
        ok = measured["round_trips"] <= 1 if name in one_trip else True
        facts.append({"label": label, "ok": ok, "value": measured})
    return facts


def _layout(tags: int) -> Any:
    return override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": {"CLUSTER_HASH_TAGS": tags}})


def _suffix(tags: int) -> str:
    return ".hash_tags" if tags else ""


def bench_hit(backend: str, tags: int = 0) -> dict[str, Any]:
    with override_settings(CACHES={"default": _config(backend)}), _layout(tags):
        cache = caches["default"]
        cached_item(7)
        key = cached_item.get_cache_key(7)
        version = cached_item.get_key_version()
        if tags and backend == "memcached_pool":
            # Django places the key by its whole text, restflow by its tag: the plain get
            # reads a copy of the same envelope where Django looks for it.
            cache.set(key, get_many(cache, [key], version)[key], 3600, version=version)
        assert cache.get(key, version=version) is not None
        result = compare(
            [
                Contender("restflow", each(lambda: cached_item(7))),
                Contender("raw_get", each(lambda: cache.get(key, version=version))),
            ],
            **OPTIONS,
        )
        facts = _trip_facts(
            backend,
            {"hit": lambda: cached_item(7), "plain get": lambda: cache.get(key, version=version)},
            one_trip=("hit",),
        )
    layout = f"CLUSTER_HASH_TAGS={tags}" if tags else "default layout"
    return make_record(
        f"scaleout.hit.{backend}{_suffix(tags)}",
        f"@cache_result hit ({backend}, {layout})",
        backend,
        result,
        ratios=[("restflow", "raw_get")],
        targets=[("restflow", "raw_get", TARGET[backend])],
        facts=facts,
        notes=(
            "the entry and its scopes share one slot / one server: one request"
            if tags
            else "the entry and its scopes live in several slots / on both servers"
        ),
    )


def bench_invalidation(backend: str, tags: int = 0) -> dict[str, Any]:
    """One partition bump and one whole-function bump (``N`` copies with hash tags) vs
    one plain ``cache.set``."""
    with override_settings(CACHES={"default": _config(backend)}), _layout(tags):
        cache = caches["default"]
        tenant_item(7, 1)
        result = compare(
            [
                Contender("partition", each(lambda: tenant_item.delete_by_prefix(tenant=7))),
                Contender("function", each(tenant_item.invalidate_all)),
                Contender("raw_set", each(lambda: cache.set("restflow:bench:x", 1, 60))),
            ],
            **OPTIONS,
        )
        facts = _trip_facts(
            backend,
            {
                "partition bump": lambda: tenant_item.delete_by_prefix(tenant=7),
                "function bump": tenant_item.invalidate_all,
                "plain set": lambda: cache.set("restflow:bench:x", 1, 60),
            },
            one_trip=("partition bump",),
        )
    return make_record(
        f"scaleout.invalidation.{backend}{_suffix(tags)}",
        f"invalidation: one partition, one function ({backend}, "
        f"{f'CLUSTER_HASH_TAGS={tags}' if tags else 'default layout'})",
        backend,
        result,
        ratios=[("partition", "raw_set"), ("function", "raw_set")],
        facts=facts,
        notes="a function bump writes one key per hash-tag shard" if tags else "",
    )


def bench_invalidation_wait(backend: str = "django_redis_cluster") -> dict[str, Any]:
    """A partition bump with ``WAIT 1`` (one replica acknowledges) vs without, vs a plain
    ``cache.set``, on the cluster (every master has one replica)."""
    from restflow.caching import _replication

    with override_settings(CACHES={"default": _config(backend)}):
        cache = caches["default"]
        tenant_item(7, 1)

        def bump(replicas: int) -> Callable[[], Any]:
            def run_one() -> None:
                # CLUSTER_WAIT_REPLICAS / CLUSTER_WAIT_TIMEOUT_MS as validated, without an
                # override_settings per call (which would cost more than the bump)
                _replication._values[:] = [(replicas, 1000)]
                tenant_item.delete_by_prefix(tenant=7)

            return run_one

        try:
            result = compare(
                [
                    Contender("wait_1", each(bump(1))),
                    Contender("no_wait", each(bump(0))),
                    Contender("raw_set", each(lambda: cache.set("restflow:bench:x", 1, 60))),
                ],
                **OPTIONS,
            )
            facts = _trip_facts(
                backend,
                {"bump with WAIT 1": bump(1), "bump without WAIT": bump(0)},
                one_trip=("bump with WAIT 1",),
            )
        finally:
            _replication._values.clear()
    return make_record(
        f"scaleout.invalidation.{backend}.wait1",
        f"partition bump acknowledged by one replica, CLUSTER_WAIT_REPLICAS=1 ({backend})",
        backend,
        result,
        ratios=[("wait_1", "no_wait"), ("wait_1", "raw_set")],
        facts=facts,
        notes="SET and WAIT 1 in one pipeline on the partition's master (its commands: "
        "SET, WAIT and the replica's REPLCONF ACK); replica on loopback",
    )


def run() -> list[dict[str, Any]]:
    records = [bench_hit(backend) for backend in TARGET]
    records += [bench_hit(backend, HASH_TAGS) for backend in TARGET]
    records += [bench_invalidation(backend) for backend in TARGET]
    records += [bench_invalidation(backend, HASH_TAGS) for backend in TARGET]
    records.append(bench_invalidation_wait())
    return records
