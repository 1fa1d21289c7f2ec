"""The HTTP rig: the demo API under gunicorn, Locust headless, restflow vs the peers.

    python tests/soak/soak_run.py load|soak [--seconds 60] [--users 16] [--fault ...]

``nox -s load`` and ``nox -s soak`` run this file. Per build (restflow, then the peers'
simplejwt + drf-extensions build): a fresh PostgreSQL database (``RESTFLOW_SOAK_PG_URL``)
migrated and seeded, gunicorn (4 sync workers; or ``--server uvicorn``, 2 ASGI workers,
with the demo's async view in the mix: ``soak_mix``) on a free loopback port, Locust
headless for a bounded time and number of requests, then the checks (``soak_checks``).
``soak`` adds a worker (Celery, or ``--broker rq|dramatiq|django_q``) that runs the
invalidation jobs, and one fault, injected by pid in the middle of the run. One private
``redis-server`` (cache, blacklist, broker) serves the whole run. Every process the rig
starts is stopped by pid on the way out.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
EXAMPLE = ROOT / "docs" / "example"
sys.path[:0] = [str(HERE), str(EXAMPLE), str(ROOT / "tests" / "testbed")]

import demo  # noqa: E402  (docs/example/demo.py: Process, free_port, worker_command)
import soak_chart  # noqa: E402
import soak_checks  # noqa: E402
import soak_faults  # noqa: E402
import soak_measure  # noqa: E402
import soak_mix  # noqa: E402
import soak_page  # noqa: E402
from restflow_testbed.redis_server import RedisServer  # noqa: E402

BUILDS = {
    "restflow": ("soak_settings", "restflow-jwt + restflow-cache"),
    "peers": ("peer_settings", "djangorestframework-simplejwt + drf-extensions"),
}
QUEUE = "restflow-demo"  # the demo's Celery queue (catalogue_project/settings.py)
PAGE = ROOT / "docs" / "benchmarks.md"
QUIESCE_TIMEOUT = 30.0
AFTER_FAULT = 10.0  # seconds after a fault that still count as "around" it


# --------------------------------------------------------------------------- database


def _admin_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres"))


def own_database(url: str) -> str:
    """The rig's database name; it is dropped and faulted, so it must be the rig's own."""
    name = urlsplit(url).path.strip("/")
    if "soak" not in name:
        raise SystemExit(f"RESTFLOW_SOAK_PG_URL names the database {name!r}: the rig drops it and "
                         "terminates its connections, so use a database of its own (e.g. restflow_soak)")
    return name


def reset_database(url: str) -> None:
    """Drop and create the rig's own database: each build starts from the same data."""
    import psycopg

    name = own_database(url)
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def committed_prices(url: str) -> dict[int, int]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT id, price FROM catalogue_book").fetchall()
    return {int(book_id): int(Decimal(price) * 100) for book_id, price in rows}


def signing_key(state: Path) -> Path:
    """One ES256 key for every process of the run (each would otherwise make its own)."""
    path = state / "jwt-es256.pem"
    if not path.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        key = ec.generate_private_key(ec.SECP256R1())
        path.write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ))
    return path


# --------------------------------------------------------------------------- HTTP


def call(base: str, method: str, path: str, body: Any = None, token: str = "") -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)  # noqa: S310 - http only
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None


def served_prices(base: str) -> dict[str, int]:
    """What the API serves after the run: every book's row in the list, its detail and its
    summary (the async endpoint)."""
    login = {"username": "ada", "password": "ada-demo-password"}
    status, tokens = call(base, "POST", "/api/auth/token/", login)
    if status != 200:
        raise RuntimeError(f"cannot sign in after the run (HTTP {status})")
    access = tokens["access"]
    status, books = call(base, "GET", "/api/books/", token=access)
    if status != 200:
        raise RuntimeError(f"GET /api/books/ after the run: HTTP {status}")
    served = {f"list book:{b['id']}": int(Decimal(b["price"]) * 100) for b in books}
    for book in books:
        status, detail = call(base, "GET", f"/api/books/{book['id']}/", token=access)
        if status == 200:
            served[f"detail book:{book['id']}"] = int(Decimal(detail["price"]) * 100)
        status, summary = call(base, "GET", f"/api/books/{book['id']}/summary/", token=access)
        if status == 200:
            served[f"summary book:{book['id']}"] = int(Decimal(summary["price"]) * 100)
    return served


