"""Randomized concurrent readers and writers: zero stale reads (requirement R2)."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest

from restflow.caching import ArgsKeyField, KeyConstructor, cache_result

TENANTS = (1, 2, 3)


class StressKey(KeyConstructor):
    tenant = ArgsKeyField("tenant", partition=True)
    view = ArgsKeyField("view")


@pytest.mark.redis
@pytest.mark.parametrize("backend", ["locmem", "redis", "django_redis"], indirect=True)
def test_no_stale_reads_under_concurrency(backend: str) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    db = dict.fromkeys(TENANTS, 0)
    committed = dict.fromkeys(TENANTS, 0)  # versions whose invalidation has completed
    lock = threading.Lock()
    stale: list[tuple[Any, ...]] = []
    errors: list[BaseException] = []
    reads = [0]

    @cache_result(StressKey, ttl=60)
    def load(tenant: int, view: int = 0) -> int:
        value = db[tenant]
        time.sleep(rng.random() / 2000)  # widen the compute window
        return value

    def writer(n: int) -> None:
        local = random.Random(seed + n)
        for _ in range(60):
            tenant = local.choice(TENANTS)
            with lock:
                db[tenant] += 1
                version = db[tenant]
            if local.random() < 0.5:
                load.delete_by_prefix(tenant=tenant)
            else:
                StressKey.wipe(tenant=tenant)
            with lock:
                committed[tenant] = max(committed[tenant], version)
            time.sleep(local.random() / 1000)

    def reader(n: int) -> None:
        local = random.Random(seed * 7 + n)
        for _ in range(250):
            tenant = local.choice(TENANTS)
            view = local.randrange(3)
            with lock:
                floor = committed[tenant]
            value = load(tenant, view)
            reads[0] += 1
            if value < floor:
                stale.append((tenant, view, value, floor))

    def guarded(target: Any, n: int) -> None:
        try:
            target(n)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(writer, n)) for n in range(2)]
    threads += [threading.Thread(target=guarded, args=(reader, n)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert reads[0] == 8 * 250
    assert stale == [], f"stale reads with seed {seed}: {stale[:5]}"
    for tenant in TENANTS:  # and the cache converges on the last committed values
        assert load(tenant, 0) == db[tenant]
