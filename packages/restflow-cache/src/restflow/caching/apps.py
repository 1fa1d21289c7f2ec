"""Django application config of :mod:`restflow.caching` (label ``restflow_caching``)."""

from __future__ import annotations

from django.apps import AppConfig


class CachingConfig(AppConfig):
    name = "restflow.caching"
    label = "restflow_caching"
    verbose_name = "Restflow Caching"
    default = True
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Connect every rule's model signals, register the worker entry every dispatcher
        runs jobs through, and add the checks (restflow-core's and this app's).

        Dispatcher plugins are not loaded here: the registry loads them on the first
        lookup (a dispatch, or ``manage.py check``), so start-up never imports a broker
        library. Celery workers register restflow's task through
        ``app.autodiscover_tasks()``, which imports :mod:`restflow.caching.tasks`.
        """
        from django.core import checks

        from restflow.caching.backend_checks import check_cache_backends
        from restflow.caching.checks import check_invalidation_rules
        from restflow.caching.registry import CacheRegister
        from restflow.caching.tasks import arun_cache_rules, run_cache_rules
        from restflow.checks import register_checks
        from restflow.dispatch.worker import register_worker

        register_worker(run_cache_rules, arun_cache_rules)
        CacheRegister.auto_discover()
        register_checks()
        checks.register(check_invalidation_rules, checks.Tags.caches)
        checks.register(check_cache_backends, checks.Tags.caches)
        _load_cache_clients()


def _load_cache_clients() -> None:
    """Import every configured cache's client library (redis-py...) now rather than in
    a fresh worker's first request that reads a cached entry."""
    from django.conf import settings

    from restflow._cacheclients import load_cache_client

    for alias in getattr(settings, "CACHES", {}):
        load_cache_client(alias)
