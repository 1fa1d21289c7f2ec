"""Saves invalidate cached results through a real ``rqworker`` (restflow-cache rules).

The test process and the worker share a Redis cache and the test database; rules use
``dispatcher="django_rq"`` and the settings block routes them to the session's queue.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from django.db import transaction
from django.test import override_settings
from restflow_testbed.plugin import redis_cache_settings
from restflow_testbed.redis_server import RedisServer
from rq_testapp import cached
from rq_testapp.models import Note, Shelf, Sticker
from rq_testapp.processes import RqWorker

from restflow.caching import CACHE_MISSING
from restflow.dispatch.django_rq import DjangoRqDispatcher

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]

NOTES = "rq_testapp.cached.notes_of_owner#rq_testapp.Note#0"
STARS = "rq_testapp.cached.stars_of_owner#rq_testapp.Note#0"
WAIT = 30.0


def _routed_to(queue: str) -> Any:
    block = {"DISPATCHER_SETTINGS": {"django_rq": {"QUEUE": queue}}}
    return override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": block})


@pytest.fixture
def shared_cache(rq_redis: RedisServer) -> Iterator[str]:
    url = rq_redis.db_url(2)
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    with override_settings(CACHES={"default": redis_cache_settings(url)}):
        yield url


@pytest.fixture
def on_worker(
    rq_worker: RqWorker, rq_settings: dict[str, Any], rq_queue: str, shared_cache: str
) -> Iterator[RqWorker]:
    with _routed_to(rq_queue):
        yield rq_worker


def _eventually(check: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT
    while not check():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def _jobs_ok(worker: RqWorker) -> int:
    return worker.log().count(": Job OK (")


def test_a_committed_save_invalidates_through_the_worker(on_worker: RqWorker) -> None:
    note = Note.objects.create(owner_id=1, text="a")
    Note.objects.create(owner_id=2, text="b")
    before = _jobs_ok(on_worker)
    assert cached.notes_of_owner(1) == ["a"]
    assert cached.notes_of_owner(2) == ["b"]
    note.text = "a2"
    note.save()
    assert _eventually(lambda: cached.notes_of_owner.get_cache_only(1) is CACHE_MISSING)
    assert cached.notes_of_owner(1) == ["a2"]
    assert cached.notes_of_owner.get_cache_only(2) == ["b"]  # another partition: kept
    assert _eventually(lambda: _jobs_ok(on_worker) > before)
    assert "restflow.caching.tasks.run_cache_rules" in on_worker.log()


def test_the_worker_rewarms_from_the_database(on_worker: RqWorker) -> None:
    note = Note.objects.create(owner_id=3, text="x", stars=2)
    assert cached.stars_of_owner(3) == 2
    note.stars = 5
    note.save()
    assert _eventually(lambda: cached.stars_of_owner.get_cache_only(3) == 5)


@pytest.mark.parametrize("kind", ["uuid", "str"])
def test_uuid_and_string_primary_keys_travel_as_json(on_worker: RqWorker, kind: str) -> None:
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
        return int(client.llen(f"rq:queue:{queue}"))
    finally:
        client.close()


def _save_then_fail(note: Note, text: str) -> None:
    with transaction.atomic():
        note.text = text
        note.save()
        raise RuntimeError("roll back")


def test_nothing_is_enqueued_before_commit_nor_after_rollback(
    rq_redis: RedisServer, shared_cache: str
) -> None:
    queue = f"restflow-idle-{uuid.uuid4().hex[:8]}"  # no worker: jobs stay to be counted
    url = rq_redis.db_url(0)
    note = Note.objects.create(owner_id=4, text="t")
    with override_settings(RQ_QUEUES={queue: {"URL": url}}), _routed_to(queue):
        with transaction.atomic():
            note.text = "t2"
            note.save()
            assert _queued(url, queue) == 0  # not before commit
        assert _queued(url, queue) == 2  # after commit: one job per rule on Note

        with pytest.raises(RuntimeError, match="roll back"):
            _save_then_fail(note, "t3")
        assert _queued(url, queue) == 2  # the rolled-back write enqueued nothing


def test_duplicate_and_late_deliveries_leave_the_cache_consistent(
    on_worker: RqWorker, rq_queue: str
) -> None:
    note = Note.objects.create(owner_id=5, text="v1", stars=1)
    dispatcher = DjangoRqDispatcher(queue=rq_queue)
    old_job = {NOTES: {"owner_id": 5}, STARS: {"owner_id": 5}}
    runs = _jobs_ok(on_worker)
    note.stars = 7
    note.text = "v2"
    note.save()  # the newer write
    assert _eventually(lambda: cached.stars_of_owner.get_cache_only(5) == 7)
    assert cached.notes_of_owner(5) == ["v2"]
    # The job of the older write arrives late, twice (an at-least-once redelivery).
    for _ in range(2):
        dispatcher.dispatch(rule_ids=[NOTES, STARS], rule_kwargs=old_job,
                            model_label="rq_testapp.Note", pk=note.pk)
    # Two jobs of the newer write, then the two late ones: all done, in order.
    assert _eventually(lambda: _jobs_ok(on_worker) >= runs + 4)
    assert cached.stars_of_owner.get_cache_only(5) == 7  # recomputed, never stale
    assert cached.notes_of_owner(5) == ["v2"]


def test_an_unknown_rule_id_is_skipped_with_a_warning_and_the_rest_runs(
    on_worker: RqWorker, rq_queue: str
) -> None:
    Note.objects.create(owner_id=6, text="n")
    assert cached.notes_of_owner(6) == ["n"]
    unknown = "rq_testapp.cached.removed_in_this_release#rq_testapp.Note#0"
    DjangoRqDispatcher(queue=rq_queue).dispatch(
        rule_ids=[unknown, NOTES], rule_kwargs={unknown: {"x": 1}, NOTES: {"owner_id": 6}},
    )
    assert _eventually(lambda: cached.notes_of_owner.get_cache_only(6) is CACHE_MISSING)
    assert _eventually(lambda: "unknown in this process" in on_worker.log())
    assert "Traceback" not in on_worker.log().split(unknown, 1)[1]


def test_with_redis_down_the_save_succeeds_and_invalidates_inline(
    private_redis: Callable[[], RedisServer], shared_cache: str, caplog: pytest.LogCaptureFixture
) -> None:
    server = private_redis()
    server.stop()
    note = Note.objects.create(owner_id=7, text="before")
    assert cached.notes_of_owner(7) == ["before"]
    with override_settings(RQ_QUEUES={"restflow-down": {"URL": server.db_url(0)}}), \
            _routed_to("restflow-down"):
        note.text = "after"
        note.save()  # returns: the enqueue gives up, the rules run here
    assert cached.notes_of_owner.get_cache_only(7) is CACHE_MISSING
    assert cached.notes_of_owner(7) == ["after"]
    assert any("'django_rq' could not hand off" in r.getMessage() for r in caplog.records)
