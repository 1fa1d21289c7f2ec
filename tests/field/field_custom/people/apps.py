from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "field_custom.people"
    label = "people"
