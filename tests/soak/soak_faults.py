"""The faults the soak run injects, each alone and by pid, in the middle of the load.

==============  ==================================================================  ======
fault           what happens                                                        down
==============  ==================================================================  ======
redis-restart   the rig's redis-server (cache + blacklist) SIGTERMed, started again     2 s
redis-stop      the same redis-server frozen with SIGSTOP, then SIGCONT                10 s
broker-stop     the rig's broker redis-server (Celery only) SIGTERMed, started again   10 s
worker-kill     the broker worker's process group SIGKILLed, a new worker started       2 s
web-kill        one web server worker SIGKILLed (the master forks a new one)            -
pg-drop         ``pg_terminate_backend`` of every connection to the rig's database      -
none            nothing                                                                 -
==============  ==================================================================  ======

Each fault's ``outage`` says what users may see while it lasts (``soak_checks.Outage``).
"""

from __future__ import annotations

import os
import secrets
import signal
import threading
import time
from pathlib import Path

import demo
import soak_checks
from restflow_testbed.redis_server import RedisServer

BLACKLIST_503 = "503: Token revocation list is unavailable"
DOWN = {"redis-restart": 2.0, "redis-stop": 10.0, "broker-stop": 10.0, "worker-kill": 2.0}
FAULTS = ("none", "redis-restart", "redis-stop", "broker-stop", "worker-kill", "web-kill", "pg-drop")
# What users may see while the fault lasts, and whether it holds back invalidation.
TOLERATED: dict[str, tuple[tuple[str, ...], bool]] = {
    "redis-restart": ((BLACKLIST_503,), True),
    "redis-stop": ((BLACKLIST_503,), True),
    "broker-stop": ((), True),
    "worker-kill": ((), True),
    "web-kill": ((soak_checks.NO_ANSWER,), False),
    "pg-drop": ((), False),
}


def children(pid: int) -> list[int]:
    """The child pids of ``pid`` (the server's workers), from /proc."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def terminate_connections(pg_url: str, admin_url: str) -> int:
    """``pg_terminate_backend`` of the connections to the rig's own database only."""
    from urllib.parse import urlsplit

    import psycopg

    name = urlsplit(pg_url).path.strip("/")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchall()
    return sum(1 for (done,) in rows if done)


class Fault(threading.Thread):
    """One fault, by pid, ``at`` seconds into the load."""

    def __init__(
        self, kind: str, at: float, down: float, *, redis: RedisServer, broker: RedisServer | None,
        worker: demo.Process | None, server: demo.Process, pg: tuple[str, str], log: list[str],
    ) -> None:  # fmt: skip
        super().__init__(daemon=True)
        self.kind, self.at, self.down, self.log = kind, at, down, log
        self.redis, self.broker, self.worker, self.server, self.pg = redis, broker, worker, server, pg
        self.cancelled = threading.Event()
        self.window: tuple[float, float] | None = None

    def outage(self) -> soak_checks.Outage | None:
        if self.window is None:
            return None
        tolerated, delays = TOLERATED.get(self.kind, ((), False))
        return soak_checks.Outage(*self.window, tolerated=tolerated, delays_writes=delays)

    def run(self) -> None:
        if self.cancelled.wait(self.at):
            return
        wall = time.time()
        getattr(self, "_" + self.kind.replace("-", "_"))(time.monotonic())
        self.window = (wall, time.time())

    def _redis_restart(self, started: float) -> None:
        pid = self.redis.pid
        self.redis.stop()  # SIGTERM to its pid: with append-only file on, nothing lost
        time.sleep(self.down)
        self.redis.start()
        self.log.append(f"redis-server pid {pid} stopped (SIGTERM) at {self.at:.0f} s, "
                        f"restarted after {time.monotonic() - started:.1f} s")

    def _redis_stop(self, started: float) -> None:
        pid = self.redis.pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)  # frozen: connections open, no answer
        try:
            time.sleep(self.down)
        finally:
            os.kill(pid, signal.SIGCONT)
        self.log.append(f"redis-server pid {pid} frozen (SIGSTOP) at {self.at:.0f} s, "
                        f"SIGCONT after {time.monotonic() - started:.1f} s")

    def _broker_stop(self, started: float) -> None:
        if self.broker is None:
            self.log.append("none: this build has no broker of its own (it invalidates inline)")
            return
        pid = self.broker.pid
        self.broker.stop()
        time.sleep(self.down)
        self.broker.start()
        self.log.append(f"broker redis-server pid {pid} stopped (SIGTERM) at {self.at:.0f} s, "
                        f"restarted after {time.monotonic() - started:.1f} s")

    def _worker_kill(self, started: float) -> None:
        worker = self.worker
        if worker is None or worker.proc is None:
            return
        pid = worker.proc.pid
        os.killpg(pid, signal.SIGKILL)  # the worker and its children (a django-q cluster)
        worker.proc.wait(timeout=10)
        worker.proc = None
        time.sleep(self.down)
        # A new name: the killed worker's registration (RQ) outlives it.
        broker = getattr(worker, "broker", "celery")
        worker.cmd = demo.worker_command(broker, f"rig-{secrets.token_hex(3)}")[0]
        worker.start()
        try:
            worker.wait_for(getattr(worker, "ready", None))
        except SystemExit as exc:  # reported in the section; the run goes on
            self.log.append(f"the new {worker.name} did not start: {exc}")
        self.log.append(f"{worker.name} pid {pid} SIGKILLed (its process group) at {self.at:.0f} s, "
                        f"a new one ready after {time.monotonic() - started:.1f} s")

    def _web_kill(self, started: float) -> None:
        if self.server.pid is None:
            return
        before = children(self.server.pid)
        if not before:
            return
        os.kill(before[0], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until the master forked a replacement
            now = children(self.server.pid)
            if len(now) >= len(before) and before[0] not in now:
                break
            time.sleep(0.05)
        self.log.append(f"server worker pid {before[0]} SIGKILLed at {self.at:.0f} s, "
                        f"replaced after {time.monotonic() - started:.1f} s")

    def _pg_drop(self, started: float) -> None:
        count = terminate_connections(*self.pg)
        self.log.append(f"pg_terminate_backend of {count} connection(s) to the rig's database "
                        f"at {self.at:.0f} s")

    def _none(self, started: float) -> None:
        return

