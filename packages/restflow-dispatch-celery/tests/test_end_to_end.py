"""Saves invalidate cached results through a real Celery worker (restflow-cache rules).

The test process and the worker share a Redis cache and the test database; rules use
``dispatcher="celery"`` and the settings block routes them to the session's queue.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from celery import Celery
from celery_testapp import cached
from celery_testapp.celery_app import current_celery_app, make_app
from celery_testapp.models import Note, Shelf, Sticker
from celery_testapp.processes import CeleryWorker
from django.db import transaction
from django.test import override_settings
from restflow_testbed.plugin import redis_cache_settings
from restflow_testbed.redis_server import RedisServer

from restflow.caching import CACHE_MISSING
from restflow.dispatch.celery import CeleryDispatcher

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]

NOTES = "celery_testapp.cached.notes_of_owner#celery_testapp.Note#0"
STARS = "celery_testapp.cached.stars_of_owner#celery_testapp.Note#0"
WAIT = 30.0


def _routed_to(queue: str) -> Any:
    block = {"DISPATCHER_SETTINGS": {"celery": {"QUEUE": queue}}}
    return override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": block})


@pytest.fixture
def shared_cache(celery_redis: RedisServer) -> Iterator[str]:
    url = celery_redis.db_url(2)
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    with override_settings(CACHES={"default": redis_cache_settings(url)}):
        yield url


@pytest.fixture
def on_worker(
    celery_worker: CeleryWorker, celery_app: Celery, celery_queue: str, shared_cache: str
) -> Iterator[CeleryWorker]:
    with _routed_to(celery_queue):
        yield celery_worker


def _eventually(check: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT
    while not check():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_committed_save_invalidates_through_the_worker(on_worker: CeleryWorker) -> None:
    note = Note.objects.create(owner_id=1, text="a")
    Note.objects.create(owner_id=2, text="b")
    before = on_worker.log().count("restflow.caching.tasks.task_run_cache_rules[")
    assert cached.notes_of_owner(1) == ["a"]
    assert cached.notes_of_owner(2) == ["b"]
    note.text = "a2"
    note.save()
    assert _eventually(lambda: cached.notes_of_owner.get_cache_only(1) is CACHE_MISSING)
    assert cached.notes_of_owner(1) == ["a2"]
    assert cached.notes_of_owner.get_cache_only(2) == ["b"]  # another partition: kept
    assert _eventually(lambda: on_worker.log().count(
        "restflow.caching.tasks.task_run_cache_rules[") > before)


def test_the_worker_rewarms_from_the_database(on_worker: CeleryWorker) -> None:
    note = Note.objects.create(owner_id=3, text="x", stars=2)
    assert cached.stars_of_owner(3) == 2
    note.stars = 5
    note.save()
    assert _eventually(lambda: cached.stars_of_owner.get_cache_only(3) == 5)


@pytest.mark.parametrize("kind", ["uuid", "str"])
def test_uuid_and_string_primary_keys_travel_as_json(on_worker: CeleryWorker, kind: str) -> None:
    if kind == "uuid":
        sticker = Sticker.objects.create(id=uuid.uuid4(), label="old")
        assert cached.sticker_label(sticker.pk) == "old"
        sticker.label = "new"
        sticker.save()
        assert _eventually(lambda: cached.sticker_label.get_cache_only(sticker.pk) is CACHE_MISSING)
        assert cached.sticker_label(sticker.pk) == "new"
    else:
        shelf = Shelf.objects.create(code="café-1", name="old")
        assert cached.shelf_name("café-1") == "old"
        shelf.name = "new"
        shelf.save()
        assert _eventually(lambda: cached.shelf_name.get_cache_only("café-1") is CACHE_MISSING)
        assert cached.shelf_name("café-1") == "new"


def _queued(url: str, queue: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        return sum(int(client.llen(key)) for key in client.scan_iter(f"{queue}*")
                   if client.type(key) == b"list")
    finally:
        client.close()


@pytest.fixture
def idle_queue(celery_app: Celery, shared_cache: str) -> Iterator[str]:
    """A queue no worker consumes: what is published stays there to be counted."""
    queue = f"restflow-idle-{uuid.uuid4().hex[:8]}"
    with _routed_to(queue):
        yield queue


def _save_then_fail(note: Note, text: str) -> None:
    with transaction.atomic():
        note.text = text
        note.save()
        raise RuntimeError("roll back")


def test_nothing_is_published_before_commit_nor_after_rollback(
    idle_queue: str, celery_redis: RedisServer
) -> None:
    broker = celery_redis.db_url(0)
    note = Note.objects.create(owner_id=4, text="t")
    with transaction.atomic():
        note.text = "t2"
        note.save()
        assert _queued(broker, idle_queue) == 0  # not before commit
    assert _queued(broker, idle_queue) == 2  # after commit: one message per rule on Note

    with pytest.raises(RuntimeError, match="roll back"):
        _save_then_fail(note, "t3")
    assert _queued(broker, idle_queue) == 2  # the rolled-back write published nothing


def test_duplicate_and_late_deliveries_leave_the_cache_consistent(
    on_worker: CeleryWorker, celery_queue: str
) -> None:
    note = Note.objects.create(owner_id=5, text="v1", stars=1)
    dispatcher = CeleryDispatcher(queue=celery_queue)
    old_job = {NOTES: {"owner_id": 5}, STARS: {"owner_id": 5}}
    runs = on_worker.log().count("succeeded in")
    note.stars = 7
    note.text = "v2"
    note.save()  # the newer write
    assert _eventually(lambda: cached.stars_of_owner.get_cache_only(5) == 7)
    assert cached.notes_of_owner(5) == ["v2"]
    # The job of the older write arrives late, twice (an at-least-once redelivery).
    for _ in range(2):
        dispatcher.dispatch(rule_ids=[NOTES, STARS], rule_kwargs=old_job,
                            model_label="celery_testapp.Note", pk=note.pk)
    # Two tasks of the newer write, then the two late ones: all done, in order.
    assert _eventually(lambda: on_worker.log().count("succeeded in") >= runs + 4)
    assert cached.stars_of_owner.get_cache_only(5) == 7  # recomputed, never stale
    assert cached.notes_of_owner(5) == ["v2"]


def test_an_unknown_rule_id_is_skipped_with_a_warning_and_the_rest_runs(
    on_worker: CeleryWorker, celery_queue: str
) -> None:
    Note.objects.create(owner_id=6, text="n")
    assert cached.notes_of_owner(6) == ["n"]
    unknown = "celery_testapp.cached.removed_in_this_release#celery_testapp.Note#0"
    CeleryDispatcher(queue=celery_queue).dispatch(
        rule_ids=[unknown, NOTES], rule_kwargs={unknown: {"x": 1}, NOTES: {"owner_id": 6}},
    )
    assert _eventually(lambda: cached.notes_of_owner.get_cache_only(6) is CACHE_MISSING)
    assert _eventually(lambda: unknown in on_worker.log())
    tail = on_worker.log().split(unknown, 1)[1]
    assert "unknown in this process" in on_worker.log()
    assert "Traceback" not in tail.split("succeeded in", 1)[0]


def test_with_the_broker_down_the_save_succeeds_and_invalidates_inline(
    private_redis: Callable[[], RedisServer], shared_cache: str, caplog: pytest.LogCaptureFixture
) -> None:
    server = private_redis()
    server.stop()
    note = Note.objects.create(owner_id=7, text="before")
    assert cached.notes_of_owner(7) == ["before"]
    with current_celery_app(make_app(server.db_url(0))), _routed_to("restflow-down"):
        note.text = "after"
        note.save()  # returns: the publish gives up, the rules run here
    assert cached.notes_of_owner.get_cache_only(7) is CACHE_MISSING
    assert cached.notes_of_owner(7) == ["after"]
    assert any("'celery' could not hand off" in r.getMessage() for r in caplog.records)
