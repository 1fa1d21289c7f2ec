"""A private Redis Cluster: 3 masters + 3 replicas (six ``redis-server --cluster-enabled
yes`` on free loopback ports), formed with ``redis-cli --cluster create``; each node is a
:class:`~restflow_testbed.redis_server.RedisServer`, stopped by its pid."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

from restflow_testbed.redis_server import RedisServer
from restflow_testbed.server_process import find_program

NODE_TIMEOUT_MS = 1000  # failover within a few seconds in the failover tests


def cluster_port() -> int:
    """A free loopback port at most 55535 whose cluster bus port (``port + 10000``) is
    free too (Redis refuses higher ports in cluster mode)."""
    for _ in range(200):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        bus = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1] % 45000 + 10000
            sock.close()
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", port))
            bus.bind(("127.0.0.1", port + 10000))
            return int(port)
        except OSError:
            continue
        finally:
            sock.close()
            bus.close()
    raise RuntimeError("no free port pair for a Redis Cluster node")


class RedisCluster:
    def __init__(self, masters: int = 3, replicas: int = 1) -> None:
        self.nodes = [
            RedisServer(
                cluster_port(),
                extra=(
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", "nodes.conf",
                    "--cluster-node-timeout", str(NODE_TIMEOUT_MS),
                )
            )
            for _ in range(masters * (1 + replicas))
        ]
        self.replicas = replicas

    @property
    def host(self) -> str:
        return self.nodes[0].host

    @property
    def port(self) -> int:
        return self.nodes[0].port

    @property
    def url(self) -> str:
        """``redis://`` URL of the first node (a cluster client finds the others)."""
        return self.nodes[0].url

    @property
    def startup_nodes(self) -> list[tuple[str, int]]:
        return [(node.host, node.port) for node in self.nodes]

    def start(self, timeout: float = 30.0) -> None:
        for node in self.nodes:
            node.start()
        redis_cli = shutil.which("redis-cli") or find_program(
            "redis-cli", "install Redis (e.g. `apt-get install redis-tools`)"
        )
        subprocess.run(
            [
                redis_cli, "--cluster", "create",
                *(f"{node.host}:{node.port}" for node in self.nodes),
                "--cluster-replicas", str(self.replicas), "--cluster-yes",
            ],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout,
        )
        self.wait_ok(timeout)

    @staticmethod
    def ask(node: RedisServer, command: bytes) -> str:
        """The reply of ``node`` to an inline ``command`` ("" when it does not answer)."""
        try:
            with socket.create_connection((node.host, node.port), timeout=0.5) as sock:
                sock.sendall(command + b"\r\n")
                return sock.recv(4096).decode(errors="replace")
        except OSError:
            return ""

    def cluster_info(self, node: RedisServer) -> str:
        return self.ask(node, b"CLUSTER INFO")

    def wait_ok(self, timeout: float = 30.0) -> None:
        """Until every running node reports ``cluster_state:ok``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            running = [node for node in self.nodes if node.running]
            if running and all("cluster_state:ok" in self.cluster_info(n) for n in running):
                return
            time.sleep(0.1)
        raise RuntimeError("the Redis Cluster did not reach cluster_state:ok")

    def flush(self) -> None:
        for node in self.nodes:
            if node.running and "role:master" in self.ask(node, b"INFO replication"):
                self.ask(node, b"FLUSHALL")

    def cleanup(self) -> None:
        for node in self.nodes:
            node.cleanup()
