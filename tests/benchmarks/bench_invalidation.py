"""Write-path comparisons: save() with rules, delete_by_prefix at scale, stampede, memory."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

from bench_env import caches_for
from bench_harness import Contender, compare, count_per_op, each, make_record, run_rounds, timed
from django.core.cache import caches
from django.test import override_settings

from restflow.caching import CACHE_MISSING, ArgsKeyField, KeyConstructor, cache_result, envelope, tokens

OPTIONS: dict[str, Any] = {"rounds": 11, "min_block": 0.05}

# --------------------------------------------------------------------------- save()


def _saving(model: Any) -> Any:
    row = model.objects.create(group_id=1, title="t")

    def make(n: int) -> Any:
        def block() -> None:
            for i in range(n):
                row.title = f"t{i}"
                row.save()

        return block

    return make


@contextlib.contextmanager
def _commits_without_fsync() -> Iterator[None]:
    """Commits that do not wait for the disk, so the save rows measure restflow's work
    and one SQL statement, not an fsync (on a loaded machine that alone made a plain
    save vary from 1 to 17 ms)."""
    from django.db import connection

    sqlite = connection.vendor == "sqlite"
    with connection.cursor() as cursor:
        if sqlite:
            cursor.execute("PRAGMA synchronous")
            synchronous = int(cursor.fetchone()[0])
            cursor.execute("PRAGMA journal_mode")
            journal = str(cursor.fetchone()[0])
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA journal_mode=MEMORY")
        else:
            cursor.execute("SET synchronous_commit TO off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if sqlite:
                cursor.execute(f"PRAGMA synchronous={synchronous}")
                cursor.execute(f"PRAGMA journal_mode={journal}")
            else:
                cursor.execute("RESET synchronous_commit")


def bench_save(backend: str) -> dict[str, Any]:
    from bench_app.cached import rules_functions
    from bench_app.models import PlainRow, Rules1Row, Rules10Row, Rules100Row

    with override_settings(CACHES=caches_for(backend)), _commits_without_fsync():
        caches["default"].clear()
        for functions in rules_functions.values():
            for fn in functions:
                fn(1)  # entries exist, as in production
        contenders = [
            Contender("plain", _saving(PlainRow)),
            Contender("rules_1", _saving(Rules1Row)),
            Contender("rules_10", _saving(Rules10Row)),
            Contender("rules_100", _saving(Rules100Row)),
        ]
        result = compare(contenders, count_ops=5, **OPTIONS)
        assert rules_functions[100][-1].get_cache_only(1) is CACHE_MISSING
    calls = {name: result.counts[name].get("cache_calls", 0.0) for name in result.times}
    one_trip = all(calls[f"rules_{n}"] <= 1.0 for n in (1, 10, 100))
    per_rule_us = (result.median("rules_100") - result.median("rules_1")) / 99 * 1e6
    return make_record(
        f"invalidation.save.{backend}",
        f"save() with 1, 10, 100 invalidation rules (inline dispatcher, {backend})",
        backend,
        result,
        ratios=[("rules_1", "plain"), ("rules_10", "plain"), ("rules_100", "plain")],
        targets=[("rules_100", "plain", 2.0)] if backend == "locmem" else [],
        facts=[{
            "label": "all rules of one save in at most one cache round trip",
            "ok": one_trip,
            "value": {k: v for k, v in calls.items() if k != "plain"},
        }, {
            "label": "cost of one more rule (100 vs 1 rules) <= 1 us",
            "ok": per_rule_us <= 1.0,
            "value": round(per_rule_us, 3),
        }],
        notes="Default (inline) dispatcher; one field_mapping rule per cached function, "
        "all on the saved model (key = its partition field); autocommit, so invalidation "
        "runs at save time. Commits do not wait for the disk (SQLite synchronous=OFF, "
        "journal in memory; PostgreSQL synchronous_commit=off): the rows measure the "
        "save's work, not an fsync. Cost of one more rule: (rules_100 - rules_1) / 99, "
        "the backend's write of its scope included.",
    )


# --------------------------------------------------------------------------- delete_by_prefix


class FeedKey(KeyConstructor):
    tenant = ArgsKeyField("tenant", partition=True)
    item = ArgsKeyField("item")

    class Meta:
        namespace = "bench-feed"


@cache_result(FeedKey, ttl=600)
def feed(tenant: int, item: int) -> str:
    return f"{tenant}:{item}"


def _fill(tenant: int, count: int, chunk: int = 5000) -> list[str]:
    """``count`` valid entries of ``tenant`` (one real call, the rest written in batches
    with the wrapper's own envelope and scope tokens); returns their entry keys."""
    cache = caches["default"]
    feed(tenant, 0)
    version = feed.get_key_version()
    first = feed._plan((tenant, 0), {})
    shared = cache.get_many(first.scopes[:-1], version=version)
    life = tokens.scope_life(600)
    keys = [first.key]
    batch: dict[str, Any] = {}
    now = time.time()
    for item in range(1, count):
        plan = feed._plan((tenant, item), {})
        token = tokens.new_token(life, now)
        stamp = (*(shared[s] for s in plan.scopes[:-1]), token)
        batch[plan.key] = envelope.make_envelope(f"{tenant}:{item}", stamp, 600, now)
        batch[plan.scopes[-1]] = token
        keys.append(plan.key)
        if len(batch) >= chunk:
            cache.set_many(batch, timeout=600, version=version)
            batch = {}
    if batch:
        cache.set_many(batch, timeout=600, version=version)
    assert feed.get_cache_only(tenant, count - 1) == f"{tenant}:{count - 1}"
    return keys


def _fill_unrelated(count: int, chunk: int = 5000) -> None:
    cache = caches["default"]
    for start in range(0, count, chunk):
        cache.set_many({f"unrelated:{i}": "x" * 64 for i in range(start, min(count, start + chunk))}, 600)


def _prefix_record(
    backend: str, label: str, tenant: int, keys: list[str], unrelated: int = 0
) -> dict[str, Any]:
    cache = caches["default"]
    version = feed.get_key_version()
    result = compare(
        [
            Contender("restflow", each(lambda: feed.delete_by_prefix(tenant=tenant))),
            Contender("delete_many", each(lambda: cache.delete_many(keys, version=version))),
            Contender("single_set", each(lambda: cache.set("bench:single", "v", 600))),
        ],
        count_ops=1,
        **{**OPTIONS, "rounds": 5 if len(keys) <= 1000 else 3, "warmup": 0},
    )
    gone = feed.get_cache_only(tenant, len(keys) - 1) is CACHE_MISSING
    record = make_record(
        f"delete_by_prefix.{backend}.{len(keys)}{'+unrelated' if unrelated else ''}",
        f"delete_by_prefix, {label} ({backend})",
        backend,
        result,
        ratios=[("restflow", "single_set"), ("restflow", "delete_many")],
        targets=[("restflow", "single_set", 1.5)],
        facts=[{"label": "partition entries unreadable afterwards", "ok": gone, "value": gone}],
        notes="delete_many deletes the partition's known entry keys (absent after its first run).",
    )
    record["params"] = {"entries": len(keys), "unrelated": unrelated}
    return record


def bench_delete_by_prefix(backend: str) -> list[dict[str, Any]]:
    records = []
    with override_settings(CACHES=caches_for(backend)):
        caches["default"].clear()
        for tenant, size, label in ((1, 1, "1 entry"), (2, 1000, "1,000 entries"),
                                    (3, 100_000, "100,000 entries")):
            records.append(_prefix_record(backend, label, tenant, _fill(tenant, size)))
        _fill_unrelated(100_000)
        records.append(
            _prefix_record(backend, "1 entry + 100,000 unrelated keys", 4, _fill(4, 1), 100_000)
        )
    base = records[0]["counts"]["restflow"]
    same = all(r["counts"]["restflow"] == base for r in records)
    for record in records:
        record["facts"].append({
            "label": "same cache command count at every size",
            "ok": same,
            "value": record["counts"]["restflow"],
        })
    return records


# --------------------------------------------------------------------------- stampede

RUNS = {"count": 0}
_runs_lock = threading.Lock()


def _slow(key: int) -> int:
    with _runs_lock:
        RUNS["count"] += 1
    time.sleep(0.05)
    return key


def _counted(name: str, lock: bool) -> Any:
    _slow.__name__ = _slow.__qualname__ = name
    return cache_result(key_constructor={"fields": {"k": ArgsKeyField("key")}}, ttl=600, lock=lock)(_slow)


with_lock = _counted("stampede_with_lock", True)
without_lock = _counted("stampede_without_lock", False)
_serial = iter(range(1, 10**9))


def _stampede(fn: Any, threads: int = 64) -> int:
    """``threads`` concurrent first calls of one new key; returns how often ``fn`` ran."""
    key = next(_serial)
    barrier = threading.Barrier(threads)
    before = RUNS["count"]
    results: list[Any] = []

    def worker() -> None:
        barrier.wait()
        results.append(fn(key))

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=60)
    assert results == [key] * threads, "every caller gets the value"
    return RUNS["count"] - before


