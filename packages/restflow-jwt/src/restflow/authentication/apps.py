"""Django app of restflow's JWT authentication (label ``restflow_authentication``)."""

from __future__ import annotations

from django.apps import AppConfig

__all__ = ["AuthenticationConfig"]


class AuthenticationConfig(AppConfig):
    name = "restflow.authentication"
    label = "restflow_authentication"
    verbose_name = "Restflow Authentication"
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        from restflow.authentication import checks

        checks.register_checks()
