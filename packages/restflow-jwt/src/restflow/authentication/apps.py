"""Django app of restflow's JWT authentication (label ``restflow_authentication``)."""

from __future__ import annotations

from contextlib import suppress
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
        register(_check_jwt_deploy_settings, Tags.security, "restflow", deploy=True)
        # A password change ends the user's sessions (with TRACK_SESSIONS); the receiver
        # imports the sessions module on the first user save, not at start-up.
        from django.contrib.auth import get_user_model
        from django.db.models.signals import pre_save

        pre_save.connect(
            _user_saved, sender=get_user_model(), dispatch_uid="restflow.authentication.sessions"
        )
        _load_hot_path()


def _load_hot_path() -> None:
    """Resolve the JWT settings and import the client library (redis-py) of the
    blacklist's cache, so a fresh worker's first authenticated request does not.

    The backend class itself is not imported: it pulls in PyJWT and cryptography, which
    management commands do not need (a project's views import them, and restflow.caching's
    discovery imports the views of local apps at start-up). The client of
    ``BLACKLIST_CACHE_ALIAS`` is loaded whichever backend is configured: an import, no
    connection. Failures are left to the system checks and the first request, which
    report them: a misconfigured project still starts far enough to run ``check``.
    """
    with suppress(Exception):
        from restflow._cacheclients import load_cache_client
        from restflow.authentication.config import get_config

        load_cache_client(get_config().blacklist_cache_alias)


def _check_jwt_settings(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    from restflow.authentication.checks import check_jwt_settings

    return check_jwt_settings(app_configs, **kwargs)


def _user_saved(sender: Any, **kwargs: Any) -> None:
    from restflow.authentication.sessions import user_may_revoke

    user_may_revoke(sender, **kwargs)


def _check_jwt_deploy_settings(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    from restflow.authentication.checks import check_jwt_deploy_settings

    return check_jwt_deploy_settings(app_configs, **kwargs)
