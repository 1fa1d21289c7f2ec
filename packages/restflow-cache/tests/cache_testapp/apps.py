from django.apps import AppConfig


class CacheTestappConfig(AppConfig):
    name = "cache_testapp"
    label = "cache_testapp"
    default_auto_field = "django.db.models.BigAutoField"
