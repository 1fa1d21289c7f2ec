"""Start and stop a private ``memcached`` (Debian's package) on a free loopback port."""

from __future__ import annotations

import os
from typing import Any

from restflow_testbed.server_process import ServerProcess, find_program


def find_memcached() -> str:
    return find_program(
        "memcached", "run `bash tests/testbed/install_services.sh` (apt-get install memcached)"
    )


class MemcachedServer(ServerProcess):
    """A memcached child process: TCP on 127.0.0.1 only, no UDP, 64 MB."""

    name = "memcached"

    @property
    def location(self) -> str:
        return f"{self.host}:{self.port}"

    def command(self) -> list[str]:
        cmd = [find_memcached(), "-l", self.host, "-p", str(self.port), "-U", "0", "-m", "64"]
        if os.geteuid() == 0:
            cmd += ["-u", "root"]  # memcached refuses root without it
        return cmd

    def ping(self) -> bool:
        return self._ask(b"version\r\n", b"VERSION")


# pymemcache has no socket timeout by default: a hung (not dead) server would block a
# request forever. Every memcached cache of the test bed sets one (docs/caching.md,
# "memcached pools").
MEMCACHED_OPTIONS: dict[str, Any] = {
    "connect_timeout": 0.5,
    "timeout": 0.5,
    "retry_attempts": 2,
    "retry_timeout": 1,
    "dead_timeout": 5,
}


def memcached_cache_settings(locations: list[str], **options: Any) -> dict[str, Any]:
    """A ``CACHES`` entry for Django's ``PyMemcacheCache`` on one server or a pool, with
    the test bed's socket timeouts (``options`` override them)."""
    return {
        "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
        "LOCATION": locations if len(locations) > 1 else locations[0],
        "OPTIONS": {**MEMCACHED_OPTIONS, **options},
    }
