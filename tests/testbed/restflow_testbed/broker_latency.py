"""Measure a broker dispatcher end to end with one real worker (a script, not a test).

    python tests/testbed/restflow_testbed/broker_latency.py BROKER [--saves 300] [--jobs 2000]

``BROKER`` is ``celery``, ``django_rq`` (``--worker-class rq.worker.Worker`` for RQ's
fork-per-job worker; ``rq.worker.SimpleWorker`` by default), ``dramatiq`` or
``django_q``; that package and restflow-cache must be installed. It starts a private
Redis (broker on db 0, cache on db 2), creates a scratch SQLite database, and uses the
package's end-to-end test app (:mod:`restflow_testbed.broker_app`), then:

* throughput: warms ``--jobs`` entries and publishes one invalidation job per entry before
  the worker starts (the publish rate), starts the worker and times it from the first
  entry gone to the last (one worker's drain rate);
* latency: ``--saves`` times, caches ``notes_of_owner(owner)``, saves a ``Note`` of that
  owner in autocommit mode and polls the cache until the worker dropped the entry:
  p50/p90/p99/max of save-to-entry-gone, and of the ``save()`` call itself (publish
  included).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Broker:
    package: str  # the distribution whose tests/ folder holds the test app
    app: str  # the test app
    settings: str  # Django settings module of this process and of the worker
    queue: str  # where the jobs go (dramatiq: the queue of restflow's actor)
    queue_key: str  # the dispatcher block's key that names it
    worker: Callable[[argparse.Namespace, str, str, str], Any]  # (args, broker, cache, queue)
    producer: Callable[[str, str], contextlib.AbstractContextManager[Any]]  # (broker, queue)
    describe: Callable[[argparse.Namespace], str]

    @property
    def tests_dir(self) -> Path:
        return REPO / "packages" / self.package / "tests"


def _celery_worker(args: argparse.Namespace, url: str, cache_url: str, queue: str) -> Any:
    from celery_testapp.processes import CeleryWorker

    return CeleryWorker(url, [queue], env={"RESTFLOW_TEST_CACHE_URL": cache_url})


def _celery_producer(url: str, queue: str) -> contextlib.AbstractContextManager[Any]:
    from celery_testapp.celery_app import current_celery_app, make_app

    return current_celery_app(make_app(url))


def _rq_worker(args: argparse.Namespace, url: str, cache_url: str, queue: str) -> Any:
    from rq_testapp.processes import RqWorker

    return RqWorker(url, [queue], cache_url=cache_url, worker_class=args.worker_class,
                    verbosity=1)


def _rq_producer(url: str, queue: str) -> contextlib.AbstractContextManager[Any]:
    from django.test import override_settings

    return override_settings(RQ_QUEUES={queue: {"URL": url}})


def _dramatiq_worker(args: argparse.Namespace, url: str, cache_url: str, queue: str) -> Any:
    from dramatiq_support import dramatiq_worker_process

    return dramatiq_worker_process("dramatiq-measure", url, cache_url, [queue])


@contextlib.contextmanager
def _dramatiq_producer(url: str, queue: str) -> Iterator[None]:
    from dramatiq.brokers.redis import RedisBroker
    from dramatiq_support import use_broker

    with use_broker(RedisBroker(url=url)):
        yield


def _django_q_worker(args: argparse.Namespace, url: str, cache_url: str, queue: str) -> Any:
    from djangoq_support import qcluster_process

    return qcluster_process("qcluster-measure", url, cache_url, queue)


def _django_q_producer(url: str, queue: str) -> contextlib.AbstractContextManager[Any]:
    from djangoq_support import django_q_redis

    return django_q_redis(url)


def _version(dist: str) -> str:
    import importlib.metadata

    return f"{dist} {importlib.metadata.version(dist)}"


BROKERS = {
    "celery": Broker("restflow-dispatch-celery", "celery_testapp", "restflow_testbed.worker_settings",
                     "restflow-measure", "QUEUE", _celery_worker, _celery_producer,
                     lambda args: f"{_version('celery')}, Redis broker, worker --pool=solo"),
    "django_rq": Broker("restflow-dispatch-rq", "rq_testapp", "rq_testapp.worker_settings",
                        "restflow-measure", "QUEUE", _rq_worker, _rq_producer,
                        lambda args: f"{_version('rq')}, rqworker ({args.worker_class})"),
    "dramatiq": Broker("restflow-dispatch-dramatiq", "dramatiq_testapp",
                       "restflow_testbed.worker_settings", "default", "QUEUE", _dramatiq_worker,
                       _dramatiq_producer,
                       lambda args: f"{_version('dramatiq')}, Redis broker, "
                                    "worker --processes 1 --threads 1"),
    "django_q": Broker("restflow-dispatch-django-q", "djangoq_testapp", "djangoq_worker_settings",
                       "default", "CLUSTER", _django_q_worker, _django_q_producer,
                       lambda args: f"{_version('django-q2')}, Redis broker, "
                                    "qcluster with 1 worker"),
}


def percentiles(seconds: list[float]) -> str:
    ordered = sorted(seconds)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000

    return (f"p50 {pick(0.5):.2f} ms, p90 {pick(0.9):.2f} ms, p99 {pick(0.99):.2f} ms, "
            f"max {ordered[-1] * 1000:.2f} ms")


def wait_gone(func: Any, arg: Any, timeout: float = 60.0) -> None:
    """Poll until the entry of ``func(arg)`` is gone (a deadline, not a measurement)."""
    from restflow.caching import CACHE_MISSING

    deadline = time.perf_counter() + timeout
    while func.get_cache_only(arg) is not CACHE_MISSING:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"entry {arg} was not invalidated within {timeout}s")
        time.sleep(0.0002)


def measure(name: str, args: argparse.Namespace) -> None:
    broker = BROKERS[name]
    here = str(Path(__file__).resolve().parent)  # run as a script: not a top-level package
    sys.path[:] = [str(REPO / "tests" / "testbed"), str(broker.tests_dir),
                   *(p for p in sys.path if p != here)]
    from restflow_testbed.redis_server import RedisServer

    scratch = Path(tempfile.mkdtemp(prefix="restflow-measure-"))
    with RedisServer() as server:
        url, cache_url = server.db_url(0), server.db_url(2)
        os.environ.update(
            RESTFLOW_TEST_RUN_ID=f"measure-{uuid.uuid4().hex[:8]}",
            RESTFLOW_TEST_SQLITE_DIR=str(scratch),
            RESTFLOW_TEST_WORKER="1",
            RESTFLOW_TEST_CACHE_URL=cache_url,
            RESTFLOW_CONFORMANCE_JOURNAL=str(scratch / "journal.jsonl"),
            DJANGO_SETTINGS_MODULE=broker.settings,
        )
        import django

        django.setup()
        from django.core.management import call_command
        from django.test import override_settings

        from restflow.dispatch.registry import get_dispatcher
        from restflow_testbed.broker_app import rule_id

        call_command("migrate", verbosity=0, interactive=False, run_syncdb=True)
        cached = importlib.import_module(f"{broker.app}.cached")
        func, note = cached.notes_of_owner, cached.Note
        block = {"DISPATCHER_SETTINGS": {name: {broker.queue_key: broker.queue}}}
        worker = broker.worker(args, url, cache_url, broker.queue)
        try:
            with override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": block}), \
                    broker.producer(url, broker.queue):
                base, rule = 100_000, rule_id(func, note)
                owners = range(base, base + args.jobs)
                for owner in owners:
                    func(owner)
                dispatcher = get_dispatcher(name, {broker.queue_key.lower(): broker.queue})
                started = time.perf_counter()  # no worker yet: the jobs wait in the queue
                for owner in owners:
                    dispatcher.dispatch(rule_ids=[rule], rule_kwargs={rule: {"owner_id": owner}})
                published = time.perf_counter() - started
                worker.start()
                wait_gone(func, owners[0])
                first = time.perf_counter()
                wait_gone(func, owners[-1], timeout=600)
                drained = time.perf_counter() - first

                latencies, save_costs = [], []
                for owner in range(args.saves):
                    row = note.objects.create(owner_id=owner, text="x")
                    func(owner)
                    row.text = "y"
                    started = time.perf_counter()
                    row.save()
                    save_costs.append(time.perf_counter() - started)
                    wait_gone(func, owner)
                    latencies.append(time.perf_counter() - started)
        finally:
            worker.stop()
            shutil.rmtree(scratch, ignore_errors=True)

    print(f"{name}: {broker.describe(args)}")
    print(f"backlog of {args.jobs} jobs: published at {args.jobs / published:.0f}/s; "
          f"one worker drained them at {(args.jobs - 1) / drained:.0f} jobs/s")
    print(f"save -> entry gone, {args.saves} saves: {percentiles(latencies)}")
    print(f"save() itself (publish included): {percentiles(save_costs)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("broker", choices=sorted(BROKERS))
    parser.add_argument("--saves", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--worker-class", default="rq.worker.SimpleWorker",
                        help="django_rq only: the rqworker's --worker-class")
    args = parser.parse_args()
    measure(args.broker, args)


if __name__ == "__main__":
    main()
