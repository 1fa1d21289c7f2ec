from django.apps import AppConfig


class DramatiqTestAppConfig(AppConfig):
    name = "dramatiq_testapp"
    label = "dramatiq_testapp"
    default_auto_field = "django.db.models.BigAutoField"
