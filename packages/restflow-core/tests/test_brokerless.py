from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
import uuid
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.test import override_settings

from restflow.dispatch import testing
from restflow.dispatch.asyncio import AsyncIODispatcher
from restflow.dispatch.inline import InlineDispatcher
from restflow.dispatch.registry import get_dispatcher
from restflow.dispatch.testing import (
    ARECORD_JOB_PATH,
    RECORD_JOB_PATH,
    DispatcherConformance,
    Journal,
    RequestedFailure,
)
from restflow.dispatch.threadpool import ThreadPoolDispatcher
from restflow.dispatch.worker import WorkerError


class TestInlineConformance(DispatcherConformance):
    dispatcher = "inline"


class TestThreadPoolConformance(DispatcherConformance):
    dispatcher = "threadpool"

    def settle(self) -> None:
        ThreadPoolDispatcher.shutdown(wait=True)


class TestAsyncIOConformance(DispatcherConformance):
    """Without a running loop (how Django runs on-commit callbacks)."""

    dispatcher = "asyncio"


def _ids(prefix: str) -> tuple[str, str]:
    token = uuid.uuid4().hex
    return token, f"{prefix}#{token}#0"


def test_inline_runs_the_job_before_dispatch_returns(conformance_journal: Journal) -> None:
    token, rule_id = _ids("inline.sync")
    InlineDispatcher(function_path=RECORD_JOB_PATH).dispatch(
        rule_ids=[rule_id], rule_kwargs={rule_id: {"a": 1}}
    )
    [job] = conformance_journal.jobs(token)
    assert job["pid"] == os.getpid()
    assert InlineDispatcher.supports_batching is False


def test_inline_propagates_worker_errors_when_the_policy_says_raise(
    conformance_journal: Journal,
) -> None:
    token, rule_id = _ids("inline.raise")
    blocks = {"DISPATCHER_SETTINGS": {"inline": {"RAISE_EXCEPTION": True}}}
    with override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": blocks}):
        with pytest.raises(WorkerError) as info:
            InlineDispatcher(function_path=RECORD_JOB_PATH).dispatch(
                rule_ids=[rule_id], rule_kwargs={rule_id: {"__fail__": True}}
            )
    # The worker's own error, chained; raised once: not mistaken for a failed hand-off
    # and run again.
    assert isinstance(info.value.error, RequestedFailure)
    assert info.value.__cause__ is info.value.error
    assert info.value.rule_ids == [rule_id]
    assert len(conformance_journal.jobs(token)) == 1


@pytest.mark.parametrize("bad", [0, -1, "four", 2.5, True])
def test_threadpool_rejects_bad_max_workers(bad: Any) -> None:
    with pytest.raises(ValueError, match="max_workers"):
        ThreadPoolDispatcher(max_workers=bad)


def test_threadpool_runs_on_named_threads_of_one_shared_pool(conformance_journal: Journal) -> None:
    seen: list[str] = []
    token, rule_id = _ids("pool.thread")

    first = get_dispatcher("threadpool", {"function_path": RECORD_JOB_PATH, "max_workers": 2})
    first.dispatch(rule_ids=[rule_id], rule_kwargs={rule_id: {}})
    pool = ThreadPoolDispatcher._executor
    assert pool is not None
    seen.append(pool.submit(lambda: threading.current_thread().name).result())
    second = get_dispatcher("threadpool", {"function_path": RECORD_JOB_PATH, "max_workers": 8})
    second.dispatch(rule_ids=[rule_id], rule_kwargs={rule_id: {}})
    assert ThreadPoolDispatcher._executor is pool  # one pool, size fixed at creation
    assert pool._max_workers == 2
    ThreadPoolDispatcher.shutdown(wait=True)
    assert len(conformance_journal.jobs(token)) == 2
    assert seen[0].startswith("restflow-cache")


def test_threadpool_size_comes_from_settings_when_the_rule_names_none() -> None:
    blocks = {"DISPATCHER_SETTINGS": {"threadpool": {"MAX_WORKERS": 3}}}
    with override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": blocks}):
        assert ThreadPoolDispatcher()._max_workers() == 3
    zero = {"DISPATCHER_SETTINGS": {"threadpool": {"MAX_WORKERS": 0}}}
    with override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": zero}):
        assert ThreadPoolDispatcher()._max_workers() == 4


def test_threadpool_logs_worker_errors(
    conformance_journal: Journal, caplog: pytest.LogCaptureFixture
) -> None:
    token, rule_id = _ids("pool.fail")
    blocks = {"DISPATCHER_SETTINGS": {"threadpool": {"RAISE_EXCEPTION": True}}}
    with override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": blocks}), \
            caplog.at_level(logging.WARNING, logger="restflow.dispatch.threadpool"):
        ThreadPoolDispatcher(function_path=RECORD_JOB_PATH).dispatch(
            rule_ids=[rule_id], rule_kwargs={rule_id: {"__fail__": True}}
        )
        ThreadPoolDispatcher.shutdown(wait=True)
    assert any("worker raised" in r.getMessage() for r in caplog.records)
    assert conformance_journal.jobs(token)[0]["raised"] is True


def test_threadpool_after_shutdown_at_exit_falls_back_instead_of_losing_work(
    conformance_journal: Journal,
) -> None:
    token, rule_id = _ids("pool.closed")
    dispatcher = ThreadPoolDispatcher(function_path=RECORD_JOB_PATH)
    dispatcher.dispatch(rule_ids=[rule_id], rule_kwargs={rule_id: {}})
    pool = ThreadPoolDispatcher._executor
    assert pool is not None
    pool.shutdown(wait=True)  # what interpreter exit does to the pool
    dispatcher.dispatch(rule_ids=[rule_id], rule_kwargs={rule_id: {}})
    jobs = conformance_journal.jobs(token)
    assert len(jobs) == 2
    assert jobs[1]["fallback"] == "inline"