# --------------------------------------------------------------------------- runs


@dataclass
class BuildRun:
    build: str
    figures: dict[str, float] = field(default_factory=dict)
    verdict: soak_checks.Verdict | None = None
    faults: list[str] = field(default_factory=list)
    window: tuple[float, float] | None = None  # wall-clock start and end of the fault
    recording: soak_checks.Recording | None = None
    fallbacks: int = 0
    unacked: int | None = None  # Celery jobs delivered but never acknowledged, at quiesce

    outage: soak_checks.Outage | None = None
    steps: list[tuple[float | None, dict[str, float]]] = field(default_factory=list)
    memory: dict[str, str] = field(default_factory=dict)  # the soak monitor's rows

    def verdict_failures(self, index: int) -> int:
        """5xx the Locust run of phase ``index`` saw."""
        return int(self.steps[index][1].get("failures_5xx", 0))

    def fault_rows(self) -> dict[str, str]:
        """What users saw around the fault, and how long until errors stopped and reads
        were fresh again after it ended."""
        if self.outage is None or self.verdict is None or self.recording is None:
            return {}
        start, end = self.outage.start, self.outage.end
        errors = [e.at for e in self.recording.errors if e.at]
        recovery = self.verdict.recovery
        return {
            "fault lasted (s)": f"{end - start:.1f}",
            "5xx or unanswered before the fault": str(sum(1 for t in errors if t < start)),
            "5xx or unanswered during the fault": str(sum(1 for t in errors if start <= t <= end)),
            "5xx or unanswered after the fault": str(sum(1 for t in errors if t > end)),
            "book reads answered during the fault": str(
                sum(1 for r in self.recording.reads if start <= r.started <= end)),
            "recovery: last error, s after the fault ended": (
                f"{recovery.errors:.1f}" if recovery else "-"),
            "recovery: last stale read (> bound), s after the fault ended": (
                f"{recovery.reads:.1f}" if recovery else "-"),
        }


def run_locust(
    build: str, index: int, rate: float | None, base: str, env: dict[str, str],
    args: argparse.Namespace, state: Path, server_pid: int | None,
) -> tuple[dict[str, float], Path]:  # fmt: skip
    """One headless Locust run at ``rate`` tasks/s per user (None: closed loop): its
    figures (Locust's, from the schedule, server CPU per request) and its record file."""
    record = state / f"{build}-{index}-record.json"
    prefix = state / f"{build}-{index}-locust"
    latency = state / f"{build}-{index}-latency.json"
    locust_env = {
        **env,
        "RESTFLOW_SOAK_RECORD": str(record),
        "RESTFLOW_SOAK_LATENCY": str(latency),
        "RESTFLOW_SOAK_MAX_REQUESTS": str(args.max_requests),
        "RESTFLOW_SOAK_RACES": "1" if args.mode == "soak" else "0",
        "RESTFLOW_SOAK_MIX": args.mix,
        "RESTFLOW_SOAK_RATE": str(rate or ""),
        "RESTFLOW_SOAK_VERSION_BASE": str(100_000 * (index + 1)),
    }
    cpu = soak_measure.cpu_seconds(server_pid)
    subprocess.run([
        sys.executable, "-m", "locust", "-f", str(HERE / "locustfile.py"), "--headless",
        "--users", str(args.users), "--spawn-rate", str(args.users), "--run-time", f"{args.seconds}s",
        "--host", base, "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
        "--stop-timeout", "5", "--exit-code-on-error", "0",
    ], env=locust_env, timeout=args.seconds + 120, check=True)  # fmt: skip
    figures = locust_figures(prefix)
    figures["cpu_ms"] = 1000 * (soak_measure.cpu_seconds(server_pid) - cpu) / max(figures["requests"], 1)
    figures.update(soak_measure.scheduled_latency(latency))
    if record.exists():
        errors = soak_checks.Recording.load(record).errors
        figures["failures_5xx"] = float(sum(1 for e in errors if e.status >= 500))
    if rate:
        print(f"[rig] {build}: offered {rate * args.users:g} tasks/s: {figures['rps']:.1f} req/s, "
              f"p99 from schedule {figures.get('p99_sched', 0):.0f} ms", flush=True)
    return figures, record


