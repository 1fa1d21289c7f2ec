"""Degrade, don't fail: a cache backend that raises never reaches the caller."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cache_testapp.views import CALLS
from django.test import Client, override_settings
from restflow_testbed.plugin import redis_cache_settings
from restflow_testbed.redis_server import RedisServer

from restflow.caching import CACHE_MISSING, ArgsKeyField, KeyConstructor, cache_result


class DayKey(KeyConstructor):
    day = ArgsKeyField("day", partition=True)


@pytest.fixture
def outage_redis(private_redis: Callable[[], RedisServer]) -> Iterator[RedisServer]:
    server = private_redis()
    with override_settings(CACHES={"default": redis_cache_settings(server.db_url(0))}):
        yield server


@pytest.mark.redis
def test_wrapped_functions_answer_while_redis_is_down(
    outage_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    calls: Counter[str] = Counter()

    @cache_result(DayKey, lock=True)
    def report(day: int) -> str:
        calls["report"] += 1
        return f"day {day} #{calls['report']}"

    assert report(1) == "day 1 #1"
    assert report(1) == "day 1 #1"
    outage_redis.stop()
    with caplog.at_level(logging.WARNING, logger="restflow.caching.storage"):
        assert report(1) == "day 1 #2"
        assert report(1) == "day 1 #3"
        assert report.get_with_metadata(1) == ("day 1 #4", None)
        assert report.get_cache_only(1) is CACHE_MISSING
        assert report.get_cached_metadata(1) is None
        assert report.refresh(1) == "day 1 #5"
    warnings = [r for r in caplog.records if "answering without the cache" in r.getMessage()]
    assert 1 <= len(warnings) <= 3  # throttled: once per operation kind, not per call
    outage_redis.start()
    assert report(1) == "day 1 #6"  # the server kept nothing: computed once more
    assert report(1) == "day 1 #6"  # and caching resumes


@pytest.mark.redis
def test_invalidation_errors_propagate(outage_redis: RedisServer) -> None:
    """Invalidation must not be lost silently: the caller (rule registry, broker) sees it."""

    @cache_result(DayKey)
    def report(day: int) -> int:
        return day

    outage_redis.stop()
    with pytest.raises(Exception):
        report.delete_by_prefix(day=1)


@pytest.mark.redis
def test_async_wrappers_answer_while_redis_is_down(outage_redis: RedisServer) -> None:
    calls: Counter[str] = Counter()

    @cache_result(DayKey)
    async def report(day: int) -> int:
        calls["report"] += 1
        return calls["report"]

    async def scenario() -> list[Any]:
        first = await report(1)
        outage_redis.stop()
        return [first, await report(1), await report.aget_cache_only(1)]

    assert asyncio.run(scenario()) == [1, 2, CACHE_MISSING]


@pytest.mark.redis
def test_cached_views_answer_while_redis_is_down(outage_redis: RedisServer) -> None:
    CALLS.clear()
    client = Client()
    assert client.get("/cache_testapp/books/5/").status_code == 200
    outage_redis.stop()
    response = client.get("/cache_testapp/books/5/")
    assert response.status_code == 200
    assert response.json()["n"] == 2
    assert "X-Cache-status" not in response  # nothing was stored, so no metadata
    CALLS.clear()


def test_a_value_that_cannot_be_pickled_is_the_callers_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Not a cache failure: the value itself cannot be stored, so the error is raised
    # (sync and async alike) rather than logged as a degraded write.
    @cache_result(DayKey)
    def handle(day: int) -> Any:
        return threading.Lock()

    @cache_result(DayKey)
    async def ahandle(day: int) -> Any:
        return threading.Lock()

    with caplog.at_level(logging.WARNING, logger="restflow.caching.storage"):
        with pytest.raises(TypeError, match="pickle"):
            handle(1)
        with pytest.raises(TypeError, match="pickle"):
            asyncio.run(ahandle(1))
    assert not caplog.records
