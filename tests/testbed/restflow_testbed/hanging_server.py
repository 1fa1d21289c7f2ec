"""A TCP server that accepts connections and never answers (a hung broker), and a guard
that fails a test whose call blocks on it.

Shared by the broker packages' fault tests (the server also as the ``hanging_server``
fixture of the test bed's plugin).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable

#: A liveness guard only (seconds): a publish that never returns would hang the suite.
HANG_GUARD = 60.0


def returns(call: Callable[[], object]) -> BaseException | None:
    """Run ``call`` in a thread and return what it raised (``None``: nothing); fail the
    test if it is still blocked after :data:`HANG_GUARD` seconds."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            call()
        except BaseException as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(HANG_GUARD)
    assert not thread.is_alive(), "the call blocked on the broker instead of giving up"
    return outcome[0]


class HangingServer:
    """Listens on a free loopback port; records when a client gives up and closes."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = int(self._sock.getsockname()[1])
        self.accepted = 0
        self.closed_by_client = 0
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                self._conns.append(conn)
            threading.Thread(target=self._drain, args=(conn,), daemon=True).start()

    def _drain(self, conn: socket.socket) -> None:
        """Read and ignore what the client sends until it closes its end."""
        try:
            while conn.recv(4096):
                pass
        except OSError:
            return
        with self._lock:
            self.closed_by_client += 1

    def stop(self) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._sock.close()
        with self._lock:
            for conn in self._conns:
                with contextlib.suppress(OSError):
                    conn.close()

    def __enter__(self) -> HangingServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
