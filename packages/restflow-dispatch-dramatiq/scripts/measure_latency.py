"""Measure the dramatiq dispatcher end to end (a script, not a test).

* latency: ``save()`` in this process -> the cached entry is gone, invalidated by a real
  ``dramatiq`` worker (1 process, 1 thread) through a private Redis; p50/p90/p99;
* the cost of the save itself (publishing included);
* throughput of that one worker on a backlog of invalidation jobs.

Run from the repository root::

    /work/venv/bin/python packages/restflow-dispatch-dramatiq/scripts/measure_latency.py --saves 300
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent / "tests"
REPO = HERE.parents[2]
sys.path[:0] = [str(REPO / "tests" / "testbed"), str(TESTS)]


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000

    return (f"p50 {pick(0.5):.2f} ms, p90 {pick(0.9):.2f} ms, p99 {pick(0.99):.2f} ms, "
            f"max {ordered[-1] * 1000:.2f} ms, mean {statistics.fmean(ordered) * 1000:.2f} ms")


def wait_gone(func: Any, arg: Any, missing: Any, timeout: float = 30.0) -> None:
    deadline = time.perf_counter() + timeout
    while func.get_cache_only(arg) is not missing:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"entry {arg} was not invalidated within {timeout}s")
        time.sleep(0.0005)


def measure(saves: int, jobs: int) -> None:
    from restflow_testbed.redis_server import RedisServer
    from restflow_testbed.worker_process import WorkerProcess, worker_env

    with RedisServer() as server:
        broker_url, cache_url = server.db_url(1), server.db_url(2)
        os.environ.update(
            RESTFLOW_TEST_SQLITE_DIR=tempfile.mkdtemp(prefix="restflow-measure-"),
            RESTFLOW_TEST_RUN_ID="measure",
            RESTFLOW_TEST_WORKER="1",
            DJANGO_SETTINGS_MODULE="dramatiq_worker_settings",
            RESTFLOW_TEST_CACHE_URL=cache_url,
            RESTFLOW_TEST_DRAMATIQ_URL=broker_url,
        )
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        import dramatiq_test_worker  # noqa: F401  (sets this process's broker too)
        from dramatiq_testapp.cached import item_summary
        from dramatiq_testapp.models import Item

        from restflow.caching import CACHE_MISSING
        from restflow.caching.registry import CacheRegister
        from restflow.dispatch.dramatiq import DramatiqDispatcher

        cmd = [sys.executable, "-m", "dramatiq", "--processes", "1", "--threads", "1",
               "--queues", "default", "--", "dramatiq_test_worker"]
        worker = WorkerProcess("dramatiq-measure", cmd,
                               worker_env(TESTS, DJANGO_SETTINGS_MODULE="dramatiq_worker_settings"))
        worker.start()
        try:
            warm = Item.objects.create(title="warm")
            item_summary(warm.pk)
            warm.save()
            wait_gone(item_summary, warm.pk, CACHE_MISSING, timeout=60)

            items = Item.objects.bulk_create([Item(title="a") for _ in range(saves)])
            latencies, save_costs = [], []
            for item in items:
                item_summary(item.pk)
                started = time.perf_counter()
                item.title = "b"
                item.save()
                save_costs.append(time.perf_counter() - started)
                wait_gone(item_summary, item.pk, CACHE_MISSING)
                latencies.append(time.perf_counter() - started)

            rule_id = f"{item_summary.__module__}.item_summary#{Item._meta.label}#0"
            assert CacheRegister.get_rule(rule_id) is not None, rule_id
            backlog = Item.objects.bulk_create([Item(title="a") for _ in range(jobs)])
            for item in backlog:
                item_summary(item.pk)
            dispatcher = DramatiqDispatcher()
            started = time.perf_counter()
            for item in backlog:
                dispatcher.dispatch(rule_ids=[rule_id], rule_kwargs={rule_id: {"item_id": item.pk}})
            published = time.perf_counter() - started
            wait_gone(item_summary, backlog[-1].pk, CACHE_MISSING, timeout=600)
            drained = time.perf_counter() - started
            left = sum(item_summary.get_cache_only(i.pk) is not CACHE_MISSING for i in backlog)
        finally:
            worker.stop()

    print(f"dramatiq {_versions()}, Redis broker, worker --processes 1 --threads 1")
    print(f"save -> entry gone, {saves} saves: {percentiles(latencies)}")
    print(f"save() itself (publish included): {percentiles(save_costs)}")
    print(f"backlog of {jobs} jobs: published in {published:.2f} s ({jobs / published:.0f}/s), "
          f"drained by one worker in {drained:.2f} s ({jobs / drained:.0f} jobs/s); "
          f"entries left: {left}")


def _versions() -> str:
    import importlib.metadata

    return importlib.metadata.version("dramatiq")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=2000)
    options = parser.parse_args()
    measure(options.saves, options.jobs)
