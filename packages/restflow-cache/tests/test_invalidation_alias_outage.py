"""One unreachable cache alias must not stop invalidation on the healthy ones.

The ``down`` alias is a real private Redis that is stopped; its rule is registered
before the rule of the healthy alias, so its scopes come first in the bump.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from django.core.cache import caches
from django.test import override_settings
from invalidation_helpers import reset_state
from invalidation_testapp.models import Author, Book
from restflow_testbed.plugin import redis_cache_settings
from restflow_testbed.redis_server import RedisServer

from restflow.caching import CACHE_MISSING, ArgsKeyField, InvalidationRule, cache_result
from restflow.caching import scopes as storage
from restflow.caching.registry import CacheRegister

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]

BY_AUTHOR = {"fields": {"author": ArgsKeyField("author_id", partition=True)}}
LOCMEM = "django.core.cache.backends.locmem.LocMemCache"


@pytest.fixture
def down(private_redis: Callable[[], RedisServer]) -> Iterator[RedisServer]:
    """``CACHES["down"]``: a Redis that is stopped; ``healthy``: local memory."""
    server = private_redis()
    conf = {
        "default": {"BACKEND": LOCMEM, "LOCATION": "outage-default"},
        "down": redis_cache_settings(server.db_url(0)),
        "healthy": {"BACKEND": LOCMEM, "LOCATION": "outage-healthy"},
    }
    with override_settings(CACHES=conf):
        reset_state()
        server.stop()
        yield server
        caches["down"].close()


@pytest.fixture
def pair() -> Iterator[Callable[..., tuple[Any, Any]]]:
    made: list[Any] = []

    def make(raise_exception: bool | None = None) -> tuple[Any, Any]:
        def on_down(author_id: Any) -> int:
            return int(author_id)

        def on_healthy(author_id: Any) -> list[str]:
            return sorted(Book.objects.filter(author_id=author_id).values_list("title", flat=True))

        rule = {"model": Book, "field_mapping": {"author_id": "author_id"}}
        first = cache_result(BY_AUTHOR, cache_alias="down", invalidates_on=[
            InvalidationRule(**rule, raise_exception=raise_exception)])(on_down)
        second = cache_result(BY_AUTHOR, cache_alias="healthy", invalidates_on=[
            InvalidationRule(**rule)])(on_healthy)
        made.extend((first, second))
        return first, second

    yield make
    for wrapper in made:
        CacheRegister.unregister(wrapper)


@pytest.fixture
def book() -> Book:
    return Book.objects.create(author=Author.objects.create(name="Ann"), title="one")


def test_a_save_invalidates_the_healthy_alias_and_logs_the_down_one(
    down: RedisServer, pair: Callable[..., tuple[Any, Any]], book: Book, caplog: Any
) -> None:
    _, healthy = pair()
    assert healthy(book.author_id) == ["one"]
    book.title = "uno"
    with caplog.at_level(logging.WARNING, logger="restflow.caching.registry"):
        book.save()
    assert healthy.get_cache_only(book.author_id) is CACHE_MISSING
    assert healthy(book.author_id) == ["uno"]
    failures = [r.getMessage() for r in caplog.records if "Cache delete failed" in r.getMessage()]
    assert any("'down'" in message and "on_down" in message for message in failures), failures
    assert not any("on_healthy" in message for message in failures), failures


def test_a_rule_that_asks_to_raise_still_lets_the_healthy_alias_be_bumped(
    down: RedisServer, pair: Callable[..., tuple[Any, Any]], book: Book
) -> None:
    _, healthy = pair(raise_exception=True)
    assert healthy(book.author_id) == ["one"]
    book.title = "uno"
    with pytest.raises(redis.ConnectionError) as raised:
        book.save()  # autocommit: the inline job's error reaches the save
    assert any("'down'" in note for note in getattr(raised.value, "__notes__", []))
    assert healthy.get_cache_only(book.author_id) is CACHE_MISSING
    assert healthy(book.author_id) == ["uno"]


def _targets() -> list[storage.Target]:
    return [("down", 1, "restflow:gen:fn:a", 600), ("healthy", 1, "restflow:gen:fn:b", 600)]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_bump_targets_writes_every_healthy_alias_then_raises(
    down: RedisServer, mode: str
) -> None:
    healthy = caches["healthy"]
    healthy.set("restflow:gen:fn:b", 1, version=1)
    def bump() -> None:
        if mode == "sync":
            storage.bump_targets(_targets())
        else:
            asyncio.run(storage.abump_targets(_targets()))

    with pytest.raises(redis.ConnectionError) as raised:
        bump()
    assert healthy.get("restflow:gen:fn:b", version=1) not in (None, 1)
    notes = getattr(raised.value, "__notes__", [])
    assert any("'down'" in note and "'healthy'" not in note for note in notes), notes
