"""The backend x feature matrix (docs/caching.md, Scaling out): every feature of
restflow-cache on every backend the docs name, on the test bed's real servers: local
memory, Django's RedisCache, django-redis, django-valkey (standalone), django-redis with a
``RedisCluster`` client and django-valkey's ``ClusterValkeyCache`` on the 3+3 Redis
Cluster, Django's ``PyMemcacheCache`` on the pool of two. The three scale-out backends
run every feature a second time with the hash-tag layout on (``CLUSTER_HASH_TAGS``,
cells ``<backend>-tags``), on the same servers.

``-k "cluster or memcached"`` selects the cluster and pool cells, ``-k tags`` the
layout-on cells.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.core.cache import caches
from django.test import AsyncClient, Client, override_settings
from restflow_testbed.cache_matrix import MATRIX_BACKENDS, SCALE_OUT_BACKENDS, matrix_cache
from test_storage_backends import TenantKey, make_items
from test_storage_purge import versioned

from restflow.caching import (
    CACHE_MISSING,
    ArgsKeyField,
    KeyConstructor,
    _hash_tags,
    cache_result,
    outbox,
)

pytestmark = pytest.mark.redis


BACKEND_CLASSES = {
    "locmem": "django.core.cache.backends.locmem.LocMemCache",
    "redis": "django.core.cache.backends.redis.RedisCache",
    "django_redis": "django_redis.cache.RedisCache",
    "valkey": "django_valkey.cache.ValkeyCache",
    "django_redis_cluster": "django_redis.cache.RedisCache",
    "valkey_cluster": "django_valkey.cluster_cache.cache.ClusterValkeyCache",
    "memcached_pool": "django.core.cache.backends.memcached.PyMemcacheCache",
}


#: Hash tags per namespace in the layout-on cells (fewer than the cluster's 3 masters
#: would leave a master without shards; 4 puts two shards on one of them).
TAGS = 4
CELLS = [
    *[pytest.param((name, 0), id=name) for name in MATRIX_BACKENDS],
    *[pytest.param((name, TAGS), id=f"{name}-tags") for name in SCALE_OUT_BACKENDS],
]


@pytest.fixture(params=CELLS)
def matrix(request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture) -> Iterator[str]:
    """``default`` on each backend of the matrix in turn, the scale-out ones also with
    the hash-tag layout on. Every storage operation must have worked: no degraded call
    logged, no bump left held."""
    name, tags = request.param
    layout = override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": {"CLUSTER_HASH_TAGS": tags}})
    with layout, matrix_cache(name, request) as cache, caplog.at_level(
        logging.WARNING, logger="restflow.caching"
    ):
        assert f"{type(cache).__module__}.{type(cache).__qualname__}" == BACKEND_CLASSES[name]
        assert _hash_tags.count() == tags
        yield name
        assert outbox.pending_count() == 0  # every invalidation of the test was written
        problems = [r.getMessage() for r in caplog.records if r.name.startswith("restflow")]
        assert not problems, problems


def test_hit_and_miss(matrix: str) -> None:
    calls: Counter[str] = Counter()
    items = make_items(calls)
    assert items.get_cache_key(1, 1).startswith("{rf.") == bool(_hash_tags.count())
    assert items.get_cache_only(1, 1) is CACHE_MISSING
    assert items(1, 1) == "1/1#1"
    value, metadata = items.get_with_metadata(1, 1)
    assert (value, metadata["cache_status"]) == ("1/1#1", "HIT")
    assert [items(n, 2) for n in range(8)] == [f"{n}/2#1" for n in range(8)]
    assert [items(n, 2) for n in range(8)] == [f"{n}/2#1" for n in range(8)]  # 8 hits
    assert sum(calls.values()) == 9


def test_prefix_and_namespace_invalidation(matrix: str) -> None:
    calls: Counter[str] = Counter()
    items = make_items(calls)
    for tenant in (1, 2, 3):
        items(tenant, 1)
    items.delete_by_prefix(tenant=1)  # one partition
    assert [items(t, 1) for t in (1, 2, 3)] == ["1/1#2", "2/1#1", "3/1#1"]
    TenantKey.wipe(tenant=2)  # every function of the constructor, one partition
    assert [items(t, 1) for t in (1, 2, 3)] == ["1/1#2", "2/1#2", "3/1#1"]
    items.delete_cache(3, 1)  # one entry
    assert items(3, 1) == "3/1#2"
    items.invalidate_all()  # the function
    assert [items(t, 1) for t in (1, 2, 3)] == ["1/1#3", "2/1#3", "3/1#3"]
    TenantKey.wipe()  # the namespace
    assert [items(t, 1) for t in (1, 2, 3)] == ["1/1#4", "2/1#4", "3/1#4"]


def test_cache_objects_of_finished_threads_are_collected(matrix: str) -> None:
    """Django makes a cache object per thread (per request under ASGI servers, which run
    each request's sync code in a new thread, and under ``runserver``): what restflow keeps
    for a cache object (its Redis client, its packed reads, its pool routing) must not keep
    that object, and the connections it owns, alive once Django drops it."""
    import gc
    import weakref

    calls: Counter[str] = Counter()
    items = make_items(calls)
    seen: list[Any] = []
    errors: list[BaseException] = []
    main = caches["default"]

    def request() -> None:
        try:
            assert caches["default"] is not main  # Django's object of this thread
            assert items(1, 1) == "1/1#1"  # a hit after the first thread's miss
            items(2, 1)
            items.delete_by_prefix(tenant=2)  # and a write
            seen.append(weakref.ref(caches["default"]))
        except BaseException as exc:
            errors.append(exc)

    for _ in range(10):
        thread = threading.Thread(target=request)
        thread.start()
        thread.join()
    assert not errors, errors
    assert len(seen) == 10
    gc.collect()
    assert [ref() for ref in seen if ref() is not None] == []


#: Backends whose keys restflow can list, so ``purge=True`` deletes old entries physically.
PURGEABLE = {"redis", "django_redis", "valkey", "django_redis_cluster", "valkey_cluster"}


@pytest.mark.parametrize("run_async", [False, True], ids=["sync", "async"])
def test_previous_versions_and_purge(matrix: str, run_async: bool) -> None:
    """A namespace at version 3 makes versions 1 and 2 unreadable, and ``purge=True``
    deletes their keys where they can be listed (with the layout on: in every shard)."""
    cache = caches["default"]
    levels = (1, 2, 3)
    items = [versioned(level)[1] for level in levels[:2]]
    current, latest = versioned(3)
    for level, item in zip(levels, [*items, latest], strict=True):
        # six entries per version: spread over the shards when the layout is on
        assert [item(n) for n in range(6)] == [f"v{level}:{n}" for n in range(6)]
    if run_async:
        asyncio.run(current.adelete_previous_versions(purge=True))
    else:
        current.delete_previous_versions(purge=True)
    assert {item.get_cache_only(n) for item in items for n in range(6)} == {CACHE_MISSING}
    assert [latest.get_cache_only(n) for n in range(6)] == [f"v3:{n}" for n in range(6)]
    left = [
        cache.get(item.get_cache_key(n), version=level)
        for level, item in zip(levels, items, strict=False)
        for n in range(6)
    ]
    if matrix in PURGEABLE:
        assert left == [None] * 12
    elif matrix == "locmem":  # left to TTL and eviction (memcached too; its tagged keys
        assert None not in left  # sit on the tag's server, which cache.get does not ask)


@pytest.mark.django_db(transaction=True)
def test_rule_save_invalidates(matrix: str) -> None:
    from invalidation_testapp.cached import CALLS, titles_of_author
    from invalidation_testapp.models import Author, Book

    CALLS.clear()
    ann, bob = Author.objects.create(name="Ann"), Author.objects.create(name="Bob")
    book = Book.objects.create(author=ann, title="A")
    Book.objects.create(author=bob, title="B")
    assert titles_of_author(ann.pk) == ["A"]
    assert titles_of_author(bob.pk) == ["B"]
    assert titles_of_author(ann.pk) == ["A"]  # a hit
    assert CALLS["titles_of_author"] == 2
    book.title = "A2"
    book.save()  # committed: the rule bumps Ann's partition only
    assert titles_of_author.get_cache_only(ann.pk) is CACHE_MISSING
    assert titles_of_author(ann.pk) == ["A2"]
    assert titles_of_author(bob.pk) == ["B"]  # still a hit
    assert CALLS["titles_of_author"] == 3


class ReportKey(KeyConstructor):
    day = ArgsKeyField("day")


def test_lock_computes_a_concurrent_miss_once(matrix: str) -> None:
    calls: Counter[str] = Counter()

    @cache_result(ReportKey, ttl=300, lock=True, lock_timeout=30)
    def report(day: int) -> str:
        calls["report"] += 1
        threading.Event().wait(0.2)  # long enough for the others to find the lock taken
        return f"report {day}"

    barrier = threading.Barrier(12)

    def worker(_: int) -> str:
        barrier.wait(30)
        return str(report(1))

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(worker, range(12)))
    assert results == ["report 1"] * 12
    assert calls["report"] == 1


URL = "/cache_testapp"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fresh_calls")
def test_cache_response_hit_and_rule(matrix: str) -> None:
    from cache_testapp.models import Author, Book

    book = Book.objects.create(title="Dune", author=Author.objects.create(name="Frank"))
    client = Client()
    first = client.get(f"{URL}/titles/{book.pk}/")
    second = client.get(f"{URL}/titles/{book.pk}/")
    assert first.status_code == second.status_code == 200
    assert json.loads(first.content) == {"title": "Dune", "n": 1}
    assert second.content == first.content  # served from the cache
    book.title = "Dune Messiah"
    book.save()
    third = client.get(f"{URL}/titles/{book.pk}/")
    assert json.loads(third.content) == {"title": "Dune Messiah", "n": 2}


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fresh_calls")
def test_async_function_and_async_view(matrix: str) -> None:
    from cache_testapp.views import CALLS

    calls: Counter[str] = Counter()

    @cache_result(TenantKey, ttl=300)
    async def aitems(tenant: Any, item: int = 0) -> str:
        calls[f"{tenant}/{item}"] += 1
        return f"{tenant}/{item}#{calls[f'{tenant}/{item}']}"

    async def scenario() -> list[Any]:
        seen: list[Any] = [await aitems(5, 1), await aitems(5, 1)]
        _, metadata = await aitems.aget_with_metadata(5, 1)
        seen.append(metadata["cache_status"])
        await aitems.adelete_by_prefix(tenant=5)
        seen.append(await aitems(5, 1))
        await aitems.ainvalidate_all()
        seen.append(await aitems(5, 1))
        client = AsyncClient()
        first = await client.get(f"{URL}/shape/async-function/")
        second = await client.get(f"{URL}/shape/async-function/")
        seen.append((first.status_code, second.content == first.content))
        return seen

    assert asyncio.run(scenario()) == ["5/1#1", "5/1#1", "HIT", "5/1#2", "5/1#3", (200, True)]
    assert CALLS["shape_async_function"] == 1  # the second request was a hit