def locust_figures(prefix: Path) -> dict[str, float]:
    """req/s, p50, p99 and counts of the Aggregated row of Locust's CSV."""
    with (prefix.parent / f"{prefix.name}_stats.csv").open() as stats:
        rows = {row["Name"]: row for row in csv.DictReader(stats)}
    total = rows["Aggregated"]
    return {
        "requests": float(total["Request Count"]),
        "failures": float(total["Failure Count"]),
        "rps": float(total["Requests/s"]),
        "p50": float(total["50%"]),
        "p99": float(total["99%"]),
        "max": float(total["Max Response Time"]),
    }


def wait_for_queue(redis_url: str) -> tuple[bool, int]:
    """Until the worker took every queued invalidation job (bounded); then how many
    jobs Celery still holds as delivered but unacknowledged (a killed worker's prefetched
    jobs stay there until the visibility timeout, an hour by default)."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=3)
    deadline = time.monotonic() + QUIESCE_TIMEOUT
    drained = False
    try:
        while time.monotonic() < deadline and not drained:
            with contextlib.suppress(redis.RedisError):
                drained = client.llen(QUEUE) == 0
            if not drained:
                time.sleep(0.2)
        time.sleep(1.0)  # the last jobs' cache writes
        unacked = -1  # unknown
        with contextlib.suppress(redis.RedisError):
            unacked = int(client.hlen("unacked"))
        return drained, unacked
    finally:
        client.close()


def server_command(args: argparse.Namespace, port: int) -> list[str]:
    """gunicorn with sync workers (WSGI), or uvicorn (ASGI) with its own workers."""
    if args.server == "uvicorn":
        return [
            sys.executable, "-m", "uvicorn", "catalogue_project.asgi:application", "--workers",
            str(args.workers), "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
            "--log-level", "warning", "--timeout-graceful-shutdown", "5",
        ]  # fmt: skip
    return [
        sys.executable, "-m", "gunicorn", "catalogue_project.wsgi:application",
        "--workers", str(args.workers), "--worker-class", "sync", "--bind", f"127.0.0.1:{port}",
        "--timeout", "30", "--graceful-timeout", "5", "--error-logfile", "-",
    ]  # fmt: skip


def _servers(args: argparse.Namespace) -> str:
    if args.server == "gunicorn":
        return f"gunicorn with {args.workers} sync workers"
    return (f"uvicorn with {args.workers} ASGI workers (restflow serves the book summary from an async "
            "view on the event loop, the peers from a sync DRF view; the other views are sync in both; "
            "PostgreSQL connections from Django's pool in both)")


def run_build(build: str, args: argparse.Namespace, redis: RedisServer, broker: RedisServer | None,
              state: Path, processes: list[demo.Process]) -> BuildRun:
    settings, _ = BUILDS[build]
    pg_url = os.environ["RESTFLOW_SOAK_PG_URL"]
    soak = args.mode == "soak"
    worker_needed = soak and build == "restflow"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), str(EXAMPLE), os.environ.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1",
        "RESTFLOW_DEMO_SECRET_KEY": secrets.token_urlsafe(50),
        "RESTFLOW_DEMO_SIGNING_KEY_FILE": str(signing_key(state)),
        "RESTFLOW_DEMO_CACHE_PREFIX": f"rig-{build}-{secrets.token_hex(3)}",
        "RESTFLOW_DEMO_REDIS": redis.db_url(0),
        "RESTFLOW_DEMO_BROKER": args.broker if worker_needed else "",
        "RESTFLOW_SOAK_PBKDF2": "1" if args.pbkdf2 else "0",
        "RESTFLOW_SOAK_SERVER": args.server,
        "RESTFLOW_SOAK_BROKER_URL": broker.db_url(0) if broker is not None and worker_needed else "",
    }
    reset_database(pg_url)
    demo.manage(env, "seed_catalogue", "--migrate")
    result = BuildRun(build)
    worker = None
    if worker_needed:
        cmd, ready = demo.worker_command(args.broker, f"rig-{secrets.token_hex(3)}")
        worker = demo.Process(f"{args.broker} worker", cmd, env, state / f"{build}-worker.log")
        worker.ready, worker.broker = ready, args.broker  # type: ignore[attr-defined]
        processes.append(worker)
        worker.start()
        worker.wait_for(ready)
    port = demo.free_port()
    base = f"http://127.0.0.1:{port}"
    server = demo.Process(args.server, server_command(args, port), env, state / f"{build}-server.log")
    processes.append(server)
    server.start()
    server.wait_for(None, probe=f"{base}/api/books/")
    print(f"[rig] {build}: {args.server} pid {server.pid} on {base}"
          + (f", {worker.name} pid {worker.pid}" if worker else ""), flush=True)

    fault = None
    if soak and args.fault in ("worker-kill", "broker-stop") and worker is None:
        result.faults.append("none: this build has no broker worker (it invalidates inline)")
    elif soak and args.fault != "none":
        fault = soak_faults.Fault(
            args.fault, args.seconds * 0.4, args.down, redis=redis, broker=broker if worker else None,
            worker=worker, server=server, pg=(pg_url, _admin_url(pg_url)), log=result.faults,
        )  # fmt: skip
        fault.start()
    monitor = None
    if soak:
        monitor = soak_measure.Monitor(server.pid, worker.pid if worker else None, redis.db_url(0))
        monitor.start()
    # load --steps: the closed loop (saturation), then each offered rate in turn.
    phases: list[float | None] = [args.rate] + ([s / args.users for s in args.steps] if args.steps else [])
    records = []
    try:
        for index, rate in enumerate(phases):
            figures, record = run_locust(build, index, rate, base, env, args, state, server.pid)
            records.append(record)
            result.steps.append((rate, figures))
    finally:
        if fault is not None:
            fault.cancelled.set()
            fault.join(timeout=60)
            result.outage = fault.outage()
        if monitor is not None:
            monitor.stop()
            result.memory = monitor.growth()
    result.figures = result.steps[0][1]

    if worker is not None and args.broker == "celery":
        drained, result.unacked = wait_for_queue((broker or redis).db_url(0))
        if not drained:
            print(f"[rig] {build}: the invalidation queue did not drain in {QUIESCE_TIMEOUT:.0f} s",
                  flush=True)
    prices = committed_prices(pg_url)
    committed = {f"{where} book:{k}": v for k, v in prices.items() for where in ("list", "detail", "summary")}
    # Other brokers: their queues are not inspected; the check waits (bounded) until what
    # is served matches the database, and what still differs then is lost.
    deadline = time.monotonic() + (QUIESCE_TIMEOUT if worker is not None and args.broker != "celery" else 0)
    while True:
        try:
            served = served_prices(base)
        except (RuntimeError, OSError) as exc:  # reported, not fatal: the other checks stand
            result.faults.append(f"lost invalidations NOT checked: {exc}")
            served = {}
            break
        if not soak_checks.lost_invalidations(served, committed) or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    log = server.log.read_text(errors="replace")
    result.fallbacks = log.count(demo.FALLBACK)
    result.recording = soak_checks.Recording.merge(soak_checks.Recording.load(r) for r in records)
    result.verdict = soak_checks.judge(
        result.recording, args.lag_bound, served=served, committed=committed, log=log,
        outage=result.outage,
    )
    for process in (server, worker):
        if process is not None:
            process.stop()
            processes.remove(process)
    return result


# --------------------------------------------------------------------------- report


def _ms(value: float) -> str:
    return f"{value:.0f} ms"


def load_section(runs: dict[str, BuildRun], args: argparse.Namespace, started: datetime) -> str:
    ratios = [
        (ours.figures["rps"] / peers.figures["rps"], ours.figures["p99"] / peers.figures["p99"],
         ours.figures["p50"] / max(peers.figures["p50"], 1.0))
        for r in range(args.rounds)
        if (ours := runs.get(_label("restflow", r))) and (peers := runs.get(_label("peers", r)))
        and peers.figures["rps"] and peers.figures["p99"]
    ]
    lines = [
        f"### Load (`nox -s load -- --server {args.server}"
        f"{f' --users {args.users} --rate {args.rate:g}' if args.rate else ''}"
        f"{' --steps ' + ','.join(f'{x:g}' for x in args.steps) if args.steps else ''}"
        f"{' --mix write' if args.mix == 'write' else ''}`)",
        "",
        f"Run on {started:%Y-%m-%d %H:%M} UTC, commit `{_commit()}`, {os.cpu_count()} CPUs shared with "
        f"other jobs (load average at the end: {_loadavg()}), Python {platform.python_version()}. "
        f"**Preliminary and noisy:** {args.rounds} short run(s) of each build ({args.seconds} s each, "
        f"{args.users} Locust users {_offered(args)}, at most {args.max_requests} requests), Locust "
        "and the servers on the same machine.",
        "",
        f"Mix: {soak_mix.describe(args.mix, args.server)} {_servers(args)}, PostgreSQL, one Redis "
        f"(cache + blacklist); invalidation inline in the request for both builds; {_hasher(args)}.",
        "",
        *figures_table(runs),
    ]
    if args.steps:
        lines += ["", f"Offered-rate steps ({args.seconds} s each, after the closed-loop run; "
                  "latency counted from each task's scheduled time):", "", *steps_table(runs, args)]
    if ratios:
        each = ", ".join(f"{rps:.2f}x / {p99:.2f}x" for rps, p99, _ in ratios)
        lines += [
            "",
            f"Ratios restflow / peers (median of {len(ratios)} round(s)): throughput "
            f"**{statistics.median(r[0] for r in ratios):.2f}x**{'' if args.rate else ' (target ≥ 1.3x)'}, "
            f"p99 **{statistics.median(r[1] for r in ratios):.2f}x**"
            f"{' (target ≤ 0.8x)' if args.rate else ''}, p50 "
            f"{statistics.median(r[2] for r in ratios):.2f}x; per round (throughput / p99): {each}. "
            + (f"Open loop at a fixed offered load of {args.users * args.rate:g} tasks/s: compare the "
             "latencies (the throughput is the offered load when both keep up)." if args.rate else
             "Closed loop: each build at its own saturation (`--rate` gives a fixed offered load)."),
        ]
    lines += ["", *checks_table(runs)]
    return "\n".join(lines)


def figures_table(runs: dict[str, BuildRun]) -> list[str]:
    lines = [
        "| build | requests | failures | req/s | p50 | p99 | max | p99 from schedule | CPU / request |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, run in runs.items():
        f = run.figures
        sched = _ms(f["p99_sched"]) if "p99_sched" in f else "-"
        lines.append(f"| {name} ({BUILDS[run.build][1]}) | {f['requests']:.0f} | {f['failures']:.0f} | "
                     f"{f['rps']:.1f} | {_ms(f['p50'])} | {_ms(f['p99'])} | {_ms(f.get('max', 0))} | "
                     f"{sched} | "
                     f"{f.get('cpu_ms', 0):.1f} ms |")
    return lines


SUSTAINED_P99 = 100.0  # ms, from the schedule


def steps_table(runs: dict[str, BuildRun], args: argparse.Namespace) -> list[str]:
    """Each offered rate per build; the highest each sustains with p99 under 100 ms."""
    if not args.steps:
        return []
    names = list(runs)
    lines = [
        "| offered tasks/s | "
        + " | ".join(f"{n}: req/s, p50 / p99 from schedule, CPU/req" for n in names)
        + " |",
        "|---:|" + "---:|" * len(names),
    ]
    best: dict[str, float] = dict.fromkeys(names, 0.0)
    for index, offered in enumerate(args.steps, start=1):
        cells = []
        for name in names:
            f = runs[name].steps[index][1]
            ok = f.get("p99_sched", 1e9) < SUSTAINED_P99 and not runs[name].verdict_failures(index)
            if ok and best[name] == index - 1:  # sustained, and every lower rate too
                best[name] = index
            cells.append(f"{f['rps']:.1f}, {f.get('p50_sched', 0):.0f} / {f.get('p99_sched', 0):.0f} ms, "
                         f"{f.get('cpu_ms', 0):.1f} ms{'' if ok else ' ✗'}")
        lines.append(f"| {offered:g} | " + " | ".join(cells) + " |")
    saturation = " | ".join(f"{runs[n].steps[0][1]['rps']:.1f} req/s" for n in names)
    lines.append(f"| closed loop (saturation) | {saturation} |")
    lines.append("")
    summary = []
    for name in names:
        top = args.steps[int(best[name]) - 1] if best[name] else 0
        summary.append(f"{name}: {top:g} tasks/s" if top else f"{name}: none of the steps")
    lines.append(f"Highest offered rate sustained with p99 (from schedule) under {SUSTAINED_P99:.0f} ms "
                 f"and no 5xx, at this and every lower step: {'; '.join(summary)}. ✗: not sustained.")
    return lines


def step_curves(runs: dict[str, BuildRun], offered: list[float]) -> dict[str, soak_chart.Curve]:
    """Each build's offered-rate steps (phase 0, the closed loop, is its saturation)."""
    return {
        name: soak_chart.Curve(
            offered=list(offered),
            rps=[f["rps"] for _, f in run.steps[1:]],
            p99=[f.get("p99_sched", 0.0) for _, f in run.steps[1:]],
            saturation=run.steps[0][1]["rps"],
        )
        for name, run in runs.items()
    }


