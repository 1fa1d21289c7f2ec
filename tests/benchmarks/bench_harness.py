"""Rounds, medians, paired ratios and per-operation counts (standard library + Django).

A comparison runs its contenders alternately inside one process: round 1 runs A's
block then B's block, round 2 again A then B, and so on. A block repeats the operation
``n`` times, ``n`` chosen so that one block lasts at least ``min_block`` seconds (timer
noise is then negligible). Each round gives one time per operation per contender and
one *paired ratio* (A's time over B's time in the same round), so slow drifts of the
machine affect both sides of a ratio alike.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

# make_block(n) prepares n operations (untimed) and returns a callable running them.
BlockFactory = Callable[[int], Callable[[], Any]]

CACHE_METHODS = (
    "get", "get_many", "set", "set_many", "add", "delete", "delete_many", "touch", "incr",
    "get_or_set", "has_key", "clear",
)


@dataclass
class Contender:
    name: str
    make_block: BlockFactory


@dataclass
class Result:
    """Per-operation seconds of every round, per contender, plus counts per operation."""

    times: dict[str, list[float]]
    loops: dict[str, int]
    counts: dict[str, dict[str, float]] = field(default_factory=dict)

    def median(self, name: str) -> float:
        return statistics.median(self.times[name])

    def paired_ratios(self, numerator: str, denominator: str) -> list[float]:
        return paired_ratios(self.times[numerator], self.times[denominator])

    def ratio(self, numerator: str, denominator: str) -> float:
        return statistics.median(self.paired_ratios(numerator, denominator))

    def to_dict(self) -> dict[str, Any]:
        return {
            "median_s": {n: self.median(n) for n in self.times},
            "times_s": self.times,
            "loops": self.loops,
            "counts": self.counts,
        }


def paired_ratios(numerator: list[float], denominator: list[float]) -> list[float]:
    """Round-by-round ratios ``numerator[i] / denominator[i]``."""
    if len(numerator) != len(denominator):
        raise ValueError("paired ratios need the same number of rounds on both sides")
    if any(d <= 0 for d in denominator):
        raise ValueError("a denominator time is not positive")
    return [a / b for a, b in zip(numerator, denominator, strict=True)]


def calibrate(make_block: BlockFactory, min_block: float, max_loops: int = 1_000_000) -> int:
    """Smallest power-of-two-ish loop count whose block lasts ``min_block`` seconds."""
    n = 1
    while True:
        block = make_block(n)
        start = time.perf_counter()
        block()
        elapsed = time.perf_counter() - start
        if elapsed >= min_block or n >= max_loops:
            return n
        # Aim a little above the target, at most 10x per step.
        grow = min(10.0, max(2.0, 1.3 * min_block / max(elapsed, 1e-9)))
        n = min(max_loops, int(n * grow) + 1)


def run_rounds(
    contenders: list[Contender],
    *,
    rounds: int = 15,
    min_block: float = 0.05,
    max_loops: int = 1_000_000,
    warmup: int = 1,
) -> Result:
    """Alternate the contenders (A B A B ...) for ``rounds`` rounds."""
    loops = {c.name: calibrate(c.make_block, min_block, max_loops) for c in contenders}
    for _ in range(warmup):
        for c in contenders:
            c.make_block(loops[c.name])()
    times: dict[str, list[float]] = {c.name: [] for c in contenders}
    for _ in range(rounds):
        for c in contenders:
            n = loops[c.name]
            block = c.make_block(n)
            start = time.perf_counter()
            block()
            times[c.name].append((time.perf_counter() - start) / n)
    return Result(times=times, loops=loops)


# --------------------------------------------------------------------------- counting


class CallCounter:
    """Counts SQL queries, Django cache API calls and Redis round trips/commands."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._local = threading.local()

    @contextmanager
    def active(self) -> Iterator[CallCounter]:
        from django.db import connections

        with self._patch_cache_methods(), self._patch_redis():
            stack = [c.execute_wrapper(self._sql) for c in connections.all()]
            for wrapper in stack:
                wrapper.__enter__()
            try:
                yield self
            finally:
                for wrapper in reversed(stack):
                    wrapper.__exit__(None, None, None)

    def _sql(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        self.counts["sql"] += 1
        return execute(sql, params, many, context)

    @contextmanager
    def _patch_cache_methods(self) -> Iterator[None]:
        from django.core.cache import caches

        patched: list[tuple[Any, str]] = []
        for alias in caches:
            cache = caches[alias]
            for name in CACHE_METHODS:
                original = getattr(cache, name, None)
                if original is None:
                    continue
                setattr(cache, name, self._counting(name, original))
                patched.append((cache, name))
        try:
            yield
        finally:
            for cache, name in patched:
                cache.__dict__.pop(name, None)

    def _counting(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        local = self._local

        def counting(*args: Any, **kwargs: Any) -> Any:
            depth = getattr(local, "depth", 0)
            if depth == 0:
                self.counts["cache_calls"] += 1
                self.counts[f"cache.{name}"] += 1
            local.depth = depth + 1
            try:
                return original(*args, **kwargs)
            finally:
                local.depth = depth

        return counting

    @contextmanager
    def _patch_redis(self) -> Iterator[None]:
        try:
            from redis.connection import AbstractConnection
        except ImportError:
            yield
            return
        send_original = AbstractConnection.send_packed_command
        pack_original = AbstractConnection.pack_command
        counts = self.counts

        def send(conn: Any, command: Any, check_health: bool = True) -> Any:
            counts["redis_roundtrips"] += 1
            return send_original(conn, command, check_health)

        def pack(conn: Any, *args: Any) -> Any:
            counts["redis_commands"] += 1
            return pack_original(conn, *args)

        AbstractConnection.send_packed_command = send  # type: ignore[method-assign]
        AbstractConnection.pack_command = pack  # type: ignore[method-assign]
        try:
            yield
        finally:
            AbstractConnection.send_packed_command = send_original  # type: ignore[method-assign]
            AbstractConnection.pack_command = pack_original  # type: ignore[method-assign]

def count_per_op(make_block: BlockFactory, n: int = 20) -> dict[str, float]:
    """Average counts per operation over ``n`` operations (the block is prepared untimed)."""
    block = make_block(n)
    counter = CallCounter()
    with counter.active():
        block()
    return {k: v / n for k, v in sorted(counter.counts.items())}


def compare(
    contenders: list[Contender], *, count_ops: int = 20, **options: Any
) -> Result:
    """Counts per operation for each contender, then the alternating timed rounds."""
    for c in contenders:  # connections opened, lazy imports done: not counted
        c.make_block(1)()
    counts = {c.name: count_per_op(c.make_block, count_ops) for c in contenders}
    result = run_rounds(contenders, **options)
    result.counts = counts
    return result


def each(op: Callable[[], Any]) -> BlockFactory:
    """A block factory repeating a stateless operation ``n`` times."""

    def make(n: int) -> Callable[[], None]:
        def block() -> None:
            for _ in range(n):
                op()

        return block

    return make


# --------------------------------------------------------------------------- records


def make_record(
    comparison: str,
    title: str,
    backend: str,
    result: Result,
    *,
    ratios: list[tuple[str, str]],
    targets: list[tuple[str, str, float]] = (),  # type: ignore[assignment]
    facts: list[dict[str, Any]] = (),  # type: ignore[assignment]
    notes: str = "",
) -> dict[str, Any]:
    """One comparison's outcome in one process, as stored in the JSON results."""
    return {
        "comparison": comparison,
        "title": title,
        "backend": backend,
        **result.to_dict(),
        "ratios": {
            f"{a}/{b}": {"median": result.ratio(a, b), "rounds": result.paired_ratios(a, b)}
            for a, b in ratios
        },
        "targets": [{"ratio": f"{a}/{b}", "limit": limit} for a, b, limit in targets],
        "facts": list(facts),
        "notes": notes,
    }


def timed(label: str, fn: Callable[[], Any]) -> Any:
    """Run ``fn()`` and print how long it took (progress of a long benchmark process)."""
    import sys

    start = time.perf_counter()
    value = fn()
    print(f"[bench]   {label}: {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    return value
