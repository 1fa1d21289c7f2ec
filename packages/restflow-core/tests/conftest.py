from __future__ import annotations

from collections.abc import Iterator

import pytest

from restflow.checks import register_checks
from restflow.dispatch.threadpool import ThreadPoolDispatcher

# Core has no app: in a core-only install, nothing else would add its checks.
register_checks()


@pytest.fixture(autouse=True)
def _stop_thread_pools() -> Iterator[None]:
    yield
    ThreadPoolDispatcher.shutdown(wait=True)
