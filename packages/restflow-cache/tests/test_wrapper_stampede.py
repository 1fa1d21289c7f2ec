"""``lock=True``: concurrent misses of one key compute once (stampede control)."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from typing import Any

import pytest
from django.core.cache import caches

from restflow.caching import ArgsKeyField, KeyConstructor, cache_result, stampede


class ReportKey(KeyConstructor):
    day = ArgsKeyField("day")


def slow_report(calls: Counter[str], gate: threading.Event, **options: Any) -> Any:
    @cache_result(ReportKey, **options)
    def report(day: int) -> str:
        calls["report"] += 1
        gate.wait(0.3)  # a slow computation; never set, so it always takes the full window
        return f"report {day}"

    return report


def hold_lock(report: Any, day: int, holder: str, timeout: int) -> None:
    """Take the lock of ``report(day)`` as another process would, for ``timeout`` seconds."""
    key = report.get_cache_key(day)
    assert caches["default"].add(stampede.lock_key(key), holder, timeout=timeout, version=1)


@pytest.mark.redis
@pytest.mark.parametrize("backend", ["locmem", "redis", "django_redis"], indirect=True)
def test_64_concurrent_misses_compute_once(backend: str) -> None:
    calls: Counter[str] = Counter()
    report = slow_report(calls, threading.Event(), lock=True, lock_timeout=30)
    barrier = threading.Barrier(64)
    results: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait(30)
            results.append(report(1))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert results == ["report 1"] * 64
    assert calls["report"] == 1


def test_without_lock_misses_compute_concurrently() -> None:
    entered = threading.Semaphore(0)
    both_inside = threading.Event()
    calls: Counter[str] = Counter()

    @cache_result(ReportKey)
    def report(day: int) -> str:
        calls["report"] += 1
        entered.release()
        both_inside.wait(30)
        return f"report {day}"

    threads = [threading.Thread(target=report, args=(1,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    assert entered.acquire(timeout=30)
    assert entered.acquire(timeout=30)  # the second miss computes while the first still runs
    both_inside.set()
    for thread in threads:
        thread.join(30)
    assert calls["report"] == 2


def test_lock_of_a_dead_holder_expires() -> None:
    calls: Counter[str] = Counter()
    report = slow_report(calls, threading.Event(), lock=True, lock_timeout=30)
    hold_lock(report, 2, "dead", timeout=1)  # a holder that died: its lock expires in 1 s
    assert report(2) == "report 2"
    assert calls["report"] == 1


def test_wait_is_bounded() -> None:
    calls: Counter[str] = Counter()
    report = slow_report(calls, threading.Event(), lock=True, lock_timeout=0.2)
    hold_lock(report, 3, "stuck", timeout=300)
    assert report(3) == "report 3"  # gave up waiting and computed
    assert report(3) == "report 3"  # and stored the result
    assert calls["report"] == 1


def test_async_concurrent_misses_compute_once() -> None:
    calls: Counter[str] = Counter()

    @cache_result(ReportKey, lock=True, lock_timeout=30)
    async def report(day: int) -> str:
        calls["report"] += 1
        await asyncio.sleep(0.2)
        return f"report {day}"

    async def scenario() -> list[str]:
        return list(await asyncio.gather(*(report(1) for _ in range(16))))

    assert asyncio.run(scenario()) == ["report 1"] * 16
    assert calls["report"] == 1
