"""Helpers shared by the test modules (imported by name: keep this module name unique)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

#: The queue (cluster name) of the qcluster whose settings make worker errors raise.
RAISING_CLUSTER = "restflow-raise"


@contextlib.contextmanager
def django_q_redis(url: str) -> Iterator[None]:
    """Point django-q's Redis configuration at ``url`` for the block.

    django-q2 reads ``Q_CLUSTER`` once, at import; this is what ``Q_CLUSTER["redis"] = url``
    would have given.
    """
    from django_q.conf import Conf

    with mock.patch.object(Conf, "REDIS", url):
        yield


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds passed; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


def queued_tasks(client: Any, cluster: str) -> list[dict[str, Any]]:
    """Task packages waiting on a django-q Redis queue (verified and decoded)."""
    from django_q.signing import SignedPackage

    return [SignedPackage.loads(raw) for raw in client.lrange(f"django_q:{cluster}:q", 0, -1)]
