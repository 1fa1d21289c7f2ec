"""Django application config of :mod:`restflow.caching` (label ``restflow_caching``)."""

from __future__ import annotations

import logging

from django.apps import AppConfig


class CachingConfig(AppConfig):
    name = "restflow.caching"
    label = "restflow_caching"
    verbose_name = "Restflow Caching"
    default = True
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Load dispatcher plugins, connect every rule's model signals, add the checks."""
        from django.core import checks

        from restflow.caching.checks import check_invalidation_rules
        from restflow.caching.registry import CacheRegister
        from restflow.dispatch.registry import load_entry_point_dispatchers

        try:
            load_entry_point_dispatchers()
        except Exception:
            # A broken plugin must not stop Django; rules naming it fail check E001 and
            # fall back to running inline with an ERROR log.
            logging.getLogger("restflow.caching.registry").warning(
                "loading restflow dispatcher plugins failed", exc_info=True
            )
        CacheRegister.auto_discover()
        checks.register(check_invalidation_rules, checks.Tags.caches)
