"""A conformance kit every dispatcher runs to prove it behaves like the others.

Subclass :class:`DispatcherConformance` in a pytest module of your dispatcher's tests::

    from restflow.dispatch.testing import DispatcherConformance

    class TestOutboxConformance(DispatcherConformance):
        dispatcher = "outbox"            # the registered name

The kit routes jobs to :func:`record_job` (a worker entry that appends each job to a
journal file named by the ``RESTFLOW_CONFORMANCE_JOURNAL`` environment variable) and
checks, against whatever runtime the dispatcher uses (the calling thread, a pool, an
event loop, a real broker and its worker process):

* the dispatcher is discoverable under its name;
* every job is delivered exactly once, with its payload intact;
* batched rule ids arrive in one job (when the dispatcher batches);
* a payload that is not JSON-native is refused before it is handed off;
* a failed hand-off runs the job inline (default policy) or raises ``DispatchError``
  (``fallback="raise"``), and never loses it silently;
* the worker resolves the error policy under the dispatcher's own name.

Broker dispatchers override :meth:`dispatcher_config` (to point the broker at
:func:`record_job`), :meth:`broken_handoff` (to make the broker unreachable) and set
``runs_in_other_process = True``; the worker process must see the same
``RESTFLOW_CONFORMANCE_JOURNAL`` (start it after requesting the ``conformance_journal``
fixture, which sets the variable for the session).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from unittest import mock

import pytest

from restflow.dispatch.base import (
    Dispatcher,
    DispatchError,
    PayloadError,
    resolve_raise_exception,
)
from restflow.dispatch.broker import DEFAULT_PUBLISH_TIMEOUT, BrokerDispatcher
from restflow.dispatch.registry import get_dispatcher, registered_dispatcher_names

__all__ = [
    "JOURNAL_ENV",
    "BrokerDispatcherConformance",
    "DispatcherConformance",
    "Journal",
    "RequestedFailure",
    "arecord_job",
    "record_job",
]

JOURNAL_ENV = "RESTFLOW_CONFORMANCE_JOURNAL"
RECORD_JOB_PATH = "restflow.dispatch.testing.record_job"
ARECORD_JOB_PATH = "restflow.dispatch.testing.arecord_job"

logger = logging.getLogger("restflow.dispatch.testing")


class RequestedFailure(RuntimeError):
    """Raised by :func:`record_job` for a job that asks to fail."""


def record_job(
    rule_ids: list[str],
    rule_kwargs: dict[str, dict[str, Any]],
    *,
    dispatcher_name: str | None = None,
    context: dict[str, Any] | None = None,
    **extra: Any,
) -> None:
    """Worker entry of the kit: append the job to the journal, fail when asked to."""
    fail = any(isinstance(kw, dict) and kw.get("__fail__") for kw in rule_kwargs.values())
    raised = resolve_raise_exception(dispatcher_name) if fail else False
    entry = {
        "rule_ids": list(rule_ids),
        "rule_kwargs": rule_kwargs,
        "dispatcher_name": dispatcher_name,
        "fallback": (context or {}).get("fallback"),
        "pid": os.getpid(),
        "raised": raised,
    }
    line = json.dumps(entry, sort_keys=True) + "\n"
    path = os.environ[JOURNAL_ENV]
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
    if fail:
        if raised:
            raise RequestedFailure(f"job {rule_ids} asked to fail")
        logger.error("job %s failed (swallowed by the error policy)", rule_ids)


async def arecord_job(
    rule_ids: list[str],
    rule_kwargs: dict[str, dict[str, Any]],
    *,
    dispatcher_name: str | None = None,
    context: dict[str, Any] | None = None,
    **extra: Any,
) -> None:
    """Async twin of :func:`record_job` (for dispatchers that run coroutines)."""
    record_job(rule_ids, rule_kwargs, dispatcher_name=dispatcher_name, context=context)


class Journal:
    """Reads the jobs :func:`record_job` wrote."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def jobs(self, token: str | None = None) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        text = self.path.read_text()
        # Only whole lines: a worker may be writing the last one while it is read (the
        # rest of it is read at the next poll).
        complete = text[: text.rfind("\n") + 1]
        entries = [json.loads(line) for line in complete.splitlines() if line]
        if token is None:
            return entries
        return [e for e in entries if any(token in rule_id for rule_id in e["rule_ids"])]

    def wait_for(self, token: str, count: int, timeout: float) -> list[dict[str, Any]]:
        """Poll until ``count`` jobs carrying ``token`` arrived, or until ``timeout`` seconds
        passed without a new one.

        The deadline restarts at each arrival: a worker that is slow but delivering (a
        loaded machine, a batch of many jobs) is waited for, while a lost job still ends
        the wait ``timeout`` seconds after the last one arrived.
        """
        deadline = time.monotonic() + timeout
        arrived = 0
        while True:
            found = self.jobs(token)
            if len(found) >= count:
                return found
            if len(found) > arrived:
                arrived = len(found)
                deadline = time.monotonic() + timeout
            elif time.monotonic() >= deadline:
                return found
            time.sleep(0.02)


