"""End-to-end scenarios every broker dispatcher runs against its real worker process.

A save in the test process leaves a job for after its commit; the broker dispatcher
publishes it; a real worker process runs it; the Redis cache shared by both shows the
effect. The scenarios use the test app each broker package declares with
:mod:`restflow_testbed.broker_app`. A package's test module subclasses
:class:`BrokerEndToEnd`::

    class TestCeleryEndToEnd(BrokerEndToEnd):
        dispatcher = "celery"
        cached = celery_testapp.cached

        @pytest.fixture
        def e2e_live(self, celery_worker, ...) -> LiveWorker: ...   # the running worker
        def published(self, queue): ...        # the jobs waiting on a queue nobody consumes
        def unreachable_broker(self): ...      # the producer pointed at a dead broker

Routing goes through restflow's settings block of the dispatcher (``QUEUE``, or
``CLUSTER`` for django-q): the live queue is the worker's, an *idle* queue (a fresh name
per test, no worker) keeps what was published so that it can be read. The block also
sets a generous ``PUBLISH_TIMEOUT``: a publish that gives up runs the job inline, which
would make these scenarios pass without the broker; on a loaded machine the dispatcher's
2 s default can be reached, so here it is a deadline far above any healthy publish, and
a scenario fails outright if restflow fell back (the publish-timeout behaviour itself is
tested by each package's fault tests).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import uuid
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any, ClassVar

import pytest
import redis
from django.db import transaction
from django.test import override_settings

from restflow.caching import CACHE_MISSING
from restflow.dispatch.registry import get_dispatcher
from restflow_testbed.broker_app import rule_id
from restflow_testbed.plugin import redis_cache_settings
from restflow_testbed.worker_process import wait_until

__all__ = ["BrokerEndToEnd", "Job", "LiveWorker", "shared_cache"]

#: Deadline (seconds) of one publish in these scenarios (see the module docstring).
PUBLISH_DEADLINE = 20.0

#: A published job: its rule ids and the keyword arguments of each rule.
Job = tuple[list[str], dict[str, Any]]


@contextlib.contextmanager
def shared_cache(url: str) -> Iterator[str]:
    """Empty the Redis cache the workers use and make it this process's default cache."""
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()
    with override_settings(CACHES={"default": redis_cache_settings(url)}):
        yield url


@dataclasses.dataclass(frozen=True)
class LiveWorker:
    """The worker of the session, as the scenarios see it."""

    queue: str  # the queue (django-q: cluster) it consumes
    cache_url: str  # the Redis cache it shares with the test process
    log: Callable[[], str]  # its output so far


def _save_then_fail(instance: Any, **changes: Any) -> None:
    with transaction.atomic():
        for name, value in changes.items():
            setattr(instance, name, value)
        instance.save()
        raise RuntimeError("roll back")


