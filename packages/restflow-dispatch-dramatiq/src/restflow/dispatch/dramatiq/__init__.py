"""restflow's Dramatiq dispatcher: invalidation jobs run by Dramatiq workers.

Importing this package declares no actor (the broker may not be configured yet while
Django loads its apps). The producer declares its actor on the first dispatch; a worker
declares it by importing :mod:`restflow.dispatch.dramatiq.actors` or by calling
:func:`register_actor` in a module it imports.
"""

from __future__ import annotations

from restflow.dispatch.dramatiq.dispatcher import DramatiqDispatcher
from restflow.dispatch.dramatiq.registration import (
    DEFAULT_ACTOR_NAME,
    DEFAULT_QUEUE,
    register_actor,
)

__all__ = ["DEFAULT_ACTOR_NAME", "DEFAULT_QUEUE", "DramatiqDispatcher", "register_actor"]
