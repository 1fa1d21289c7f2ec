from django.apps import AppConfig


class CeleryTestappConfig(AppConfig):
    name = "celery_testapp"
    label = "celery_testapp"
    default_auto_field = "django.db.models.BigAutoField"
