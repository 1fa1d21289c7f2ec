"""Run every comparison in fresh processes and write the report (``nox -s bench``).

    python tests/benchmarks/bench_run.py [--processes 3] [--groups jwt,cache,...]

Starts a private redis-server, runs each group of comparisons in ``--processes`` fresh
Python processes (one after the other), aggregates, and writes
``docs/benchmarks/results.{md,json}``, the PNG charts and ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE), str(ROOT / "tests" / "testbed")]

import bench_docs  # noqa: E402
import bench_first_request  # noqa: E402
import bench_report  # noqa: E402
import bench_startup  # noqa: E402
from restflow_testbed.memcached_server import MemcachedServer  # noqa: E402
from restflow_testbed.redis_cluster import RedisCluster  # noqa: E402
from restflow_testbed.redis_server import RedisServer  # noqa: E402

GROUPS = ("jwt", "cache", "invalidation", "startup", "brokers", "fastpaths", "scaleout")
# Fresh processes per group (the invalidation group fills 2 x 200,000 keys per process).
DEFAULT_PROCESSES = {
    "jwt": 3, "cache": 2, "invalidation": 2, "brokers": 1, "fastpaths": 3, "scaleout": 1
}
# Comparison-id prefix of each group's rows (a subset run keeps the other groups' rows).
PREFIXES = {
    "jwt": ("jwt.",),
    "cache": ("cache_result.", "cache_response."),
    "invalidation": ("invalidation.", "delete_by_prefix.", "stampede.", "memory."),
    "startup": ("startup",),
    "brokers": ("brokers.",),
    "fastpaths": ("fastpath.",),
    "scaleout": ("scaleout.",),
}


def _env(redis_url: str, workdir: Path, run_id: str) -> dict[str, str]:
    paths = [str(ROOT / "tests" / "testbed"), str(HERE)]
    if os.environ.get("PYTHONPATH"):
        paths.append(os.environ["PYTHONPATH"])
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(paths),
        "DJANGO_SETTINGS_MODULE": "bench_settings",
        "RESTFLOW_BENCH_REDIS_URL": redis_url,
        "RESTFLOW_BENCH_DIR": str(workdir),
        "RESTFLOW_BENCH_RUN_ID": run_id,
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def run_group(group: str, processes: int, env: dict[str, str], workdir: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for index in range(processes):
        output = workdir / f"{group}-{index}.json"
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, str(HERE / "bench_process.py"), group, str(output)],
            env={**env, "RESTFLOW_BENCH_RUN_ID": f"{env['RESTFLOW_BENCH_RUN_ID']}-{group}-{index}"},
            timeout=900,
            check=False,
        )
        print(f"[bench] {group} process {index + 1}/{processes}: exit {proc.returncode}, "
              f"{time.monotonic() - started:.0f} s", flush=True)
        if proc.returncode != 0:
            raise SystemExit(f"benchmark group {group!r} failed (exit {proc.returncode})")
        records += json.loads(output.read_text())["records"]
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--processes", type=int, default=0, help="fresh processes per group")
    parser.add_argument("--groups", default=",".join(GROUPS))
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks"))
    parser.add_argument("--page", default=str(ROOT / "docs" / "benchmarks.md"))
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the tables, charts and page from the existing results.json")
    args = parser.parse_args(argv)
    if args.report_only:
        saved = json.loads((Path(args.out) / "results.json").read_text())
        return _report(saved["rows"], saved["meta"], Path(args.out), Path(args.page))
    groups = [g for g in args.groups.split(",") if g]
    started = time.monotonic()
    load_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    records: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="restflow-bench-") as tmp, RedisServer() as redis:
        workdir = Path(tmp)
        env = _env(redis.url, workdir, str(os.getpid()))
        for group in groups:
            if group == "startup":
                records += bench_startup.run(env=env)
                records += bench_first_request.run(env=env)
                print("[bench] startup done", flush=True)
                continue
            processes = args.processes or DEFAULT_PROCESSES[group]
            if group == "scaleout":
                records += _run_scaleout(processes, env, workdir)
                continue
            records += run_group(group, processes, env, workdir)
        meta = bench_docs.machine(redis_url=redis.url)
    meta["duration_s"] = time.monotonic() - started
    meta["load_average_start"] = load_start
    meta["groups"] = groups
    meta["processes"] = {g: args.processes or DEFAULT_PROCESSES[g] for g in groups if g != "startup"}
    meta["load_by_group"] = {g: load_start for g in groups}
    run = f"{meta['date_utc']}, commit {meta['git_commit']}, load average {load_start}"
    meta["run_by_group"] = {g: run for g in groups}
    rows = bench_report.aggregate(records)
    return _report(*_keep_other_groups(rows, meta, groups, Path(args.out)), Path(args.out), Path(args.page))


def _run_scaleout(processes: int, env: dict[str, str], workdir: Path) -> list[dict[str, Any]]:
    """The scale-out group on its own 3+3 Redis Cluster and two-server memcached pool."""
    cluster = RedisCluster()
    pool = [MemcachedServer(), MemcachedServer()]
    try:
        cluster.start()
        cluster.wait_replicated()  # the WAIT row needs every replica past its first sync
        for server in pool:
            server.start()
        env = {
            **env,
            "RESTFLOW_BENCH_CLUSTER_URL": cluster.url,
            "RESTFLOW_BENCH_MEMCACHED": ",".join(server.location for server in pool),
        }
        return run_group("scaleout", processes, env, workdir)
    finally:
        cluster.cleanup()
        for server in pool:
            server.cleanup()


def _keep_other_groups(rows: list[dict[str, Any]], meta: dict[str, Any], groups: list[str],
                       out: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A subset run replaces its groups' rows in the saved results and keeps the others'
    (with their process counts and load averages), so the page stays whole."""
    saved_path = out / "results.json"
    if set(groups) == set(GROUPS) or not saved_path.exists():
        return rows, meta
    saved = json.loads(saved_path.read_text())
    mine = tuple(p for g in groups for p in PREFIXES[g])
    kept = [r for r in saved["rows"] if not r["comparison"].startswith(mine)]
    old = saved["meta"]
    meta["processes"] = {**old.get("processes", {}), **meta["processes"]}
    meta["load_by_group"] = {**old.get("load_by_group", {}), **meta["load_by_group"]}
    earlier = (f"{old['date_utc']}, commit {old['git_commit']}, load average "
               f"{old.get('load_average_start', '?')}")
    meta["run_by_group"] = {
        **{g: old.get("run_by_group", {}).get(g, earlier) for g in old.get("groups", GROUPS)},
        **meta["run_by_group"],
    }
    meta["groups"] = sorted(set(old.get("groups", [])) | set(groups), key=GROUPS.index)
    return kept + rows, meta


def _report(rows: list[dict[str, Any]], meta: dict[str, Any], out: Path, page: Path) -> int:
    table, images = bench_report.write(rows, meta, out)
    folder = Path(os.path.relpath(out.resolve(), page.resolve().parent))
    old = page.read_text() if page.exists() else ""
    page.write_text(bench_docs.page(rows, meta, table, images, folder) + bench_docs.kept_tail(old))
    missed = [r["comparison"] for r in rows if r["status"] == "missed"]
    print(f"[bench] {len(rows)} comparisons in {meta['duration_s']:.0f} s; missed: {missed or 'none'}")
    print(f"[bench] wrote {out}/results.md, results.json, {len(images)} charts and {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