def checks_table(runs: dict[str, BuildRun]) -> list[str]:
    names = list(runs)
    summaries = {n: runs[n].verdict.summary() for n in names if runs[n].verdict}
    if not summaries:
        return []
    rows = ["| check | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for key in next(iter(summaries.values())):
        rows.append(f"| {key} | " + " | ".join(str(summaries[n][key]) for n in names) + " |")
    rows.append("| dispatch failures logged (once a minute at most) | "
                + " | ".join(str(runs[n].fallbacks) for n in names) + " |")
    if any(runs[n].unacked is not None for n in names):
        rows.append("| Celery jobs left unacknowledged at quiesce | " + " | ".join(
            "-" if runs[n].unacked is None else str(runs[n].unacked) for n in names) + " |")
    fault_rows = {n: runs[n].fault_rows() for n in names}
    for key in next((r for r in fault_rows.values() if r), {}):
        rows.append(f"| {key} | " + " | ".join(fault_rows[n].get(key, "-") for n in names) + " |")
    for name in names:
        verdict = runs[name].verdict
        if verdict and verdict.errors:
            causes = "; ".join(f"{cause} x{n}" for cause, n in sorted(verdict.errors.items()))
            rows.append(f"\nErrors of {name} by cause: {causes}")
        if verdict and verdict.stale:
            t0 = min(r.started for r in runs[name].recording.reads) if runs[name].recording else 0.0
            first = "; ".join(
                f"{s.read.key} v{s.read.version} read at +{s.read.started - t0:.1f} s ({s.read.url}), "
                f"v{s.expected} committed {s.lag:.1f} s before" for s in verdict.stale[:3]
            )
            rows.append(f"\nFirst stale reads of {name}: {first}")
        if verdict and verdict.lost:
            first = dict(list(verdict.lost.items())[:5])
            rows.append(f"\nLost invalidations of {name} (served, committed): {first}")
        if runs[name].faults:
            rows.append(f"\nFault in the {name} run: " + "; ".join(runs[name].faults))
    return rows


def soak_section(runs: dict[str, BuildRun], args: argparse.Namespace, started: datetime) -> str:
    lines = [
        f"### Soak (`nox -s soak -- --broker {args.broker} --fault {args.fault}`)",
        "",
        f"Run on {started:%Y-%m-%d %H:%M} UTC, commit `{_commit()}`, {args.seconds} s per build, "
        f"{args.users} Locust users, mix {soak_mix.describe(args.mix, args.server)} Plus refresh races "
        f"(3 concurrent uses of one token) and replays of spent tokens; {_hasher(args)}. restflow's "
        f"invalidation runs in a {args.broker} worker (eventual: the lag bound the check allows is "
        f"{args.lag_bound:g} s); the peers invalidate inline. Fault: `{args.fault}`, injected by pid "
        f"at 40% of the run ({args.down:g} s down). **Preliminary and noisy** (2 shared CPUs).",
        "",
        *figures_table(runs),
    ]
    lines += ["", *checks_table(runs), *memory_table(runs)]
    return "\n".join(lines)


def memory_table(runs: dict[str, BuildRun]) -> list[str]:
    """The monitor's samples: flat memory and a bounded key count, or growth."""
    names = [n for n in runs if runs[n].memory]
    if not names:
        return []
    rows = ["", "Memory and keys (sampled every 5 s; first sample after a warm-up fifth of the run):", "",
            "| measure | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for key in runs[names[0]].memory:
        rows.append(f"| {key} | " + " | ".join(runs[n].memory.get(key, "-") for n in names) + " |")
    return rows


def _offered(args: argparse.Namespace) -> str:
    if args.rate:
        return f"at {args.rate:g} tasks/s each (offered: {args.users * args.rate:g} tasks/s)"
    return "without think time"


def _hasher(args: argparse.Namespace) -> str:
    return "passwords hashed with PBKDF2 (Django's default)" if args.pbkdf2 else (
        "passwords hashed with MD5 in both builds, so that logins measure the libraries, not PBKDF2"
    )


def _label(build: str, round_: int) -> str:
    return build if round_ == 0 else f"{build} #{round_ + 1}"


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def _loadavg() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=("load", "soak"))
    parser.add_argument("--seconds", type=int, default=60, help="Locust run time per build")
    parser.add_argument("--users", type=int, default=16, help="concurrent Locust users")
    parser.add_argument("--rate", type=float, default=None,
                        help="tasks per second per user (a fixed offered load); default: no wait")
    parser.add_argument("--max-requests", type=int, default=40_000, help="stop a build's run after this many")
    parser.add_argument("--server", choices=("gunicorn", "uvicorn"), default="gunicorn")
    parser.add_argument("--workers", type=int, default=None,
                        help="server processes (default: gunicorn 4 sync workers, uvicorn 2)")
    parser.add_argument("--builds", default="restflow,peers", help="comma-separated: restflow,peers")
    parser.add_argument("--rounds", type=int, default=None,
                        help="runs of each build, alternating the order (default: load 2, soak 1)")
    parser.add_argument("--steps", type=lambda v: [float(x) for x in v.split(",") if x], default=None,
                        help="load: offered rates (tasks/s for all users together, e.g. 40,80,160) "
                        "run one after the other after the closed-loop run, to find the highest one "
                        "each build sustains with p99 under 100 ms")
    parser.add_argument("--mix", choices=("read", "write"), default="read",
                        help="read: 90%% reads; write: half the tasks are writes")
    parser.add_argument("--lag-bound", type=float, default=2.0, help="stale-read bound in seconds")
    parser.add_argument("--broker", choices=demo.BROKERS, default="celery",
                        help="soak: the worker that runs restflow's invalidation jobs")
    parser.add_argument("--fault", choices=soak_faults.FAULTS, default="redis-restart", help="soak only")
    parser.add_argument("--down", type=float, default=None,
                        help="seconds a faulted process stays down (default: 10 for redis-stop and "
                        "broker-stop, 2 for redis-restart and worker-kill)")
    parser.add_argument("--pbkdf2", action="store_true",
                        help="hash passwords with Django's default (PBKDF2) instead of MD5")
    parser.add_argument("--page", default=str(PAGE), help="the page to write the section into")
    parser.add_argument("--no-page", action="store_true", help="print the section only")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when a restflow run broke a promise (stale read beyond the bound, "
                        "double spend, lost invalidation, 5xx other than 503)")
    parser.add_argument("--smoke", action="store_true",
                        help="soak: the CI smoke run (restflow only, 4 users, 30 s, web-kill, --check, "
                        "no page); options given after it still apply")
    args = parser.parse_args(argv)
    if args.smoke:
        smoke = ["--builds", "restflow", "--users", "4", "--seconds", "30", "--fault", "web-kill",
                 "--no-page", "--check", "--max-requests", "6000"]
        args = parser.parse_args([argv[0], *smoke, *argv[1:]])
    if args.down is None:
        args.down = soak_faults.DOWN.get(args.fault, 0.0)
    if args.workers is None:
        args.workers = 4 if args.server == "gunicorn" else 2
    if args.rounds is None:
        args.rounds = 2 if args.mode == "load" else 1
    builds = [b.strip() for b in args.builds.split(",") if b.strip()]
    unknown = set(builds) - set(BUILDS)
    if unknown:
        parser.error(f"--builds: unknown {sorted(unknown)}; use restflow, peers")
    if "RESTFLOW_SOAK_PG_URL" not in os.environ:
        parser.error("RESTFLOW_SOAK_PG_URL is not set (postgres://user@127.0.0.1:5432/restflow_soak)")

    started = datetime.now(UTC)
    state = Path(tempfile.mkdtemp(prefix="restflow-rig-"))
    redis = RedisServer(extra=("--appendonly", "yes"))
    # Celery's broker apart from the cache, so that either can be stopped alone.
    with_broker = args.mode == "soak" and args.broker == "celery"
    broker = RedisServer(extra=("--appendonly", "yes")) if with_broker else None
    processes: list[demo.Process] = []
    runs: dict[str, BuildRun] = {}
    try:
        with demo.stopping(processes):
            own_database(os.environ["RESTFLOW_SOAK_PG_URL"])
            redis.start()
            print(f"[rig] redis-server pid {redis.pid} on {redis.url}", flush=True)
            if broker is not None:
                broker.start()
                print(f"[rig] broker redis-server pid {broker.pid} on {broker.url}", flush=True)
            for round_ in range(args.rounds):
                # A B, then B A: a drift of the shared machine hits both builds alike.
                for build in builds if round_ % 2 == 0 else builds[::-1]:
                    runs[_label(build, round_)] = run_build(build, args, redis, broker, state, processes)
                    for server in filter(None, (redis, broker)):
                        server.start()  # a fault may have left it down
                        _flush(server)
    finally:
        redis.cleanup()
        if broker is not None:
            broker.cleanup()
        if not os.environ.get("RESTFLOW_SOAK_KEEP_LOGS"):
            import shutil

            shutil.rmtree(state, ignore_errors=True)
        else:
            print(f"[rig] logs kept in {state}")
    section = (load_section if args.mode == "load" else soak_section)(runs, args, started)
    name = f"soak-{args.fault}"
    if args.mode == "load":
        name = f"load-{args.server}{'-fixed' if args.rate else ''}{'-steps' if args.steps else ''}"
        name += "-write" if args.mix == "write" else ""
    elif args.broker != "celery":
        name = f"soak-{args.broker}-{args.fault}"
    if args.mode == "soak" and args.server != "gunicorn":  # beside the gunicorn runs, not over them
        name = name.replace("soak-", f"soak-{args.server}-", 1)
    page = Path(args.page)
    if args.mode == "load" and args.steps and not args.no_page:
        chart = page.parent / "benchmarks" / f"{name}.png"
        title = f"{section.splitlines()[0][4:].replace('`', '')}, {started:%Y-%m-%d %H:%M} UTC"
        soak_chart.draw(step_curves(runs, args.steps), chart, title=title)
        section += f"\n\n![{chart.name}](benchmarks/{chart.name})"
        print(f"[rig] drew {chart}")
    print("\n" + section)
    if not args.no_page:
        page.write_text(soak_page.put_section(page.read_text() if page.exists() else "", name, section))
        print(f"\n[rig] wrote the {args.mode} section of {page}")
    broken = [label for label, run in runs.items()
              if run.build == "restflow" and run.verdict is not None and not run.verdict.clean]
    if args.check and broken:
        print(f"[rig] promises broken in: {', '.join(broken)}", file=sys.stderr)
        return 1
    return 0


def _flush(redis: RedisServer) -> None:
    import redis as redis_client

    client = redis_client.Redis.from_url(redis.url)
    try:
        client.flushall()
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
