"""Start and stop a private MariaDB server (Debian's ``mariadbd``) on a free loopback port.

The data directory is a fresh temporary directory made by ``mariadb-install-db``; the
server listens on 127.0.0.1 only, with its own socket and pid file, and ``stop()`` ends
exactly the process it started (never the machine's own MariaDB on 3306).
``tests/testbed/install_services.sh`` installs the Debian packages.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from restflow_testbed.server_process import ServerProcess, find_program

_HINT = "run `bash tests/testbed/install_services.sh` (apt-get install mariadb-server)"


class MariaDBServer(ServerProcess):
    """A ``mariadbd`` child process with a throw-away data directory.

    ``root`` connects over TCP without a password (``--auth-root-authentication-method
    =normal``); nothing listens outside loopback.
    """

    name = "mariadbd"
    start_timeout = 30.0
    stop_timeout = 30.0  # SIGTERM: a clean InnoDB shutdown

    def __init__(self, port: int | None = None) -> None:
        super().__init__(port)
        self.user = "root"
        self._dir = Path(tempfile.mkdtemp(prefix="restflow-mariadb-"))

    @property
    def datadir(self) -> Path:
        return self._dir / "data"

    @property  # type: ignore[override]
    def log_path(self) -> Path:
        return self._dir / "mariadbd.log"

    def _user_args(self) -> list[str]:
        # mariadbd refuses to run as root unless told to.
        return ["--user=root"] if os.geteuid() == 0 else []

    def prepare(self) -> None:
        if self.datadir.exists():
            return
        result = subprocess.run(
            [
                find_program("mariadb-install-db", _HINT),
                "--no-defaults",
                f"--datadir={self.datadir}",
                *self._user_args(),
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
            ],
            capture_output=True,
            check=False,
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr).decode(errors="replace")[-2000:]
            raise RuntimeError(f"mariadb-install-db failed ({result.returncode}):\n{output}")

    def command(self) -> list[str]:
        return [
            find_program("mariadbd", _HINT),
            "--no-defaults",
            f"--datadir={self.datadir}",
            *self._user_args(),
            f"--port={self.port}",
            f"--bind-address={self.host}",
            f"--socket={self._dir / 'mariadbd.sock'}",
            f"--pid-file={self._dir / 'mariadbd.pid'}",
            "--skip-name-resolve",
            "--skip-log-bin",
            "--innodb-buffer-pool-size=64M",
            # Durability is not what the tests measure: no fsync per commit.
            "--innodb-flush-log-at-trx-commit=0",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_unicode_ci",
        ]

    def ping(self) -> bool:
        """True once the server sends its handshake (protocol version 10) on the port."""
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5) as sock:
                packet = sock.recv(64)
        except OSError:
            return False
        return len(packet) > 4 and packet[4] == 10

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)
