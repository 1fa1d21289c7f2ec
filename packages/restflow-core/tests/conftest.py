from __future__ import annotations

from collections.abc import Iterator

import pytest

from restflow.dispatch import registry
from restflow.dispatch.testing import conformance_journal  # noqa: F401  (fixture)
from restflow.dispatch.threadpool import ThreadPoolDispatcher
from restflow.log import reset_log_throttle


@pytest.fixture(autouse=True)
def _clean_dispatch_state() -> Iterator[None]:
    explicit = dict(registry._explicit)
    reset_log_throttle()
    yield
    registry._explicit.clear()
    registry._explicit.update(explicit)
    ThreadPoolDispatcher.shutdown(wait=True)
