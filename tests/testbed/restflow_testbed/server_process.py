"""One server child process on a free loopback port: start, wait until it answers, stop
by pid. The private Redis, Redis Cluster and memcached servers of the test bed are this
class with their own command line and ping."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Self


def find_program(name: str, hint: str) -> str:
    """The path of ``name`` on ``PATH`` or in /usr/sbin, /usr/bin (daemons of Debian packages)."""
    found = shutil.which(name) or next(
        (f"{d}/{name}" for d in ("/usr/sbin", "/usr/bin") if os.access(f"{d}/{name}", os.X_OK)), None
    )
    if found is None:
        raise RuntimeError(f"no {name} found: {hint}")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """A child process listening on ``host:port``. Subclasses give :meth:`command` and
    :meth:`ping`; ``stop()`` and ``start()`` may be called repeatedly (the port stays the
    same, so clients reconnect once the server is back)."""

    name = "server"
    start_timeout = 10.0
    stop_timeout = 5.0  # after SIGTERM, before SIGKILL
    log_path: Path | None = None  # the server's output, else discarded

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self._proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def ping(self) -> bool:
        raise NotImplementedError

    def prepare(self) -> None:
        """Run before each start (e.g. make a data directory)."""

    def _ask(self, request: bytes, expected: bytes) -> bool:
        """Whether the server answers ``request`` with a reply starting with ``expected``."""
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5) as sock:
                sock.sendall(request)
                return sock.recv(64).startswith(expected)
        except OSError:
            return False

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self, timeout: float | None = None) -> None:
        if self.running:
            return
        self.prepare()
        if self.log_path is None:
            self._proc = subprocess.Popen(
                self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        else:
            with self.log_path.open("ab") as log:
                self._proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + (timeout or self.start_timeout)
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                code, self._proc = self._proc.returncode, None
                raise RuntimeError(f"{self.name} exited with {code}{self._log_tail()}")
            if self.ping():
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer on port {self.port}{self._log_tail()}")

    def _log_tail(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return ":\n" + self.log_path.read_text(errors="replace")[-2000:]

    def freeze(self) -> None:
        """SIGSTOP: the server keeps its sockets open and answers nothing (a hung server).

        Returns once every thread of the server is stopped: the signal is asynchronous, and
        a request sent right after ``kill`` could otherwise still be answered."""
        if self._proc is None:
            return
        os.kill(self._proc.pid, signal.SIGSTOP)
        deadline = time.monotonic() + 5
        while not _all_threads_stopped(self._proc.pid) and time.monotonic() < deadline:
            time.sleep(0.005)

    def resume(self) -> None:
        if self._proc is not None:
            os.kill(self._proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        os.kill(proc.pid, signal.SIGCONT)  # a frozen server cannot handle SIGTERM
        proc.terminate()
        try:
            proc.wait(timeout=self.stop_timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def cleanup(self) -> None:
        self.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def _all_threads_stopped(pid: int) -> bool:
    """Whether every thread of ``pid`` is in the stopped state (``T`` in /proc)."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
        states = []
        for task in tasks:
            with open(f"/proc/{pid}/task/{task}/stat") as stat:
                states.append(stat.read().rsplit(")", 1)[1].split()[0])
    except OSError:
        return True  # no /proc (or the process is gone): nothing more to wait for
    return all(state in ("T", "t") for state in states)
