"""What the rig measures besides Locust's own figures.

* latency from each request's scheduled time (the locustfile's ``RESTFLOW_SOAK_LATENCY``):
  percentiles that a slow server cannot hide by lowering the load it is offered;
* server CPU per request: user + system time of the server's processes (the master, its
  workers, and the workers it reaped) over a run, from /proc through psutil;
* a monitor for long soaks: resident memory of the web and broker worker processes and
  the Redis key count, sampled every few seconds, to show whether they stay flat.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import threading
import time
from pathlib import Path
from typing import Any


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` in 0..1) of ``values``; 0.0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered) - 1e-9)))
    return ordered[rank - 1]


def scheduled_latency(path: Path) -> dict[str, float]:
    """p50 / p99 / max (ms) of the latencies the locustfile timed from each schedule slot."""
    if not path.exists():
        return {}
    values = json.loads(path.read_text())
    return {
        "p50_sched": percentile(values, 0.50),
        "p99_sched": percentile(values, 0.99),
        "max_sched": max(values, default=0.0),
    }


def _tree(pid: int) -> list[Any]:
    import psutil  # Locust's dependency: the rig's venv has it, the test suite needs it not

    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    return []


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of ``pid``, its live descendants and the children it reaped."""
    if pid is None:
        return 0.0
    total = 0.0
    for index, process in enumerate(_tree(pid)):
        with contextlib.suppress(Exception):  # gone meanwhile
            times = process.cpu_times()
            total += times.user + times.system
            if index == 0:  # the master: what its reaped workers used
                total += times.children_user + times.children_system
    return total


def rss_mib(pid: int | None) -> float:
    """Resident memory of ``pid`` and its descendants, in MiB."""
    if pid is None:
        return 0.0
    total = 0
    for process in _tree(pid):
        with contextlib.suppress(Exception):  # gone meanwhile
            total += process.memory_info().rss
    return total / 2**20


class Monitor(threading.Thread):
    """Samples (seconds since start, web MiB, worker MiB, Redis keys, Redis used MiB)."""

    def __init__(self, web: int | None, worker: int | None, redis_url: str, every: float = 5.0) -> None:
        super().__init__(daemon=True)
        self.web, self.worker, self.redis_url, self.every = web, worker, redis_url, every
        self.samples: list[tuple[float, float, float, int, float]] = []
        self.stopped = threading.Event()
        self.kinds: dict[str, int] = {}  # the keys at the end, by shape (see stop)

    def run(self) -> None:
        import redis

        client = redis.Redis.from_url(self.redis_url, socket_timeout=2)
        started = time.monotonic()
        try:
            while not self.stopped.wait(self.every):
                keys, used = -1, -1.0
                with contextlib.suppress(redis.RedisError):
                    keys = int(client.dbsize())
                    used = int(client.info("memory")["used_memory"]) / 2**20
                self.samples.append(
                    (time.monotonic() - started, rss_mib(self.web), rss_mib(self.worker), keys, used)
                )
        finally:
            client.close()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=10)
        self.kinds = key_kinds(self.redis_url)

    def growth(self) -> dict[str, str]:
        rows = self._growth()
        if rows and self.kinds:
            top = sorted(self.kinds.items(), key=lambda item: -item[1])[:6]
            # In a code span, a | does not end the table cell.
            rows["Redis keys at the end, by shape"] = "<br>".join(f"`{shape}`: {n}" for shape, n in top)
        return rows

    def _growth(self) -> dict[str, str]:
        """First sample after a warm-up fifth of the run, last, and peak, per measure."""
        if len(self.samples) < 3:
            return {}
        warm = self.samples[len(self.samples) // 5 :]
        first, last = warm[0], warm[-1]
        rows = {"samples: first / last (s into the run)": f"{first[0]:.0f} / {last[0]:.0f}"}
        for index, name, unit in ((1, "web processes RSS", "MiB"), (2, "broker worker RSS", "MiB"),
                                  (3, "Redis keys", ""), (4, "Redis used memory", "MiB")):  # fmt: skip
            peak = max(sample[index] for sample in warm)
            rows[f"{name}: first / last / peak"] = (
                f"{first[index]:.1f} / {last[index]:.1f} / {peak:.1f} {unit}".rstrip()
            )
        return rows


_VARYING = re.compile(r"[0-9a-fA-F]{6,}|[A-Za-z0-9_-]{20,}|\d+")


def shape_of(key: str) -> str:
    return _VARYING.sub("*", key)


def key_kinds(redis_url: str, limit: int = 100_000) -> dict[str, int]:
    """The Redis keys counted by shape: runs of digits, hex and token-like text become ``*``."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    kinds: dict[str, int] = {}
    try:
        for index, key in enumerate(client.scan_iter(count=1000)):
            if index >= limit:
                break
            shape = shape_of(key.decode(errors="replace"))
            kinds[shape] = kinds.get(shape, 0) + 1
    except redis.RedisError:
        return kinds
    finally:
        client.close()
    return kinds