def bench_stampede(backend: str) -> dict[str, Any]:
    with override_settings(CACHES=caches_for(backend)):
        caches["default"].clear()
        runs = {
            "with_lock": [_stampede(with_lock) for _ in range(3)],
            "without_lock": [_stampede(without_lock) for _ in range(3)],
        }

        def stampedes(fn: Any) -> Any:
            return lambda n: (lambda: [_stampede(fn) for _ in range(n)])

        result = run_rounds(
            [
                Contender("with_lock", stampedes(with_lock)),
                Contender("without_lock", stampedes(without_lock)),
            ],
            rounds=5, min_block=0.05, max_loops=1, warmup=0,
        )
    result.counts = {name: {"function_runs": sum(r) / len(r)} for name, r in runs.items()}
    return make_record(
        f"stampede.{backend}",
        f"Stampede: 64 concurrent misses on one key ({backend})",
        backend,
        result,
        ratios=[("with_lock", "without_lock")],
        facts=[{
            "label": "function runs once with stampede control",
            "ok": all(r == 1 for r in runs["with_lock"]),
            "value": runs,
        }],
        notes="The function sleeps 50 ms; times are wall time of one whole stampede.",
    )


# --------------------------------------------------------------------------- memory

VALUE = "v" * 1024


@cache_result(key_constructor={"fields": {"i": ArgsKeyField("i")}}, ttl=600)
def kilobyte(i: int) -> str:
    return VALUE


