from django.apps import AppConfig


class BenchAppConfig(AppConfig):
    name = "bench_app"
    label = "bench_app"
