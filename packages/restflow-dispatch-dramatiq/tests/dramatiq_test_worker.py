"""What the test workers import: ``dramatiq dramatiq_test_worker``.

Sets up Django, points the global broker at the Redis URL in ``RESTFLOW_TEST_DRAMATIQ_URL``
and declares restflow's actor (the way a project's worker does) plus the test actors.
"""

from __future__ import annotations

import os

import django

django.setup()

import dramatiq  # noqa: E402
from dramatiq.brokers.redis import RedisBroker  # noqa: E402

broker = RedisBroker(url=os.environ["RESTFLOW_TEST_DRAMATIQ_URL"])
dramatiq.set_broker(broker)

from dramatiq_test_actors import declare_test_actors  # noqa: E402

import restflow.dispatch.dramatiq.actors  # noqa: E402, F401

declare_test_actors()
