from django.apps import AppConfig


class InvalidationTestappConfig(AppConfig):
    name = "invalidation_testapp"
    label = "invalidation_testapp"
    default_auto_field = "django.db.models.BigAutoField"
