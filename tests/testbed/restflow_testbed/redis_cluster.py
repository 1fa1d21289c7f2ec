"""A private Redis Cluster: 3 masters + 3 replicas (six ``redis-server --cluster-enabled
yes`` on free loopback ports), formed with ``redis-cli --cluster create``; each node is a
:class:`~restflow_testbed.redis_server.RedisServer`, stopped by its pid."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time

from restflow_testbed.redis_server import RedisServer
from restflow_testbed.server_process import find_program

NODE_TIMEOUT_MS = 1000  # failover within a few seconds in the failover tests


def cluster_port() -> int:
    """A free loopback port whose cluster bus port (``port + 10000``) is free too.

    Both lie below Linux's ephemeral range (32768 and up by default), so the client
    sockets of a busy test run cannot take them between this check and the node's start
    (Redis also refuses ports above 55535 in cluster mode)."""
    for _ in range(500):
        port = random.randrange(10000, 22768)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, socket.socket(
                socket.AF_INET, socket.SOCK_STREAM
            ) as bus:
                sock.bind(("127.0.0.1", port))
                bus.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


#: Attempts at starting one node on a fresh port pair when its port was taken meanwhile.
START_ATTEMPTS = 5


class RedisCluster:
    def __init__(self, masters: int = 3, replicas: int = 1) -> None:
        self.nodes = [
            RedisServer(
                cluster_port(),
                extra=(
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", "nodes.conf",
                    "--cluster-node-timeout", str(NODE_TIMEOUT_MS),
                    # a replica's first sync starts at once (Redis waits 5 s by default)
                    "--repl-diskless-sync-delay", "0",
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
            for attempt in range(START_ATTEMPTS):
                try:
                    node.start()
                    break
                except RuntimeError:
                    if attempt == START_ATTEMPTS - 1:
                        raise
                    node.port = cluster_port()  # another process took the pair meanwhile
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

    def wait_replicated(self, timeout: float = 30.0) -> None:
        """Until every running master has a replica and every replica link is online
        (``WAIT`` is answered only by replicas past their first sync)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            infos = [self.ask(node, b"INFO replication") for node in self.nodes if node.running]
            masters = [info for info in infos if "role:master" in info]
            if masters and all(
                "connected_slaves:0" not in info and "state=online" in info
                and "state=wait_bgsave" not in info and "state=send_bulk" not in info
                for info in masters
            ):
                return
            time.sleep(0.1)
        raise RuntimeError("the Redis Cluster's replicas did not come online")

    def flush(self) -> None:
        for node in self.nodes:
            if node.running and "role:master" in self.ask(node, b"INFO replication"):
                self.ask(node, b"FLUSHALL")

    def cleanup(self) -> None:
        for node in self.nodes:
            node.cleanup()