def test_threadpool_runs_queued_jobs_before_the_interpreter_exits(
    conformance_journal: Journal,
) -> None:
    token = uuid.uuid4().hex
    code = textwrap.dedent(
        f"""
        import time
        from django.conf import settings
        settings.configure()
        from restflow.dispatch.threadpool import ThreadPoolDispatcher
        import restflow.dispatch.testing as kit

        def slow(rule_ids, rule_kwargs, **kw):
            time.sleep(0.05)
            kit.record_job(rule_ids, rule_kwargs, **kw)

        kit.slow = slow
        d = ThreadPoolDispatcher(function_path="restflow.dispatch.testing.slow", max_workers=1)
        for n in range(10):
            rid = "exit#{token}#%d" % n
            d.dispatch(rule_ids=[rid], rule_kwargs={{rid: {{}}}})
        print("leaving with work queued")
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    assert len(conformance_journal.jobs(token)) == 10


def test_threadpool_builds_a_new_pool_after_fork(conformance_journal: Journal) -> None:
    token, rule_id = _ids("pool.fork")
    dispatcher = ThreadPoolDispatcher(function_path=RECORD_JOB_PATH)
    dispatcher.dispatch(rule_ids=[rule_id], rule_kwargs={rule_id: {}})
    parent_pool = ThreadPoolDispatcher._executor
    pid = os.fork()
    if pid == 0:  # child: the inherited pool has no threads; a new one must be made
        try:
            dispatcher.dispatch(rule_ids=[rule_id], rule_kwargs={rule_id: {"child": True}})
            ok = ThreadPoolDispatcher._executor is not parent_pool
            ThreadPoolDispatcher.shutdown(wait=True)
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    ThreadPoolDispatcher.shutdown(wait=True)
    jobs = conformance_journal.jobs(token)
    assert sorted(job["rule_kwargs"][rule_id].get("child", False) for job in jobs) == [False, True]


def test_asyncio_schedules_on_the_running_loop_and_keeps_the_task_alive(
    conformance_journal: Journal,
) -> None:
    token, rule_id = _ids("aio.loop")
    dispatcher = AsyncIODispatcher(async_function_path=ARECORD_JOB_PATH)

    async def main() -> int:
        dispatcher.dispatch(rule_ids=[rule_id], rule_kwargs={rule_id: {"a": 1}})
        pending = len(AsyncIODispatcher._pending_tasks)
        assert conformance_journal.jobs(token) == []  # scheduled, not run yet
        await AsyncIODispatcher.drain()
        return pending

    assert asyncio.run(main()) == 1
    [job] = conformance_journal.jobs(token)
    assert job["dispatcher_name"] == "asyncio"
    assert AsyncIODispatcher._pending_tasks == set()


def test_asyncio_logs_a_failed_task(
    conformance_journal: Journal, caplog: pytest.LogCaptureFixture
) -> None:
    token, rule_id = _ids("aio.fail")
    dispatcher = AsyncIODispatcher(async_function_path=ARECORD_JOB_PATH)
    blocks = {"DISPATCHER_SETTINGS": {"asyncio": {"RAISE_EXCEPTION": True}}}

    async def main() -> None:
        dispatcher.dispatch(rule_ids=[rule_id], rule_kwargs={rule_id: {"__fail__": True}})
        await AsyncIODispatcher.drain()

    with override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": blocks}), \
            caplog.at_level(logging.WARNING, logger="restflow.dispatch.asyncio"):
        asyncio.run(main())
    assert any("task failed" in r.getMessage() for r in caplog.records)
    assert conformance_journal.jobs(token)[0]["raised"] is True


def test_asyncio_without_a_loop_runs_synchronously(conformance_journal: Journal) -> None:
    token, rule_id = _ids("aio.sync")
    AsyncIODispatcher(function_path=RECORD_JOB_PATH).dispatch(
        rule_ids=[rule_id], rule_kwargs={rule_id: {}}
    )
    [job] = conformance_journal.jobs(token)
    assert job["pid"] == os.getpid()



class _Clock:
    """A fake ``time`` for :meth:`Journal.wait_for`: each sleep takes one second, and a job
    arrives every second sleep until ``sent`` jobs arrived."""

    def __init__(self, journal: Journal, token: str, sent: int) -> None:
        self.now = 0.0
        self.journal, self.token, self.sent = journal, token, sent

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += 1.0
        arrived = len(self.journal.jobs(self.token))
        if self.now % 2 == 0 and arrived < self.sent:
            rule_id = f"tests.clock#{self.token}#{arrived}"
            with self.journal.path.open("a") as file:
                file.write(json.dumps({"rule_ids": [rule_id]}) + "\n")


@pytest.mark.parametrize(("sent", "ends_at"), [(5, 10.0), (2, 7.0)])
def test_the_journal_waits_while_jobs_keep_arriving_and_not_once_they_stop(
    tmp_path: Path, sent: int, ends_at: float
) -> None:
    """A job every 2 s for a 3 s timeout: five jobs (10 s) are all waited for; when only
    two come, the wait ends 3 s after the second."""
    journal = Journal(tmp_path / "journal.jsonl")
    clock = _Clock(journal, "tok", sent)
    with mock.patch.object(testing, "time", clock):
        found = journal.wait_for("tok", 5, timeout=3.0)
    assert len(found) == sent
    assert clock.now == ends_at
