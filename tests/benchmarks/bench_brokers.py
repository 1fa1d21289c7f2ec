"""End-to-end invalidation through each broker (save -> entry gone) vs its no-op round trip.

Per broker: start one real worker, then alternate (A B A B ...) a save whose rule goes
through that broker (latency until the cached entry reads as a miss) and the broker's
no-op job (latency until its single cache write is visible), observed the same way.
"""

from __future__ import annotations

import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_harness import timed
from django.core.cache import caches

from restflow.caching import CACHE_MISSING

HERE = Path(__file__).resolve().parent
# 500 saves per broker; on a small, busy machine RESTFLOW_BENCH_BROKER_SAVES=200 keeps
# `nox -s bench` well within its time box (the page states the count each run used).
SAVES = int(os.environ.get("RESTFLOW_BENCH_BROKER_SAVES", "500"))
READY_TIMEOUT = 120.0
WAIT_TIMEOUT = 30.0

WORKERS = {
    "celery": ["-m", "celery", "-A", "bench_celery", "worker", "--pool=solo", "--concurrency=1",
               "-Q", "celery", "--loglevel=WARNING", "--without-mingle", "--without-gossip",
               "--without-heartbeat"],
    # SimpleWorker runs jobs in the worker process (no fork per job) for both contenders.
    "django_rq": ["-m", "django", "rqworker", "default", "--worker-class", "rq.worker.SimpleWorker"],
    "dramatiq": ["-m", "dramatiq", "bench_dramatiq", "--processes", "1", "--threads", "1"],
    "django_q": ["-m", "django", "qcluster"],
}


class Worker:
    def __init__(self, name: str) -> None:
        self.name = name
        fd, log = tempfile.mkstemp(prefix=f"restflow-bench-{name}-", suffix=".log")
        os.close(fd)
        self.log_path = Path(log)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench_broker_settings", "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, *WORKERS[self.name]], cwd=str(HERE), env=env,
                stdout=log, stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self.log_path.unlink(missing_ok=True)

    def tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]


def _enqueuer(name: str) -> Callable[[str], Any]:
    """A function sending the broker's no-op job with one argument."""
    if name == "celery":
        from bench_tasks import celery_app

        app: Any = celery_app()
        app.set_current()
        app.set_default()
        return lambda key: app.send_task("bench.noop", args=[key])
    if name == "django_rq":
        import django_rq

        queue = django_rq.get_queue("default")
        return lambda key: queue.enqueue("bench_tasks.noop", key)
    if name == "dramatiq":
        import dramatiq
        from bench_tasks import dramatiq_broker

        dramatiq_broker()
        actor = dramatiq.get_broker().get_actor("bench_noop")
        return lambda key: actor.send(key)
    if name == "django_q":
        from django_q.tasks import async_task

        return lambda key: async_task("bench_tasks.noop", key)
    raise ValueError(name)


def _wait(condition: Callable[[], bool], timeout: float = WAIT_TIMEOUT) -> float:
    """Seconds until ``condition()`` holds (polled every 0.5 ms); raises on timeout."""
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > timeout:
            raise TimeoutError("the job did not complete in time")
        time.sleep(0.0005)
    return time.perf_counter() - start


def _present(cache: Any, key: str) -> bool:
    return cache.get(key) is not None


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_broker(name: str, saves: int) -> dict[str, Any]:
    from bench_app.cached import broker_functions
    from bench_app.models import CeleryRow, DjangoQRow, DramatiqRow, RqRow

    model = {"celery": CeleryRow, "django_rq": RqRow, "dramatiq": DramatiqRow, "django_q": DjangoQRow}[name]
    fn = broker_functions[name]
    cache = caches["default"]
    row = model.objects.create(group_id=1, title="t")
    enqueue = _enqueuer(name)
    worker = Worker(name)
    worker.start()
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        ready = False
        while not ready and time.monotonic() < deadline:
            key = f"bench:ready:{name}:{time.monotonic()}"
            enqueue(key)
            try:
                _wait(functools.partial(_present, cache, key), timeout=5)
                ready = True
            except TimeoutError:
                if worker.proc is not None and worker.proc.poll() is not None:
                    break
        if not ready:
            raise RuntimeError(f"{name} worker not ready:\n{worker.tail()}")
        save_times: list[float] = []
        call_times: list[float] = []
        noop_times: list[float] = []
        for i in range(saves + 5):  # the first 5 pairs warm up
            fn(1)
            assert fn.get_cache_only(1) is not CACHE_MISSING
            start = time.perf_counter()
            row.title = f"t{i}"
            row.save()
            call = time.perf_counter() - start
            _wait(lambda: fn.get_cache_only(1) is CACHE_MISSING)
            elapsed = time.perf_counter() - start
            key = f"bench:noop:{name}:{i}"
            start = time.perf_counter()
            enqueue(key)
            _wait(functools.partial(_present, cache, key))
            noop = time.perf_counter() - start
            if i >= 5:
                save_times.append(elapsed)
                call_times.append(call)
                noop_times.append(noop)
    finally:
        worker.stop()
    metrics = {
        "save_p50_ms": 1000 * statistics.median(save_times),
        "save_p99_ms": 1000 * _percentile(save_times, 0.99),
        "save_call_p50_ms": 1000 * statistics.median(call_times),
        "save_call_p99_ms": 1000 * _percentile(call_times, 0.99),
        "noop_p50_ms": 1000 * statistics.median(noop_times),
        "noop_p99_ms": 1000 * _percentile(noop_times, 0.99),
    }
    metrics["p99_ratio"] = metrics["save_p99_ms"] / metrics["noop_p99_ms"]
    metrics["p50_ratio"] = metrics["save_p50_ms"] / metrics["noop_p50_ms"]
    return {
        "comparison": f"brokers.{name}",
        "title": f"End-to-end invalidation through {name} (save -> entry gone), {saves} saves",
        "backend": "redis",
        "metrics": metrics,
        "params": {"saves": saves},
        "targets": [{"metric": "p99_ratio", "limit": 2.0}],
        "facts": [],
        "notes": "save = row.save() (DB write + publish) until the entry reads as a miss (save_call = "
        "until save() returns); noop = enqueue "
        "of the broker's own job writing one cache key until that key is visible. One worker, "
        "one process/thread (RQ: SimpleWorker, no fork per job).",
    }


def run() -> list[dict[str, Any]]:
    return [timed(name, lambda name=name: bench_broker(name, SAVES)) for name in WORKERS]
