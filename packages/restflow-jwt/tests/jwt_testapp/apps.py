from django.apps import AppConfig


class JwtTestappConfig(AppConfig):
    name = "jwt_testapp"
    label = "jwt_testapp"