@pytest.fixture(scope="session")
def conformance_journal() -> Iterator[Journal]:
    """The session's journal file; sets ``RESTFLOW_CONFORMANCE_JOURNAL`` for workers.

    Each conftest that imports this fixture gets its own instance; the variable is
    process-wide, so every instance after the first shares the first one's file.
    """
    shared = os.environ.get(JOURNAL_ENV)
    if shared:
        yield Journal(Path(shared))
        return
    directory = Path(tempfile.mkdtemp(prefix="restflow-conformance-"))
    path = directory / "journal.jsonl"
    previous = os.environ.get(JOURNAL_ENV)
    os.environ[JOURNAL_ENV] = str(path)
    try:
        yield Journal(path)
    finally:
        if previous is None:
            os.environ.pop(JOURNAL_ENV, None)
        else:
            os.environ[JOURNAL_ENV] = previous
        with contextlib.suppress(OSError):
            path.unlink()
            directory.rmdir()


class DispatcherConformance:
    """Behaviour every dispatcher must show. Subclass it; set :attr:`dispatcher`."""

    #: The registered dispatcher name under test.
    dispatcher: ClassVar[str] = ""
    #: Whether jobs run in another process (a broker's worker).
    runs_in_other_process: ClassVar[bool] = False
    #: Upper bound of the wait for the next expected job to arrive, in seconds.
    delivery_timeout: ClassVar[float] = 20.0
    #: After the expected jobs arrived, how long to keep watching for duplicates.
    duplicate_watch: ClassVar[float] = 0.5

    # -- hooks -------------------------------------------------------------------------

    def dispatcher_config(self) -> dict[str, Any]:
        """Per-rule config that routes jobs to :func:`record_job`."""
        return {"function_path": RECORD_JOB_PATH, "async_function_path": ARECORD_JOB_PATH}

    @contextlib.contextmanager
    def broken_handoff(self, dispatcher: Dispatcher) -> Iterator[None]:
        """Make the hand-off fail (default: the protected hook raises ConnectionError)."""
        error = ConnectionError("conformance kit: the runtime is unreachable")
        with mock.patch.object(type(dispatcher), "_dispatch", side_effect=error):
            yield

    def settle(self) -> None:
        """Wait for in-process runtimes to finish their queued work (pools, loops)."""

    # -- helpers -----------------------------------------------------------------------

    def make_dispatcher(self, **extra: Any) -> Dispatcher:
        return get_dispatcher(self.dispatcher, {**self.dispatcher_config(), **extra})

    def send(self, dispatcher: Dispatcher, rule_ids: list[str],
             rule_kwargs: dict[str, dict[str, Any]]) -> None:
        dispatcher.dispatch(
            rule_ids=rule_ids, rule_kwargs=rule_kwargs, model_label="tests.Thing", pk=1,
        )

    def wait(self, journal: Journal, token: str, count: int) -> list[dict[str, Any]]:
        self.settle()
        found = journal.wait_for(token, count, self.delivery_timeout)
        assert len(found) >= count, (
            f"{self.dispatcher}: expected {count} job(s) for {token}, got {len(found)}; "
            f"none more arrived within {self.delivery_timeout}s"
        )
        time.sleep(self.duplicate_watch)
        return journal.jobs(token)

    # -- the conformance tests ---------------------------------------------------------

    def test_name_is_discoverable(self) -> None:
        assert self.dispatcher in registered_dispatcher_names()
        dispatcher = self.make_dispatcher()
        assert dispatcher.name == self.dispatcher

    def test_job_is_delivered_once_with_its_payload_intact(
        self, conformance_journal: Journal
    ) -> None:
        token = uuid.uuid4().hex
        rule_id = f"tests.conformance.payload#{token}#0"
        payload = {
            rule_id: {
                "int_pk": 42,
                "uuid_pk": str(uuid.UUID(int=7)),
                "str_pk": "café/€ ✓ :: \"quoted\"",
                "none": None,
                "flag": True,
                "ratio": 0.5,
                "nested": {"tags": [1, "two", None]},
            }
        }
        self.send(self.make_dispatcher(), [rule_id], payload)
        jobs = self.wait(conformance_journal, token, 1)
        assert len(jobs) == 1, f"delivered {len(jobs)} times"
        assert jobs[0]["rule_ids"] == [rule_id]
        assert jobs[0]["rule_kwargs"] == payload
        assert jobs[0]["dispatcher_name"] == self.dispatcher
        assert jobs[0]["fallback"] is None
        if self.runs_in_other_process:
            assert jobs[0]["pid"] != os.getpid()

    def test_every_one_of_many_jobs_arrives_once(self, conformance_journal: Journal) -> None:
        token = uuid.uuid4().hex
        dispatcher = self.make_dispatcher()
        ids = [f"tests.conformance.many#{token}#{n}" for n in range(20)]
        for n, rule_id in enumerate(ids):
            self.send(dispatcher, [rule_id], {rule_id: {"n": n}})
        jobs = self.wait(conformance_journal, token, len(ids))
        assert sorted(job["rule_ids"][0] for job in jobs) == sorted(ids)
        assert all(job["rule_kwargs"][job["rule_ids"][0]]["n"] == ids.index(job["rule_ids"][0])
                   for job in jobs)

    def test_rules_of_one_dispatch_travel_in_one_job(self, conformance_journal: Journal) -> None:
        # Whether rules are *grouped* is restflow-cache's decision (supports_batching);
        # what one dispatch() carries, every dispatcher must deliver as one job.
        dispatcher = self.make_dispatcher()
        token = uuid.uuid4().hex
        ids = [f"tests.conformance.batch#{token}#{n}" for n in range(3)]
        self.send(dispatcher, ids, {rule_id: {"n": n} for n, rule_id in enumerate(ids)})
        jobs = self.wait(conformance_journal, token, 1)
        assert len(jobs) == 1
        assert jobs[0]["rule_ids"] == ids

    def test_payload_that_is_not_json_is_refused_before_handoff(
        self, conformance_journal: Journal
    ) -> None:
        token = uuid.uuid4().hex
        rule_id = f"tests.conformance.notjson#{token}#0"
        with pytest.raises(PayloadError, match="JSON-native"):
            self.send(self.make_dispatcher(), [rule_id], {rule_id: {"pk": uuid.uuid4()}})
        self.settle()
        assert conformance_journal.jobs(token) == []

    def test_failed_handoff_runs_the_job_inline(
        self, conformance_journal: Journal, caplog: pytest.LogCaptureFixture
    ) -> None:
        from restflow.log import reset_log_throttle

        reset_log_throttle()
        token = uuid.uuid4().hex
        rule_id = f"tests.conformance.fallback#{token}#0"
        dispatcher = self.make_dispatcher()
        with caplog.at_level(logging.ERROR, logger="restflow.dispatch"), \
                self.broken_handoff(dispatcher):
            self.send(dispatcher, [rule_id], {rule_id: {"pk": 1}})
        jobs = conformance_journal.jobs(token)
        assert len(jobs) == 1, "the job was not run inline after the hand-off failed"
        assert jobs[0]["fallback"] == "inline"
        assert jobs[0]["pid"] == os.getpid()
        assert jobs[0]["dispatcher_name"] == self.dispatcher
        assert any(self.dispatcher in record.getMessage() for record in caplog.records)

    def test_failed_handoff_raises_when_fallback_is_raise(
        self, conformance_journal: Journal
    ) -> None:
        token = uuid.uuid4().hex
        rule_id = f"tests.conformance.raise#{token}#0"
        dispatcher = self.make_dispatcher(fallback="raise")
        with self.broken_handoff(dispatcher), pytest.raises(DispatchError, match=self.dispatcher):
            self.send(dispatcher, [rule_id], {rule_id: {"pk": 1}})
        self.settle()
        assert conformance_journal.jobs(token) == []

    def test_worker_resolves_the_error_policy_under_its_own_name(
        self, conformance_journal: Journal
    ) -> None:
        token = uuid.uuid4().hex
        rule_id = f"tests.conformance.policy#{token}#0"
        self.send(self.make_dispatcher(), [rule_id], {rule_id: {"__fail__": True}})
        jobs = self.wait(conformance_journal, token, 1)
        assert len(jobs) == 1
        assert jobs[0]["dispatcher_name"] == self.dispatcher
        # The test bed leaves RAISE_EXCEPTION unset everywhere: the failure is swallowed.
        assert jobs[0]["raised"] is False


