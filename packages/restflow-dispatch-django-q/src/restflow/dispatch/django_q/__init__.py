"""restflow's django-q2 dispatcher: invalidation jobs run by a ``qcluster``."""

from __future__ import annotations

from restflow.dispatch.django_q.dispatcher import DjangoQDispatcher

__all__ = ["DjangoQDispatcher"]
