"""``dramatiq bench_dramatiq``: Django set up, the broker, restflow's actor, the no-op."""

import django

django.setup()

from bench_tasks import dramatiq_broker  # noqa: E402

broker = dramatiq_broker()

import restflow.dispatch.dramatiq.actors  # noqa: E402, F401
