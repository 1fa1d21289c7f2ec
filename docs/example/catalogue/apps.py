from __future__ import annotations

from django.apps import AppConfig
from django.conf import settings


class CatalogueConfig(AppConfig):
    name = "catalogue"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        if getattr(settings, "BROKER", None) == "dramatiq":
            # Producer and worker both talk to the demo's Redis (no connection yet).
            import dramatiq
            from dramatiq.brokers.redis import RedisBroker

            dramatiq.set_broker(RedisBroker(url=settings.REDIS_URL))
