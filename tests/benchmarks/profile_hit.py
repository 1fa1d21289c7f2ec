"""A cached, authenticated hit in one gunicorn worker, both builds: CPU per request and
its cProfile (docs/benchmarks.md, "Profile of a cached hit in a gunicorn worker").

    RESTFLOW_SOAK_PG_URL=postgres://postgres@127.0.0.1:5432/restflow_hit \\
        .nox/load/bin/python tests/benchmarks/profile_hit.py [--profile] [--paths ...]

(``python3 noxw.py -s load -- --help`` makes the ``.nox/load`` environment once.) The two
builds of the load rig (tests/soak: the demo API on restflow, and on simplejwt +
drf-extensions), each on its own fresh PostgreSQL database (the URL's name plus
``_restflow`` / ``_peers``), one private Redis, each under ``gunicorn -w 1`` (sync).
After a warm-up (the misses), blocks of sequential hits alternate between the builds; per
block the worker's CPU time (``/proc/<pid>/stat``, user + system) is read, so the figure
is CPU µs per request, without a profiler unless ``--profile``. With ``--profile`` the
workers run under ``profile_gunicorn.py`` (cProfile, CPU time: deterministic, but its
overhead inflates many small calls); with ``--py-spy`` a sampling profiler (``py-spy
record --gil``, installed by hand in the environment: stacks holding the GIL, so no I/O
waits) watches the measured blocks and each row is its share of the samples times the
measured CPU per request. Either prints the rows of the page's table (and ``--top``
functions).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import pstats
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SOAK = ROOT / "tests" / "soak"
EXAMPLE = ROOT / "docs" / "example"
sys.path[:0] = [str(SOAK), str(EXAMPLE), str(ROOT / "tests" / "testbed")]

import demo  # noqa: E402
from restflow_testbed.redis_server import RedisServer  # noqa: E402
from soak_run import BUILDS, reset_database, signing_key  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")

# Rows of the page's table: (label, [(file suffix, function name)]): the cumulative time
# of the first function found, per profiled request.
ROWS: list[tuple[str, list[tuple[str, str]]]] = [
    ("WSGI handler, whole request", [("django/core/handlers/wsgi.py", "__call__")]),
    ("`request_started` / `request_finished` signals", [("django/dispatch/dispatcher.py", "send")]),
    ("DRF `dispatch`", [("rest_framework/views.py", "dispatch")]),
    ("DRF `initial()` (negotiation, authentication, permissions, throttles)",
     [("rest_framework/views.py", "initial")]),
    ("— `authenticate()`", [("rest_framework/request.py", "_authenticate")]),
    ("—— token verification (PyJWT decode, claim checks)",
     [("authentication/tokens.py", "verify"),
      ("rest_framework_simplejwt/authentication.py", "get_validated_token")]),
    ("—— user lookup (one SQL query)", [("authentication/users.py", "get_token_user"),
                                       ("rest_framework_simplejwt/authentication.py", "get_user")]),
    ("— content negotiation", [("rest_framework/views.py", "perform_content_negotiation")]),
    ("— permission checks", [("rest_framework/views.py", "check_permissions")]),
    ("cached view, hit (key, lookup, response)",
     [("caching/wrapper.py", "__call__"), ("cache/decorators.py", "process_cache_response")]),
    ("DRF `finalize_response`", [("rest_framework/views.py", "finalize_response")]),
]


def _db_url(base: str, build: str) -> str:
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}_{build}"))


def _worker(master: int) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        except OSError:
            children = []
        if children:
            return int(children[0])
        time.sleep(0.05)
    raise SystemExit(f"gunicorn {master} started no worker")


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Server:
    def __init__(self, build: str, args: argparse.Namespace, redis: RedisServer, state: Path) -> None:
        self.build = build
        settings, _ = BUILDS[build]
        self.prof = state / f"{build}.prof"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings,
            "PYTHONPATH": os.pathsep.join([str(SOAK), str(EXAMPLE)]),
            "RESTFLOW_SOAK_PG_URL": _db_url(os.environ["RESTFLOW_SOAK_PG_URL"], build),
            "RESTFLOW_DEMO_SECRET_KEY": secrets.token_urlsafe(50),
            "RESTFLOW_DEMO_SIGNING_KEY_FILE": str(signing_key(state)),  # ES256, as the rig
            "RESTFLOW_DEMO_CACHE_PREFIX": f"hit-{build}-{secrets.token_hex(3)}",
            "RESTFLOW_DEMO_REDIS": redis.db_url(0),
            "RESTFLOW_DEMO_BROKER": "",
            "RESTFLOW_SOAK_PBKDF2": "0",
            "PROFILE_OUT": str(self.prof),
            "PROFILE_SKIP": str(args.warmup + 2),  # + the start-up probe and the login
        }
        reset_database(self.env["RESTFLOW_SOAK_PG_URL"])
        demo.manage(self.env, "seed_catalogue", "--migrate")
        self.port = demo.free_port()
        cmd = [
            sys.executable, "-m", "gunicorn", "catalogue_project.wsgi:application", "--workers", "1",
            "--worker-class", "sync", "--bind", f"127.0.0.1:{self.port}", "--error-logfile", "-",
        ]  # fmt: skip
        if args.profile:
            cmd += ["-c", str(HERE / "profile_gunicorn.py")]
        self.process = demo.Process(f"gunicorn ({build})", cmd, self.env, state / f"{build}.log")
        self.process.start()
        self.process.wait_for(None, probe=f"http://127.0.0.1:{self.port}/api/books/")
        self.worker = _worker(self.process.pid or 0)
        self.token = ""

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        conn.request(method, path, None if body is None else json.dumps(body), headers)
        response = conn.getresponse()
        data = response.read()
        conn.close()
        return response.status, data

    def login(self) -> None:
        login = {"username": "ada", "password": "ada-demo-password"}
        status, data = self.call("POST", "/api/auth/token/", login)
        if status != 200:
            raise SystemExit(f"{self.build}: login answered {status}: {data[:200]!r}")
        self.token = json.loads(data)["access"]

    def block(self, paths: list[str], count: int) -> tuple[float, float]:
        """``count`` sequential GETs over ``paths``: (worker CPU s, client wall s)."""
        cpu, wall = _cpu(self.worker), time.perf_counter()
        for i in range(count):
            path = paths[i % len(paths)]
            status, data = self.call("GET", path)
            if status != 200:
                raise SystemExit(f"{self.build}: GET {path} answered {status}: {data[:200]!r}")
        return _cpu(self.worker) - cpu, time.perf_counter() - wall

    def spy(self, state: Path) -> subprocess.Popen[bytes]:
        """py-spy sampling the worker (CPU only: idle stacks are left out) until SIGINT."""
        self.spied = state / f"{self.build}.spy"
        spy = Path(sys.executable).with_name("py-spy")
        return subprocess.Popen(
            [str(spy), "record", "--pid", str(self.worker), "--format", "raw", "--rate", "400",
             "--gil", "--output", str(self.spied)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def stop(self) -> None:
        if self.process.pid:
            os.kill(self.process.pid, signal.SIGTERM)  # the worker dumps its profile on exit
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and self.process.proc and self.process.proc.poll() is None:
                time.sleep(0.1)
        self.process.stop()


def _rows(stats: pstats.Stats) -> tuple[int, list[tuple[str, float]]]:
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    requests = max((v[1] for (f, _, n), v in raw.items() if f.endswith(ROWS[0][1][0][0]) and n == "__call__"),
                   default=0)
    out = []
    for label, candidates in ROWS:
        total = 0.0
        for suffix, name in candidates:
            total = sum(v[3] for (f, _, n), v in raw.items() if f.endswith(suffix) and n == name)
            if total:
                break
        out.append((label, total / max(requests, 1) * 1e6))
    return requests, out


def _frames(line: str) -> tuple[list[tuple[str, str]], int]:
    stack, _, count = line.rpartition(" ")
    frames = []
    for frame in stack.split(";"):
        name, _, where = frame.partition(" (")
        frames.append((where.rsplit(":", 1)[0], name))
    return frames, int(count)


def _spy_rows(path: Path, cpu_us: float, top: int) -> list[tuple[str, float]]:
    """Rows from py-spy's collapsed stacks: share of the samples x CPU µs per request."""
    stacks = [_frames(line) for line in path.read_text().splitlines() if line.strip()]
    total = sum(count for _, count in stacks) or 1
    out = []
    for label, candidates in ROWS:
        hits = 0
        for suffix, name in candidates:
            hits = sum(c for frames, c in stacks
                       if any(f.endswith(suffix) and n.rpartition(".")[2] == name for f, n in frames))
            if hits:
                break
        out.append((label, hits / total * cpu_us))
    if top:
        inclusive: Counter[str] = Counter()
        own: Counter[str] = Counter()
        for frames, count in stacks:
            for key in {f"{n} ({f.split('site-packages/')[-1]})" for f, n in frames}:
                inclusive[key] += count
            f, n = frames[-1]
            own[f"{n} ({f.split('site-packages/')[-1]})"] += count
        for title, counter in (("inclusive", inclusive), ("own", own)):
            print(f"  top {top} by {title} µs/request:")
            for key, count in counter.most_common(top):
                print(f"    {count / total * cpu_us:7.1f}  {key}")
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", action="store_true", help="run the workers under cProfile")
    parser.add_argument("--paths", default="/api/books/", help="comma-separated cached GETs, in turn")
    parser.add_argument("--warmup", type=int, default=200, help="requests before the measured ones")
    parser.add_argument("--block", type=int, default=300, help="requests per block")
    parser.add_argument("--rounds", type=int, default=6, help="blocks per build, alternated")
    parser.add_argument("--builds", default="restflow,peers")
    parser.add_argument("--py-spy", action="store_true", help="sample the workers with py-spy")
    parser.add_argument("--top", type=int, default=0, help="print the top N functions of a profile")
    args = parser.parse_args(argv)
    if "RESTFLOW_SOAK_PG_URL" not in os.environ:
        parser.error("RESTFLOW_SOAK_PG_URL is not set (postgres://user@127.0.0.1:5432/restflow_hit)")
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    builds = [b.strip() for b in args.builds.split(",") if b.strip()]
    state = Path(tempfile.mkdtemp(prefix="restflow-hit-"))
    redis = RedisServer()
    servers: dict[str, Server] = {}
    spies: dict[str, subprocess.Popen[bytes]] = {}
    cpu: dict[str, list[float]] = {b: [] for b in builds}
    wall: dict[str, list[float]] = {b: [] for b in builds}
    try:
        redis.start()
        for build in builds:
            servers[build] = Server(build, args, redis, state)
            servers[build].login()
            servers[build].block(paths, args.warmup)
            if args.py_spy:
                spies[build] = servers[build].spy(state)
        time.sleep(1.0 if spies else 0.0)  # py-spy attached
        for round_ in range(args.rounds):
            for build in builds if round_ % 2 == 0 else builds[::-1]:
                used, spent = servers[build].block(paths, args.block)
                cpu[build].append(used / args.block * 1e6)
                wall[build].append(spent / args.block * 1e6)
    finally:
        for spy in spies.values():
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=30)
        for server in servers.values():
            server.stop()
        redis.cleanup()
    profiler = "cProfile" if args.profile else "py-spy" if args.py_spy else "none"
    print(f"paths {paths}, {args.rounds} blocks of {args.block} per build, profiler: {profiler}")
    for build in builds:
        print(f"{build:9s} worker CPU µs/request median {statistics.median(cpu[build]):7.0f} "
              f"{[round(c) for c in cpu[build]]}; client wall µs/request "
              f"{statistics.median(wall[build]):7.0f}")
    if len(builds) == 2:
        a, b = builds
        ratios = [x / y for x, y in zip(cpu[a], cpu[b], strict=True)]
        print(f"CPU ratio {a}/{b}: median {statistics.median(ratios):.2f} "
              f"[{min(ratios):.2f}-{max(ratios):.2f}]")
    table: dict[str, list[tuple[str, float]]] = {}
    for build in builds:
        if args.profile:
            stats = pstats.Stats(str(servers[build].prof))
            requests, table[build] = _rows(stats)
            print(f"\n{build}: {requests} profiled requests")
            if args.top:
                stats.sort_stats("cumulative").print_stats(args.top)
                stats.sort_stats("tottime").print_stats(args.top)
        elif args.py_spy:
            print(f"\n{build}: py-spy samples")
            table[build] = _spy_rows(servers[build].spied, statistics.median(cpu[build]), args.top)
    if table:
        print("\n| Part of the request | " + " | ".join(builds) + " |")
        print("|---|" + "---:|" * len(builds))
        for i, (label, _) in enumerate(ROWS):
            print(f"| {label} | " + " | ".join(f"{table[b][i][1]:,.0f}" for b in builds) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
