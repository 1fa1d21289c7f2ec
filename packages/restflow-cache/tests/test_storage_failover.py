"""Failover under load (issue 14 item 5, docs/caching.md, Failure semantics): readers,
writers and a cached view run in threads while the Redis Cluster master holding a hot
scope is killed, or a memcached server of the pool is frozen (SIGSTOP) and resumed.
Afterwards, once the cluster recovered and the outbox is empty, every read serves the
last committed value; no exception reached a reader or the view; every failed
invalidation was held, logged, and replayed."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis.cluster
from django.core.cache import caches
from django.test import override_settings
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView
from restflow_testbed.django_redis_cluster import cluster_cache_settings
from restflow_testbed.memcached_server import MemcachedServer, memcached_cache_settings
from restflow_testbed.redis_cluster import RedisCluster
from test_storage_backends import TenantKey

from restflow.caching import (
    RequestValueKeyField,
    ResponseCacheKeyConstructor,
    _hash_tags,
    cache_response,
    cache_result,
    outbox,
    scopes,
)

pytestmark = pytest.mark.redis
TENANTS = range(8)


class TenantViewKey(ResponseCacheKeyConstructor):
    tenant = RequestValueKeyField("tenant", partition=True)


class Storm:
    """The committed values (the "database"), a cached function and a cached view of
    them, and the threads that read and write while a server fails."""

    def __init__(self) -> None:
        self.db = dict.fromkeys(TENANTS, 0)
        self.lock = threading.Lock()
        self.errors: list[BaseException] = []
        self.failed_bumps = 0
        self.stop = threading.Event()
        db = self.db

        @cache_result(TenantKey, ttl=300)
        def items(tenant: Any, item: int = 0) -> int:
            return db[tenant]

        class TenantView(APIView):
            authentication_classes: list[Any] = []

            @cache_response(TenantViewKey, ttl=300)
            def get(self, request: Request) -> Response:
                return Response({"v": db[request.tenant]})

        self.items = items
        self.view_get = TenantView.get
        self.view = TenantView.as_view()
        self.factory = APIRequestFactory()

    def read_view(self, tenant: int) -> int:
        request = self.factory.get("/t")
        request.tenant = tenant
        response = self.view(request)
        if hasattr(response, "render"):  # a miss: a DRF response; a hit: rebuilt bytes
            response.render()
        return int(json.loads(response.content)["v"])

    def save(self, tenant: int) -> None:
        """A committed save and the invalidation its rules send (errors are the rule
        error policy's: counted here, logged by restflow)."""
        with self.lock:
            self.db[tenant] += 1
        try:
            scopes.bump_targets(
                [
                    self.items.invalidation_target((), {"tenant": tenant}),
                    self.view_get.invalidation_target((), {"tenant": tenant}),
                ]
            )
        except Exception:
            with self.lock:
                self.failed_bumps += 1

    def _guard(self, work: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            while not self.stop.is_set():
                try:
                    work()
                except BaseException as exc:  # what would reach a caller
                    self.errors.append(exc)
                    return

        return run

    def threads(self) -> list[threading.Thread]:
        def reader() -> None:
            for tenant in TENANTS:
                self.items(tenant)

        def viewer() -> None:
            for tenant in TENANTS:
                self.read_view(tenant)

        def writer() -> None:
            for tenant in TENANTS:
                self.save(tenant)
                time.sleep(0.005)

        work = [reader, reader, viewer, writer]
        return [threading.Thread(target=self._guard(w), daemon=True) for w in work]

    def run(
        self, disrupt: Callable[[], None], recover: Callable[[], None], hold: float = 1.0
    ) -> None:
        for tenant in TENANTS:
            self.items(tenant)
            self.read_view(tenant)
        threads = self.threads()
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        disrupt()
        time.sleep(hold)
        recover()
        time.sleep(0.5)
        self.stop.set()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads)

    def settle(self) -> None:
        """Reads replay the held invalidations (``REPLAY_INTERVAL`` is 0 here)."""
        deadline = time.monotonic() + 30
        while outbox.pending_count() and time.monotonic() < deadline:
            for tenant in TENANTS:
                self.items(tenant)
                self.read_view(tenant)
            time.sleep(0.1)

    def check(self, caplog: pytest.LogCaptureFixture) -> dict[str, Any]:
        self.settle()
        assert self.errors == []  # nothing reached a reader, the view or a writer's caller
        assert outbox.pending_count() == 0
        stale = [
            (tenant, self.items(tenant), self.read_view(tenant), value)
            for tenant, value in self.db.items()
            if (self.items(tenant), self.read_view(tenant)) != (value, value)
        ]
        assert stale == []  # no value older than the last committed save
        held = [r for r in caplog.records if "held for replay" in r.getMessage()]
        replayed = [r for r in caplog.records if "replayed the held" in r.getMessage()]
        assert len(held) == self.failed_bumps  # every failed invalidation logged
        if self.failed_bumps:
            assert replayed
        return {"saves": sum(self.db.values()), "failed": self.failed_bumps}


@pytest.mark.parametrize("tags", [0, 6])
def test_cluster_master_killed_under_load(
    tags: int, fresh_django_redis_pools: None, outbox_logs: pytest.LogCaptureFixture
) -> None:
    cluster = RedisCluster()
    cluster.start()
    try:
        with override_settings(
            CACHES={"default": cluster_cache_settings(cluster.url, "django_redis_cluster")},
            RESTFLOW_SETTINGS={"CACHE_SETTINGS": {"CLUSTER_HASH_TAGS": tags}},
        ):
            storm = Storm()
            hot = storm.items.invalidation_target((), {"tenant": 0})[2]
            client = redis.cluster.RedisCluster.from_url(cluster.url)
            owner = client.get_node_from_key(caches["default"].make_key(hot, version=1))
            client.close()
            master = next(node for node in cluster.nodes if node.port == owner.port)
            storm.run(master.stop, cluster.wait_ok)
            outcome = storm.check(outbox_logs)
    finally:
        cluster.cleanup()
    print(f"cluster (CLUSTER_HASH_TAGS={tags}): {outcome}")
    assert outcome["saves"] >= len(TENANTS)  # every tenant saved while the master was down or failing over


def _server_holding(scope: str, servers: list[MemcachedServer]) -> MemcachedServer:
    """The pool's server of ``scope`` (the hot tenant's): with the layout on it follows the
    key's hash tag, so a fixed index is not the same server from one run to the next."""
    cache = caches["default"]
    pool = cache._cache  # pymemcache's HashClient (the test's own probe)
    client = pool._get_client(_hash_tags.tag_of(scope) or cache.make_key(scope, version=1))
    host, port = client.server
    return next(s for s in servers if s.location == f"{host}:{port}")


@pytest.mark.parametrize("tags", [0, 6])
def test_memcached_server_frozen_under_load(
    tags: int, memcached_servers: list[MemcachedServer], outbox_logs: pytest.LogCaptureFixture
) -> None:
    for server in memcached_servers:
        server.resume()
    settings = memcached_cache_settings(
        [s.location for s in memcached_servers], retry_attempts=10**9, retry_timeout=0
    )
    try:
        with override_settings(
            CACHES={"default": settings},
            RESTFLOW_SETTINGS={"CACHE_SETTINGS": {"CLUSTER_HASH_TAGS": tags}},
        ):
            caches["default"].clear()
            storm = Storm()
            hot = storm.items.invalidation_target((), {"tenant": 0})[2]
            frozen = _server_holding(hot, memcached_servers)
            # longer than the bounded retry (0.05 s + 0.25 s and the timeouts): held
            storm.run(frozen.freeze, frozen.resume, hold=3.0)
            outcome = storm.check(outbox_logs)
    finally:
        for server in memcached_servers:
            server.resume()
    print(f"memcached pool (CLUSTER_HASH_TAGS={tags}): {outcome}")
    assert outcome["saves"] > len(TENANTS)
    assert outcome["failed"] > 0  # the outage outlasted the retries: held and replayed
