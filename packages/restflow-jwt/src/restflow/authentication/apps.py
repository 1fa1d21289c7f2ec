"""Django app of restflow's JWT authentication (label ``restflow_authentication``)."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig

__all__ = ["AuthenticationConfig"]


class AuthenticationConfig(AppConfig):
    name = "restflow.authentication"
    label = "restflow_authentication"
    verbose_name = "Restflow Authentication"
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        # The checks module needs PyJWT and cryptography; import them when the checks
        # run (manage.py check, runserver), not at every django.setup().
        from django.core.checks import Tags, register

        from restflow.checks import register_checks

        register_checks()
        register(_check_jwt_settings, Tags.security, "restflow")
        # A password change ends the user's sessions (with TRACK_SESSIONS); the receiver
        # imports the sessions module on the first user save, not at start-up.
        from django.contrib.auth import get_user_model
        from django.db.models.signals import pre_save

        pre_save.connect(
            _user_saved, sender=get_user_model(), dispatch_uid="restflow.authentication.sessions"
        )


def _check_jwt_settings(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    from restflow.authentication.checks import check_jwt_settings

    return check_jwt_settings(app_configs, **kwargs)


def _user_saved(sender: Any, **kwargs: Any) -> None:
    from restflow.authentication.sessions import password_may_change

    password_may_change(sender, **kwargs)
