"""Helpers shared by the test modules (imported by name: keep this module name unique)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
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
