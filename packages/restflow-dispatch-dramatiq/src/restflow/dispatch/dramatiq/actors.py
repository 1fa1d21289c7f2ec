"""Import this module in Dramatiq workers: it declares restflow's actor.

The actor name and queue come from ``DISPATCHER_SETTINGS["dramatiq"]`` (``ACTOR_NAME``,
``QUEUE``) and must match the producer's. Set the broker (``dramatiq.set_broker`` or
django-dramatiq) before this module is imported. Rules routed to other queues need their
own actors: call :func:`restflow.dispatch.dramatiq.register_actor` with the same
``actor_name`` and ``queue_name`` in a module the worker imports.
"""

from __future__ import annotations

from restflow.dispatch.dramatiq.registration import register_actor

__all__ = ["task_run_cache_rules"]

task_run_cache_rules = register_actor()
