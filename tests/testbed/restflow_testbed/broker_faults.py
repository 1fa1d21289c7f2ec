"""Broker outages at publish time: the fault scenarios every broker dispatcher shares.

A broker that is down, or that takes the connection and never answers, must neither
block the code that publishes nor lose the job: the dispatcher gives up after its
publish timeout and runs the job inline in this process, logging the outage once per
interval, or raises :class:`~restflow.dispatch.base.DispatchError` when its fallback
policy is ``raise``. The scenarios use real brokers only: a private Redis server that
the test stops and restarts, a port nothing listens on, and
:class:`~restflow_testbed.hanging_server.HangingServer`. Jobs go to
:func:`restflow.dispatch.testing.record_job`, whose journal tells where each one ran.

A package's ``test_faults.py`` subclasses :class:`BrokerFaults` (and
:class:`PublishTimeoutSetting` where the package reads the timeout from its settings
block)::

    class TestCeleryFaults(BrokerFaults, PublishTimeoutSetting):
        dispatcher = "celery"
        down_error = "OperationalError"
        forms = ("redis", "amqp")

        def options(self): ...                 # the dispatcher's options (to record_job)
        def producer_at(self, port, form): ... # point this process at the broker on port
        def new_worker(self, url): ...         # a worker for the Redis broker at url

and keeps only its broker-specific tests beside it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

import pytest
import redis
from django.test import override_settings

from restflow.dispatch.base import Dispatcher, DispatchError
from restflow.dispatch.registry import get_dispatcher
from restflow.dispatch.testing import RECORD_JOB_PATH, Journal
from restflow_testbed.hanging_server import HangingServer, returns
from restflow_testbed.redis_server import RedisServer
from restflow_testbed.worker_process import WorkerProcess

__all__ = ["BrokerFaults", "PublishTimeoutSetting"]

#: Liveness bound (seconds) of the wait for a job a worker should run.
DELIVERY_WAIT = 60.0


@contextlib.contextmanager
def _running(worker: WorkerProcess | None) -> Iterator[WorkerProcess | None]:
    """``worker`` (if any) started for the block, and always stopped after it."""
    if worker is None:
        yield None
        return
    try:
        worker.start()
        yield worker
    finally:
        worker.stop()


@pytest.mark.broker
class BrokerFaults:
    """Outages at publish time on a broker dispatcher. Subclass; fill the hooks."""

    #: The registered dispatcher name: the fallback log and ``DispatchError`` name it.
    dispatcher: ClassVar[str] = ""
    #: The error type the dispatcher names when nothing listens on the broker's port.
    down_error: ClassVar[str] = "ConnectionError"
    #: The ways the package names a broker (see :meth:`producer_at`); the down, hanging
    #: and raise scenarios run once per form. The first one is a Redis server's.
    forms: ClassVar[tuple[str, ...]] = ("url",)
    #: The publish timeout (seconds) the scenarios give the dispatcher.
    publish_timeout: ClassVar[float] = 0.5
    #: Whether a publish that timed out on a hung broker may connect again before giving
    #: up; if not, the hanging server must see exactly one connection.
    reconnects_when_hung: ClassVar[bool] = False

    # -- hooks ---------------------------------------------------------------------------

    def options(self) -> dict[str, Any]:
        """The dispatcher's options without its publish timeout (routing, worker entry)."""
        return {"function_path": RECORD_JOB_PATH}

    @contextlib.contextmanager
    def producer_at(self, port: int, form: str) -> Iterator[None]:
        """Make this process publish to the broker listening (or not) on ``port``, named
        in the given :attr:`forms` entry (a URL, a settings dict, ...)."""
        raise NotImplementedError
        yield

    def new_worker(self, url: str) -> WorkerProcess | None:
        """A worker (not started) that consumes the Redis broker at ``url``; ``None`` (the
        default) when the package has none per test: :meth:`queued` then shows a hand-off."""
        return None

    def hang_error(self, form: str) -> str:
        """What the log and ``DispatchError`` say of a publish given up on a hung broker."""
        return "Timeout"

    def queue_key(self) -> str:
        """The Redis list in which the broker keeps the jobs waiting on the dispatcher's
        queue (needed without a :meth:`new_worker`)."""
        raise NotImplementedError

    def ran_in(self, worker: WorkerProcess, job: dict[str, Any]) -> bool:
        """Whether a journal entry was written by ``worker`` (default: another process)."""
        return bool(job["pid"] != os.getpid())

    def worker_idle(self, worker: WorkerProcess) -> None:
        """Wait until ``worker``, done with a job, waits for the next one."""

    # -- helpers -------------------------------------------------------------------------

    def queued(self, port: int) -> int:
        """How many jobs wait on the Redis broker on ``port`` (no worker consumes them)."""
        client = redis.Redis(port=port)
        try:
            return int(client.llen(self.queue_key()))
        finally:
            client.close()

    def make_dispatcher(self, **extra: Any) -> Dispatcher:
        config = {**self.options(), "publish_timeout": self.publish_timeout, **extra}
        return get_dispatcher(self.dispatcher, config)

    def send(self, dispatcher: Dispatcher, token: str, n: int = 0, *, fail: bool = False) -> None:
        """Dispatch job ``n`` of ``token`` (one rule; the journal finds it by ``token``);
        ``fail`` makes :func:`~restflow.dispatch.testing.record_job` raise."""
        rule_id = f"tests.faults.{self.dispatcher}#{token}#{n}"
        rule_kwargs = {rule_id: {"__fail__": True} if fail else {"pk": n}}
        dispatcher.dispatch(rule_ids=[rule_id], rule_kwargs=rule_kwargs,
                            model_label="tests.Thing", pk=n)

    def sends(self, dispatcher: Dispatcher, token: str, n: int = 0) -> Callable[[], None]:
        """:meth:`send` as a call for :func:`returns`."""
        return lambda: self.send(dispatcher, token, n)

    def fallback_records(self, caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
        """What restflow logged about this dispatcher running jobs inline."""
        text = f"{self.dispatcher!r} could not hand off"
        return [r for r in caplog.records
                if r.name == "restflow.dispatch" and text in r.getMessage()]

    def assert_logged_once(self, caplog: pytest.LogCaptureFixture, cause: str) -> None:
        """The outage was logged once, naming ``cause``, and nothing else named the
        dispatcher (at the captured level)."""
        [record] = self.fallback_records(caplog)
        named = [r for r in caplog.records if repr(self.dispatcher) in r.getMessage()]
        assert named == [record], "the outage must be logged once per interval, not per job"
        assert cause in record.getMessage()

    def assert_ran_inline(self, journal: Journal, token: str, count: int = 1) -> None:
        jobs = journal.jobs(token)
        assert sorted(job["rule_kwargs"][job["rule_ids"][0]]["pk"] for job in jobs) == list(
            range(count))
        assert {(job["fallback"], job["pid"], job["dispatcher_name"]) for job in jobs} == {
            ("inline", os.getpid(), self.dispatcher)}

    def assert_handed_off(self, worker: WorkerProcess | None, journal: Journal, token: str,
                          port: int) -> None:
        if worker is None:
            assert journal.jobs(token) == []  # not run here...
            assert self.queued(port) == 1  # ...but waiting on the broker
            return
        found = journal.wait_for(token, 1, DELIVERY_WAIT)
        assert found, worker.log()
        [job] = found
        assert job["fallback"] is None
        assert self.ran_in(worker, job), (job, worker.log())

    # -- set-up --------------------------------------------------------------------------

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "form" in metafunc.fixturenames:
            metafunc.parametrize("form", self.forms)

    # -- the scenarios -------------------------------------------------------------------

    def test_broker_down_runs_jobs_inline_and_logs_once(
        self, form: str, closed_port: int, conformance_journal: Journal,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """Nothing listens on the broker's port: each publish returns promptly, its job
        ran inline in this process, and the outage is logged once, naming its cause."""
        token = uuid.uuid4().hex
        dispatcher = self.make_dispatcher()
        with self.producer_at(closed_port, form), \
                caplog.at_level(logging.ERROR, logger="restflow.dispatch"):
            for n in range(3):
                assert returns(self.sends(dispatcher, token, n)) is None
        self.assert_ran_inline(conformance_journal, token, 3)
        self.assert_logged_once(caplog, self.down_error)

    def test_hanging_broker_is_given_up_after_the_publish_timeout(
        self, form: str, conformance_journal: Journal, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A broker that accepts the connection and never answers: the publish gives up
        after the publish timeout (the log says it timed out) and the job ran inline."""
        token = uuid.uuid4().hex
        with HangingServer() as server, self.producer_at(server.port, form), \
                caplog.at_level(logging.ERROR, logger="restflow.dispatch"):
            assert returns(self.sends(self.make_dispatcher(), token)) is None
            accepted = server.accepted
        assert accepted >= 1  # it really talked to the hung server
        if not self.reconnects_when_hung:
            assert accepted == 1, "no retry after a timeout"
        self.assert_ran_inline(conformance_journal, token)
        self.assert_logged_once(caplog, self.hang_error(form))

    @pytest.mark.parametrize("outage", ["down", "hanging"])
    def test_fallback_raise_reraises_and_runs_nothing(
        self, outage: str, form: str, closed_port: int, conformance_journal: Journal
    ) -> None:
        """With ``fallback="raise"`` an outage reaches the caller as ``DispatchError``,
        naming the dispatcher and the cause, and the job runs nowhere."""
        token = uuid.uuid4().hex
        with HangingServer() as server:
            port = server.port if outage == "hanging" else closed_port
            with self.producer_at(port, form):
                error = returns(self.sends(self.make_dispatcher(fallback="raise"), token))
        assert isinstance(error, DispatchError)
        cause = self.hang_error(form) if outage == "hanging" else self.down_error
        expected = f"{re.escape(repr(self.dispatcher))}.*{re.escape(cause)}"
        assert re.search(expected, str(error)), str(error)
        assert conformance_journal.jobs(token) == []

    def test_jobs_reach_the_broker_again_once_it_is_back(
        self, private_redis: Callable[[], RedisServer], conformance_journal: Journal,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """A broker that served, went down and came back on the same port: jobs go to it,
        then run inline while it is away (one log line for the outage, no hang on the
        dead pooled connection), then go to it again with no restart of this process."""
        server = private_redis()
        dispatcher = self.make_dispatcher()
        before, during, after = (uuid.uuid4().hex for _ in range(3))
        with _running(self.new_worker(server.db_url(0))) as worker, \
                self.producer_at(server.port, self.forms[0]), \
                caplog.at_level(logging.ERROR, logger="restflow.dispatch"):
            self.send(dispatcher, before)
            self.assert_handed_off(worker, conformance_journal, before, server.port)
            if worker is not None:
                self.worker_idle(worker)

            server.stop()
            for n in range(3):
                assert returns(self.sends(dispatcher, during, n)) is None
            self.assert_ran_inline(conformance_journal, during, 3)

            server.start()  # empty, on the same port
            self.send(dispatcher, after)
            self.assert_handed_off(worker, conformance_journal, after, server.port)
        self.assert_logged_once(caplog, self.down_error)


# The mixin below uses the hooks of BrokerFaults; a plain object at run time (its subclasses
# list BrokerFaults first).
_Faults = BrokerFaults if TYPE_CHECKING else object


class PublishTimeoutSetting(_Faults):
    """Opt-in scenario for a :class:`BrokerFaults` subclass whose dispatcher reads its
    publish timeout from restflow's settings block."""

    def test_publish_timeout_comes_from_the_settings_block(
        self, conformance_journal: Journal
    ) -> None:
        """``DISPATCHER_SETTINGS[name]["PUBLISH_TIMEOUT"]`` is the deadline of a dispatcher
        given none: a hung broker is given up after it and the job ran inline."""
        token = uuid.uuid4().hex
        block = {"DISPATCHER_SETTINGS": {self.dispatcher: {"PUBLISH_TIMEOUT": 0.3}}}
        with HangingServer() as server, self.producer_at(server.port, self.forms[0]), \
                override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": block}):
            dispatcher = get_dispatcher(self.dispatcher, self.options())
            assert dispatcher.publish_timeout() == 0.3
            assert returns(self.sends(dispatcher, token)) is None
        self.assert_ran_inline(conformance_journal, token)
