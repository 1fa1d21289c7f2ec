"""URLs of the test bed: each distribution's test app may contribute ``urls.py``."""

from __future__ import annotations

import importlib

from django.apps import apps
from django.urls import URLPattern, URLResolver, include, path

urlpatterns: list[URLPattern | URLResolver] = []
for _config in apps.get_app_configs():
    if _config.name.endswith("_testapp"):
        try:
            importlib.import_module(f"{_config.name}.urls")
        except ModuleNotFoundError:
            continue
        urlpatterns.append(path(f"{_config.label}/", include(f"{_config.name}.urls")))