class BrokerDispatcherConformance(DispatcherConformance):
    """What a :class:`~restflow.dispatch.broker.BrokerDispatcher` adds: the one meaning
    of ``publish_timeout`` / ``PUBLISH_TIMEOUT`` (seconds; ``0``: the library's own)."""

    runs_in_other_process: ClassVar[bool] = True

    def test_publish_timeout_has_the_same_meaning_in_every_plugin(self) -> None:
        from django.test import override_settings

        cls = type(self.make_dispatcher())
        assert issubclass(cls, BrokerDispatcher)
        assert cls().publish_timeout() == DEFAULT_PUBLISH_TIMEOUT
        assert cls(publish_timeout=0.25).publish_timeout() == 0.25
        assert cls(publish_timeout=0).publish_timeout() is None
        block = {"DISPATCHER_SETTINGS": {self.dispatcher: {"PUBLISH_TIMEOUT": 5}}}
        with override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": block}):
            assert cls().publish_timeout() == 5.0
            assert cls(publish_timeout=0).publish_timeout() is None
        for bad in (-1, True, "2", [2]):
            with pytest.raises(ValueError, match="publish_timeout must be a number of seconds >= 0"):
                cls(publish_timeout=bad)

    def test_a_missing_library_names_what_to_install(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import sys

        cls = type(self.make_dispatcher())
        assert issubclass(cls, BrokerDispatcher)
        library, _, _, distribution = cls.requires
        monkeypatch.setitem(sys.modules, library, None)  # "import <library>" now fails
        with pytest.raises(ImportError, match=rf"pip install .*{distribution}") as info:
            cls()
        assert f"{cls.name!r} dispatcher" in str(info.value)
