from django.apps import AppConfig


class FieldCommonConfig(AppConfig):
    name = "field_common"
