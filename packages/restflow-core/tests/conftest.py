from __future__ import annotations

from collections.abc import Iterator

import pytest
from restflow_testbed.dispatch_fixtures import clean_dispatch_state  # noqa: F401  (fixture)

from restflow.dispatch.testing import conformance_journal  # noqa: F401  (fixture)
from restflow.dispatch.threadpool import ThreadPoolDispatcher


@pytest.fixture(autouse=True)
def _stop_thread_pools() -> Iterator[None]:
    yield
    ThreadPoolDispatcher.shutdown(wait=True)
