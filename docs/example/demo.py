"""Run the catalogue demo: migrate, seed, serve, tour, then leave the server running.

``python3 noxw.py -s demo`` installs restflow and runs this file; directly (with restflow
and Django REST framework installed): ``python docs/example/demo.py [options]``.

    --tour-only        stop after the tour (exit status 0 when every check passed)
    --redis URL        cache and JWT blacklist in Redis instead of local memory
    --broker NAME      celery | rq | dramatiq | django_q: start that worker and route
                       invalidation through it (needs --redis; the broker uses it too)
    --port N           serve on this port (default: a free one)

Everything lives in a fresh temporary directory (SQLite database, the ES256 signing key
made by ``restflow_keys generate``, logs), removed when the demo stops; with Redis every
key carries a per-run prefix.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import tour  # noqa: E402

BROKERS = ("celery", "rq", "dramatiq", "django_q")
# What each worker logs per job it finished (Dramatiq logs nothing per job).
JOB_DONE = {
    "celery": re.compile(r"Task restflow\.caching\.tasks\.task_run_cache_rules\[\S+\] succeeded"),
    "rq": re.compile(r"Successfully completed restflow\.caching\.tasks\.run_cache_rules"),
    "django_q": re.compile(r"Processed 'restflow\.caching\.tasks\.run_cache_rules'"),
}
FALLBACK = "could not dispatch cache rules"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


def worker_command(broker: str, name: str) -> tuple[list[str], str]:
    """The worker command line of ``broker`` and the log line that says it is ready."""
    python = sys.executable
    if broker == "celery":
        return [
            python, "-m", "celery", "-A", "catalogue_project", "worker", "--pool=solo",
            "--concurrency=1", "-Q", "restflow-demo", "--loglevel=INFO", "--without-mingle",
            "--without-gossip", "--without-heartbeat", "-n", f"{name}@%h",
        ], " ready."  # fmt: skip
    if broker == "rq":
        return [
            python, "manage.py", "rqworker", "restflow-demo",
            "--worker-class", "rq.worker.SimpleWorker", "--name", name,
        ], "Listening on"  # fmt: skip
    if broker == "dramatiq":
        return [
            python, "-m", "dramatiq", "catalogue_project.dramatiq_worker", "--processes", "1",
            "--threads", "1", "--queues", "restflow-demo",
        ], "is ready for action"  # fmt: skip
    return [python, "manage.py", "qcluster"], "running"


class Process:
    """A child process with its output in a log file; stopped with its process group."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.cmd, self.env, self.log = name, cmd, env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(  # noqa: S603
                self.cmd, cwd=HERE, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_for(self, ready: str | None, probe: str | None = None) -> None:
        """Until ``ready`` appears in the log (or ``probe`` answers HTTP), bounded."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise SystemExit(f"{self.name} exited at start-up:\n{self.tail()}")
            if ready is not None and ready in self.log.read_text(errors="replace"):
                return
            if probe is not None and answers(probe):
                return
            time.sleep(0.1)
        raise SystemExit(f"{self.name} not ready within {START_TIMEOUT:.0f} s:\n{self.tail()}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(timeout=STOP_TIMEOUT)
                return
            except subprocess.TimeoutExpired:
                continue


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310
            return True
    except urllib.error.HTTPError:
        return True  # 401: the server is up
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def check_redis(url: str) -> None:
    try:
        import redis
    except ImportError:
        raise SystemExit("--redis needs the redis client: pip install 'restflow-cache[redis]'")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
    except (redis.RedisError, ValueError) as exc:
        raise SystemExit(f"--redis {url}: cannot reach Redis ({exc})")


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args], cwd=HERE, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def signing_key(env: dict[str, str], state: Path) -> str:
    """``restflow_keys generate``: a new ES256 key in the run's directory; its kid."""
    path = state / "jwt-es256.pem"
    printed = manage(env, "restflow_keys", "generate", "--alg", "ES256", "--out", str(path))
    env["RESTFLOW_DEMO_SIGNING_KEY_FILE"] = str(path)
    kid = re.search(r"^kid: (\S+)$", printed, re.M)
    if kid is None:
        raise SystemExit(f"restflow_keys generate printed no kid:\n{printed}")
    return kid[1]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="nox -s demo --", description=__doc__.split("\n")[0])
    parser.add_argument("--tour-only", action="store_true", help="stop after the tour")
    parser.add_argument("--redis", metavar="URL", help="cache and blacklist in this Redis")
    parser.add_argument("--broker", choices=BROKERS, help="route invalidation through a worker")
    parser.add_argument("--port", type=int, default=0, help="port of the server (default: free)")
    args = parser.parse_args(argv)
    if args.broker and not args.redis:
        parser.error("--broker needs --redis URL: the worker must share the server's cache")
    return args


