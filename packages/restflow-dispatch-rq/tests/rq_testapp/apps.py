from django.apps import AppConfig


class RqTestappConfig(AppConfig):
    name = "rq_testapp"
    label = "rq_testapp"
    default_auto_field = "django.db.models.BigAutoField"
