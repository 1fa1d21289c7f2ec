from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "restflow_testbed.accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"