def bench_memory(entries: int = 500) -> dict[str, Any]:
    """Bytes restflow adds per entry: the entry (envelope) and its own key scope, against a
    plain ``cache.set`` of the same value under a key of the same length (the entry key at
    the next version), so the key name itself, which any cache pays, is not counted."""
    import pickle

    import redis
    from bench_env import redis_url

    with override_settings(CACHES=caches_for("redis")):
        cache = caches["default"]
        cache.clear()
        client = redis.Redis.from_url(redis_url(0))
        version = kilobyte.get_key_version()
        ours = raw = shared = envelope = 0
        encodings: set[str] = set()
        for i in range(entries):
            kilobyte(i)
            plan = kilobyte._plan((i,), {})
            entry_key = cache.make_key(plan.key, version=version)
            scope_key = cache.make_key(plan.scopes[-1], version=version)
            ours += client.memory_usage(entry_key) or 0
            ours += client.memory_usage(scope_key) or 0
            encodings.add(client.object("encoding", scope_key).decode())
            cache.set(plan.key, VALUE, 600, version=version + 1)
            raw += client.memory_usage(cache.make_key(plan.key, version=version + 1)) or 0
            stored = pickle.loads(client.get(entry_key))  # noqa: S301 - our own entry
            envelope += len(pickle.dumps(stored, 5)) - len(pickle.dumps(VALUE, 5))
        for scope in kilobyte._plan((0,), {}).scopes[:-1]:
            shared += client.memory_usage(cache.make_key(scope, version=version)) or 0
        client.close()
    per_entry = (ours - raw) / entries
    return {
        "comparison": "memory.metadata",
        "title": "Memory: metadata bytes per cached 1 KB entry (Redis MEMORY USAGE)",
        "backend": "redis",
        "metrics": {
            "metadata_bytes_per_entry": per_entry,
            "raw_entry_bytes": raw / entries,
            "restflow_entry_bytes": ours / entries,
            "metadata_share_of_1kb": per_entry / 1024,
            "envelope_pickle_bytes": envelope / entries,
            "shared_scope_bytes_total": shared,
        },
        "targets": [{"metric": "metadata_bytes_per_entry", "limit": 102.4}],
        "facts": [{
            "label": "key scope tokens stored as Redis integers",
            "ok": encodings == {"int"},
            "value": sorted(encodings),
        }],
        "notes": "restflow = entry + its key scope (MEMORY USAGE); raw = cache.set of the same "
        "1 KB value under a key of the same length. envelope_pickle_bytes = pickled envelope "
        "minus pickled value (Redis rounds allocations to size classes, which can hide it). "
        "Shared (function/partition) scopes are one-off and listed separately.",
    }


def run() -> list[dict[str, Any]]:
    records = [timed("save locmem", lambda: bench_save("locmem")),
               timed("save redis", lambda: bench_save("redis"))]
    records += timed("delete_by_prefix locmem", lambda: bench_delete_by_prefix("locmem"))
    records += timed("delete_by_prefix redis", lambda: bench_delete_by_prefix("redis"))
    records += [timed("stampede redis", lambda: bench_stampede("redis")),
                timed("stampede locmem", lambda: bench_stampede("locmem")),
                timed("memory", bench_memory)]
    return records


__all__ = ["count_per_op", "run"]
