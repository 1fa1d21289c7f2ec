"""Run restflow-cache jobs on RQ workers through django-rq.

``DjangoRqDispatcher`` (registered as ``"django_rq"``) enqueues the worker entry
(the one restflow-cache registers, ``restflow.caching.tasks.run_cache_rules``) on a
django-rq queue; a worker
started with ``python manage.py rqworker <queue>`` runs it.

django-rq reads Django settings when it is imported, so this package imports it only
when a dispatcher is built or used.
"""

from __future__ import annotations

from restflow.dispatch.django_rq.dispatcher import DEFAULT_PUBLISH_TIMEOUT, DjangoRqDispatcher

__all__ = ["DEFAULT_PUBLISH_TIMEOUT", "DjangoRqDispatcher"]
