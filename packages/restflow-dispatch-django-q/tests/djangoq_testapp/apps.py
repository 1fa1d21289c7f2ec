from django.apps import AppConfig


class DjangoQTestAppConfig(AppConfig):
    name = "djangoq_testapp"
    label = "djangoq_testapp"
    default_auto_field = "django.db.models.BigAutoField"
