"""Measure end-to-end invalidation latency and one worker's throughput (not a test).

    python packages/restflow-dispatch-rq/tests/measure_latency.py [--saves 200] [--jobs 2000]

Starts a private Redis (queues and cache) and one real ``rqworker`` (``--worker-class``
``rq.worker.SimpleWorker`` by default: jobs run in the worker process; pass
``--worker-class rq.worker.Worker`` for RQ's fork-per-job worker),
creates a scratch SQLite database, then:

* throughput: warms ``--jobs`` entries, publishes one invalidation job per entry before
  the worker runs (publish rate), starts the worker and times it from the first entry
  gone to the last (the worker's drain rate);
* latency: ``--saves`` times, caches ``notes_of_owner(owner)``, saves a ``Note`` of that
  owner in autocommit mode and polls the cache until the worker dropped the entry; reports
  p50/p90/p99/max of save-to-key-gone.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parents[2]
sys.path[:0] = [str(REPO_ROOT / "tests" / "testbed"), str(TESTS_DIR)]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--saves", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--worker-class", default="rq.worker.SimpleWorker")
    args = parser.parse_args()

    from restflow_testbed.redis_server import RedisServer

    server = RedisServer()
    server.start()
    scratch = Path(tempfile.mkdtemp(prefix="restflow-measure-"))
    os.environ.update(
        RESTFLOW_TEST_RUN_ID=f"measure-{uuid.uuid4().hex[:8]}",
        RESTFLOW_TEST_SQLITE_DIR=str(scratch),
        RESTFLOW_TEST_WORKER="1",
        RESTFLOW_TEST_CACHE_URL=server.db_url(2),
        RESTFLOW_CONFORMANCE_JOURNAL=str(scratch / "journal.jsonl"),
        DJANGO_SETTINGS_MODULE="rq_testapp.worker_settings",
        RESTFLOW_TEST_RQ_QUEUES="",
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import override_settings
    from rq_testapp import cached
    from rq_testapp.models import Note
    from rq_testapp.processes import RqWorker

    from restflow.caching import CACHE_MISSING
    from restflow.dispatch.django_rq import DjangoRqDispatcher

    call_command("migrate", verbosity=0)
    queue = "restflow-measure"
    block = {"DISPATCHER_SETTINGS": {"django_rq": {"QUEUE": queue}}}
    worker = RqWorker(server.db_url(0), [queue], cache_url=server.db_url(2),
                      worker_class=args.worker_class, verbosity=1)
    try:
        with override_settings(RESTFLOW_SETTINGS={"CACHE_SETTINGS": block},
                               RQ_QUEUES={queue: {"URL": server.db_url(0)}}):
            base = 100_000
            rule = "rq_testapp.cached.notes_of_owner#rq_testapp.Note#0"
            for owner in range(base, base + args.jobs):
                cached.notes_of_owner(owner)
            dispatcher = DjangoRqDispatcher(queue=queue)
            start = time.perf_counter()  # no worker yet: the jobs wait in the queue
            for owner in range(base, base + args.jobs):
                dispatcher.dispatch(rule_ids=[rule], rule_kwargs={rule: {"owner_id": owner}})
            published = time.perf_counter() - start
            worker.start()
            while cached.notes_of_owner.get_cache_only(base) is not CACHE_MISSING:
                time.sleep(0.001)
            first = time.perf_counter()
            last = base + args.jobs - 1
            while cached.notes_of_owner.get_cache_only(last) is not CACHE_MISSING:
                time.sleep(0.001)
            drained = time.perf_counter() - first
            print(f"django_rq: published {args.jobs} jobs at {args.jobs / published:.0f}/s; "
                  f"one worker drained them at {(args.jobs - 1) / drained:.0f} jobs/s")
            latencies = []
            for owner in range(args.saves):
                note = Note.objects.create(owner_id=owner, text="x")
                cached.notes_of_owner(owner)
                note.text = "y"
                start = time.perf_counter()
                note.save()
                while cached.notes_of_owner.get_cache_only(owner) is not CACHE_MISSING:
                    time.sleep(0.0002)
                latencies.append((time.perf_counter() - start) * 1000)
            print(f"django_rq ({args.worker_class}): {args.saves} saves, save -> key gone (ms): "
                  f"p50 {_percentile(latencies, 0.5):.1f}  p90 {_percentile(latencies, 0.9):.1f}  "
                  f"p99 {_percentile(latencies, 0.99):.1f}  max {max(latencies):.1f}")
    finally:
        worker.cleanup()
        server.cleanup()
        for path in scratch.iterdir():
            path.unlink()
        scratch.rmdir()


if __name__ == "__main__":
    main()