def _fallbacks(records: list[logging.LogRecord]) -> list[str]:
    """What restflow logged at ERROR (a job it could not hand off, run inline instead)."""
    return [r.getMessage() for r in records
            if r.levelno >= logging.ERROR and r.name.startswith("restflow")]


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
class BrokerEndToEnd:
    """Scenarios of restflow-cache rules on a broker dispatcher. Subclass; fill the hooks."""

    #: The registered dispatcher name under test (the test app's rules use it).
    dispatcher: ClassVar[str] = ""
    #: The test app's ``cached`` module (see :func:`restflow_testbed.broker_app.declare_cached`).
    cached: ClassVar[ModuleType]
    #: The dispatcher option that names the destination queue.
    queue_option: ClassVar[str] = "queue"

    live: LiveWorker
    #: Set by a scenario that expects restflow to run a job inline.
    expects_fallback: bool = False

    # -- hooks ---------------------------------------------------------------------------

    @pytest.fixture
    def e2e_live(self) -> LiveWorker:
        """The session's running worker (override as a fixture)."""
        raise NotImplementedError

    def published(self, queue: str) -> list[Job]:
        """The jobs waiting on ``queue``, which no worker consumes, oldest first."""
        raise NotImplementedError

    @contextlib.contextmanager
    def unreachable_broker(self) -> Iterator[None]:
        """Make this process publish to a broker that is down."""
        raise NotImplementedError
        yield

    def routing(self, queue: str) -> dict[str, Any]:
        """The dispatcher's settings block that routes the rules' jobs to ``queue``."""
        return {self.queue_option.upper(): queue, "PUBLISH_TIMEOUT": PUBLISH_DEADLINE}

    @contextlib.contextmanager
    def producer_knows(self, queue: str) -> Iterator[None]:
        """Whatever else this process needs to publish to ``queue`` (django-rq: RQ_QUEUES)."""
        yield

    # -- helpers -------------------------------------------------------------------------

    @contextlib.contextmanager
    def routed_to(self, queue: str) -> Iterator[None]:
        block = {"DISPATCHER_SETTINGS": {self.dispatcher: self.routing(queue)}}
        with self.producer_knows(queue), \
                override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": block}):
            yield

    def idle_queue(self) -> str:
        return f"restflow-idle-{uuid.uuid4().hex[:10]}"

    def send(self, queue: str, job: Job) -> None:
        """Publish ``job`` to ``queue`` as the dispatcher would (a redelivery, say)."""
        options = {self.queue_option: queue, "publish_timeout": PUBLISH_DEADLINE}
        rule_ids, rule_kwargs = job
        get_dispatcher(self.dispatcher, options).dispatch(rule_ids=rule_ids,
                                                          rule_kwargs=rule_kwargs)

    def rule(self, name: str, model: str = "Note", index: int = 0) -> str:
        return rule_id(getattr(self.cached, name), getattr(self.cached, model), index)

    # -- set-up --------------------------------------------------------------------------

    @pytest.fixture(autouse=True)
    def _e2e(self, e2e_live: LiveWorker, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
        self.live = e2e_live
        with shared_cache(e2e_live.cache_url), self.routed_to(e2e_live.queue):
            yield
        if not self.expects_fallback:
            ran_inline = _fallbacks(caplog.get_records("setup") + caplog.get_records("call"))
            assert ran_inline == [], "a job ran inline instead of through the broker"

    # -- the scenarios -------------------------------------------------------------------

    def test_nothing_is_published_before_commit_and_each_rule_after(self) -> None:
        note = self.cached.Note.objects.create(owner_id=4, text="t")
        queue = self.idle_queue()
        with self.routed_to(queue):
            with transaction.atomic():
                note.text = "t2"
                note.save()
                assert self.published(queue) == []  # not before commit
            jobs = self.published(queue)
        notes, stars = self.rule("notes_of_owner"), self.rule("stars_of_owner")
        # One job per rule on Note, each with the JSON kwargs of its scope.
        assert sorted(jobs) == [([notes], {notes: {"owner_id": 4}}),
                                ([stars], {stars: {"owner_id": 4}})]

    def test_a_rolled_back_write_publishes_nothing(self) -> None:
        note = self.cached.Note.objects.create(owner_id=4, text="t")
        assert self.cached.notes_of_owner(4) == ["t"]
        queue = self.idle_queue()
        with self.routed_to(queue):
            with pytest.raises(RuntimeError, match="roll back"):
                _save_then_fail(note, text="t3")
            assert self.published(queue) == []
        assert self.cached.notes_of_owner.get_cache_only(4) == ["t"]

    def test_a_committed_save_invalidates_through_the_worker(self) -> None:
        cached = self.cached
        note = cached.Note.objects.create(owner_id=1, text="a")
        cached.Note.objects.create(owner_id=2, text="b")
        assert cached.notes_of_owner(1) == ["a"]
        assert cached.notes_of_owner(2) == ["b"]
        with transaction.atomic():
            note.text = "a2"
            note.save()
            assert cached.notes_of_owner.get_cache_only(1) == ["a"]  # nothing before commit
        assert wait_until(lambda: cached.notes_of_owner.get_cache_only(1) is CACHE_MISSING), (
            "the worker never dropped the entry")
        assert cached.notes_of_owner(1) == ["a2"]
        assert cached.notes_of_owner.get_cache_only(2) == ["b"]  # another partition: kept

    def test_the_worker_rewarms_from_the_database(self) -> None:
        note = self.cached.Note.objects.create(owner_id=3, text="x", stars=2)
        assert self.cached.stars_of_owner(3) == 2
        note.stars = 5
        note.save()
        assert wait_until(lambda: self.cached.stars_of_owner.get_cache_only(3) == 5)

    @pytest.mark.parametrize("kind", ["uuid", "str"])
    def test_uuid_and_string_primary_keys_travel_as_json_strings(self, kind: str) -> None:
        cached = self.cached
        if kind == "uuid":
            obj: Any = cached.Sticker.objects.create(id=uuid.uuid4(), label="old")
            func, key, arg, field = cached.sticker_label, "sticker_id", obj.pk, "label"
            model = "Sticker"
        else:
            obj = cached.Shelf.objects.create(code="café/1 é", name="old")
            func, key, arg, field = cached.shelf_name, "code", obj.pk, "name"
            model = "Shelf"
        assert func(arg) == "old"
        queue = self.idle_queue()
        with self.routed_to(queue):  # what travels
            setattr(obj, field, "mid")
            obj.save()
        ruled = self.rule(func.__name__, model)
        assert self.published(queue) == [([ruled], {ruled: {key: str(obj.pk)}})]
        setattr(obj, field, "new")
        obj.save()  # and what the worker makes of it
        assert wait_until(lambda: func.get_cache_only(arg) is CACHE_MISSING)
        assert func(arg) == "new"

    def test_duplicate_and_late_deliveries_leave_the_cache_consistent(self) -> None:
        cached = self.cached
        note = cached.Note.objects.create(owner_id=5, text="v1", stars=1)
        assert cached.stars_of_owner(5) == 1
        queue = self.idle_queue()
        with self.routed_to(queue):  # the job of an older write, kept aside
            note.stars = 3
            note.save()
        stars = self.rule("stars_of_owner")
        [old_job] = [job for job in self.published(queue) if job[0] == [stars]]
        note.stars = 7
        note.save()  # the newer write, through the worker
        assert wait_until(lambda: cached.stars_of_owner.get_cache_only(5) == 7)
        # The older job arrives late, twice (an at-least-once redelivery), followed by a
        # marker job on the same queue: the worker runs one queue in order, so once the
        # marker's entry is gone both late jobs have run.
        marker = cached.Note.objects.create(owner_id=50, text="m")
        assert cached.notes_of_owner(50) == ["m"]
        notes = self.rule("notes_of_owner")
        for _ in range(2):
            self.send(self.live.queue, old_job)
        self.send(self.live.queue, ([notes], {notes: {"owner_id": marker.owner_id}}))
        seen: set[Any] = set()

        def settled() -> bool:
            value = cached.stars_of_owner.get_cache_only(5)
            seen.add(value)
            return cached.notes_of_owner.get_cache_only(50) is CACHE_MISSING and value == 7

        assert wait_until(settled), f"the late jobs did not settle (seen {seen})"
        # Each late job drops the entry and recomputes it from the database: the entry may
        # be missing for a moment, never stale.
        assert seen <= {7, CACHE_MISSING}
        assert cached.stars_of_owner(5) == 7

    def test_an_unknown_function_in_a_job_is_skipped_with_a_warning_and_the_rest_runs(
        self,
    ) -> None:
        cached = self.cached
        cached.Note.objects.create(owner_id=6, text="n")
        assert cached.notes_of_owner(6) == ["n"]
        unknown = f"{cached.__name__}.removed_in_this_release#{cached.Note._meta.label}#0"
        notes = self.rule("notes_of_owner")
        self.send(self.live.queue,
                  ([unknown, notes], {unknown: {"x": 1}, notes: {"owner_id": 6}}))
        assert wait_until(lambda: cached.notes_of_owner.get_cache_only(6) is CACHE_MISSING)
        assert wait_until(lambda: f"{unknown} is unknown in this process" in self.live.log())
        tail = self.live.log().split(unknown, 1)[1]
        assert "could not be imported; skipped" in tail
        assert "Traceback" not in tail

    def test_an_unknown_rule_of_a_known_function_invalidates_the_whole_function(self) -> None:
        cached = self.cached
        first = cached.Note.objects.create(owner_id=8, text="a")
        cached.Note.objects.create(owner_id=9, text="b")
        assert (cached.notes_of_owner(8), cached.notes_of_owner(9)) == (["a"], ["b"])
        # A rule the web process has and the worker does not (a newer deploy, say).
        skewed = self.rule("notes_of_owner", index=99)
        self.send(self.live.queue, ([skewed], {skewed: {"owner_id": 8}}))
        assert wait_until(lambda: cached.notes_of_owner.get_cache_only(8) is CACHE_MISSING
                          and cached.notes_of_owner.get_cache_only(9) is CACHE_MISSING)
        assert wait_until(lambda: f"{skewed} is unknown in this process" in self.live.log())
        # The worker keeps working.
        assert cached.notes_of_owner(8) == ["a"]
        first.text = "a2"
        first.save()
        assert wait_until(lambda: cached.notes_of_owner.get_cache_only(8) is CACHE_MISSING)
        assert cached.notes_of_owner(8) == ["a2"]

    def test_with_the_broker_down_the_save_succeeds_and_invalidates_inline(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        self.expects_fallback = True
        cached = self.cached
        note = cached.Note.objects.create(owner_id=7, text="before")
        assert cached.notes_of_owner(7) == ["before"]
        with self.unreachable_broker():
            note.text = "after"
            note.save()  # returns: the publish gives up, the rules run here
        assert cached.notes_of_owner.get_cache_only(7) is CACHE_MISSING
        assert cached.notes_of_owner(7) == ["after"]
        assert any(f"{self.dispatcher!r} could not hand off" in message
                   for message in _fallbacks(caplog.records))