@contextlib.contextmanager
def stopping(processes: list[Process]) -> Iterator[None]:
    """Stop every child on the way out, also on SIGTERM/SIGHUP and Ctrl-C."""

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, terminate)
    # Ctrl-C stops the demo even when it was started with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        for process in reversed(processes):
            process.stop()


def describe(args: argparse.Namespace) -> str:
    cache = f"Redis {args.redis}" if args.redis else "local memory"
    how = f"the {args.broker} worker" if args.broker else "inline (in the request)"
    return f"cache and JWT blacklist: {cache}; invalidation: {how}"


def run(args: argparse.Namespace, state: Path) -> int:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "catalogue_project.settings",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1",
        "RESTFLOW_DEMO_DB": str(state / "catalogue.sqlite3"),
        "RESTFLOW_DEMO_SECRET_KEY": secrets.token_urlsafe(50),
        "RESTFLOW_DEMO_CACHE_PREFIX": f"restflow-demo-{secrets.token_hex(4)}",
        "RESTFLOW_DEMO_REDIS": args.redis or "",
        "RESTFLOW_DEMO_BROKER": args.broker or "",
    }
    if args.redis:
        check_redis(args.redis)
    print("restflow demo: a catalogue API (authors, books, reviews)")
    print(f"  {describe(args)}")
    kid = signing_key(env, state)
    print(f"  signing key: ES256, kid {kid} (restflow_keys generate, in the run's directory)")
    manage(env, "seed_catalogue", "--migrate")
    print("  database migrated and seeded (users ada and grace)")
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    processes: list[Process] = []
    with stopping(processes):
        if args.broker:
            cmd, ready = worker_command(args.broker, f"restflow-demo-{secrets.token_hex(3)}")
            worker = Process(f"{args.broker} worker", cmd, env, state / "worker.log")
            processes.append(worker)
            worker.start()
            worker.wait_for(ready)
            print(f"  {args.broker} worker started (pid {worker.pid}, log: {worker.log})")
        server = Process(
            "server",
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            env,
            state / "server.log",
        )
        processes.append(server)
        server.start()
        server.wait_for(None, probe=f"{base}/api/books/")
        print(f"  server started: {base}/api/ (pid {server.pid}, log: {server.log})")
        try:
            tour.Tour(base, eventual=bool(args.broker)).run()
        except tour.TourFailed as failure:
            print(f"\ntour FAILED: {failure}", file=sys.stderr)
            print(f"\nserver log (last lines):\n{server.tail()}", file=sys.stderr)
            return 1
        if args.broker and not broker_report(args.broker, processes[0], server):
            return 1
        if args.tour_only:
            return 0
        explore(base)
        with contextlib.suppress(KeyboardInterrupt):
            serve(server)
        print("\nstopping")
    return 0


def serve(server: Process) -> None:
    """Until Ctrl-C, the server exits, or whoever started the demo (nox) is gone."""
    parent = os.getppid()
    while server.proc is not None and server.proc.poll() is None and os.getppid() == parent:
        time.sleep(0.5)


def broker_report(broker: str, worker: Process, server: Process) -> bool:
    """Say how many jobs the worker ran; False if any ran inline in the server instead."""
    fallbacks = server.log.read_text(errors="replace").count(FALLBACK)
    if fallbacks:
        print(f"\n{fallbacks} invalidation job(s) fell back to inline:\n{server.tail()}", file=sys.stderr)
        return False
    done = JOB_DONE.get(broker)
    jobs = f"{len(done.findall(worker.log.read_text(errors='replace')))} " if done else ""
    print(
        f"the {broker} worker ran the {jobs}invalidation jobs (the seeding's included); "
        "none ran inline in the server"
    )
    return True


def explore(base: str) -> None:
    print(f"\nThe server keeps running at {base}/api/ - explore it (Ctrl-C stops it):")
    print(
        f"  TOKEN=$(curl -s -X POST {base}/api/auth/token/ -H 'Content-Type: application/json' \\\n"
        f'          -d \'{{"username": "ada", "password": "{tour.PASSWORDS["ada"]}"}}\' \\\n'
        "          | python3 -c 'import json, sys; print(json.load(sys.stdin)[\"access\"])')\n"
        f'  curl -i {base}/api/books/ -H "Authorization: Bearer $TOKEN"'
    )
    print(
        "  endpoints: /api/authors/ /api/authors/<id>/ /api/books/ /api/books/<id>/\n"
        "             /api/books/<id>/summary/ (async) /api/books/<id>/rating/\n"
        "             /api/books/<id>/reviews/ /api/me/reviews/\n"
        "             /api/auth/token/ token/refresh/ token/verify/ token/blacklist/\n"
        "             /api/auth/.well-known/jwks.json (the public signing key, no token)"
    )


def main(argv: list[str]) -> int:
    args = parse(argv)
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)  # each line shows up, even in a pipe
    state = Path(tempfile.mkdtemp(prefix="restflow-demo-"))
    try:
        return run(args, state)
    finally:
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
